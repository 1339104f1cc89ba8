"""SimilarityMatcher: the policy that decides which stored article a new one copies, or
shares an event with. The store finds candidates in SQL; this only compares them."""

from __future__ import annotations

from datetime import timedelta

from crawler.dedup.features import (
    MIN_SHARED_TITLE_WORDS,
    NEAR_DUPLICATE_THRESHOLD,
    STORY_WINDOW,
    Signature,
    StoryFeatures,
    jaccard_estimate,
    same_story,
    story_similarity,
)
from crawler.entities import Gazetteer
from storage.article import ArticleRecord
from storage.records import Candidate

_FEATURE_CACHE = 50_000


class SimilarityMatcher:
    """Near-duplicates by MinHash estimate; same story by headline words and entities."""

    def __init__(self, gazetteer: Gazetteer | None = None,
                 threshold: float = NEAR_DUPLICATE_THRESHOLD,
                 window: timedelta = STORY_WINDOW) -> None:
        self.gazetteer = gazetteer
        self.threshold = threshold
        self.window = window
        self.min_shared_terms = MIN_SHARED_TITLE_WORDS
        # A stored article is a candidate for many new ones in a row; build its features once.
        self._features_of: dict[tuple[int, str], StoryFeatures] = {}

    def near_duplicate(self, record: ArticleRecord, candidates: list[Candidate]
                       ) -> Candidate | None:
        if record.minhash is None:
            return None
        sig = Signature.from_bytes(record.minhash)
        best: tuple[float, Candidate] | None = None
        for cand in candidates:
            if cand.minhash is None:
                continue
            est = jaccard_estimate(sig, Signature.from_bytes(cand.minhash))
            if est >= self.threshold and (best is None or est > best[0]):
                best = (est, cand)
        return best[1] if best else None

    def _features(self, title: str, entities: set[str] | list[str],
                  record: ArticleRecord | Candidate) -> StoryFeatures:
        when = record.published_at or (
            record.fetched_at if isinstance(record, ArticleRecord) else record.first_seen_at)
        return StoryFeatures.build(title, entities, when, record.minhash,
                                   gazetteer=self.gazetteer)

    def same_story(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        mine = self._features(record.title, list(record.entities), record)
        best: tuple[float, Candidate] | None = None
        for cand in candidates:
            key = (cand.article_id, cand.title)
            theirs = self._features_of.get(key)
            if theirs is None:
                if len(self._features_of) >= _FEATURE_CACHE:
                    self._features_of.clear()
                theirs = self._features_of[key] = self._features(cand.title, cand.entities,
                                                                 cand)
            if same_story(mine, theirs):
                sim = story_similarity(mine, theirs)
                if best is None or sim > best[0]:
                    best = (sim, cand)
        return best[1] if best else None
