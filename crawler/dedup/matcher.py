"""SimilarityMatcher: the policy that decides which stored article a new one copies, or
shares an event with, and says why. The store finds candidates in SQL; this only compares
them."""

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
from crawler.dedup.salient import (
    conflict,
    describe_keys,
    key_overlap,
    language_code,
    weight,
)
from crawler.entities import Gazetteer
from storage.article import ArticleRecord
from storage.records import Candidate
from storage.stories.common import GUARD_KEY

_FEATURE_CACHE = 50_000
# Story keys: the fewest a candidate must share, and the weighted overlap
# (crawler.dedup.salient.key_overlap) that makes it a report of the same event.
MIN_SHARED_KEYS = 4
SAME_EVENT_OVERLAP = 0.18


class SimilarityMatcher:
    """Near-duplicates by MinHash estimate; same story by headline words and entities, or by
    shared story keys; never two reports whose amounts or counts conflict."""

    def __init__(self, gazetteer: Gazetteer | None = None,
                 threshold: float = NEAR_DUPLICATE_THRESHOLD,
                 window: timedelta = STORY_WINDOW) -> None:
        self.gazetteer = gazetteer
        self.threshold = threshold
        self.window = window
        self.min_shared_terms = MIN_SHARED_TITLE_WORDS
        self.min_shared_keys = MIN_SHARED_KEYS
        self.overlap = SAME_EVENT_OVERLAP
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
        if best is None:
            return None
        best[1].reason = f"copy: J={best[0]:.2f}, {best[1].shared_bands} bands"
        return best[1]

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
            if same_story(mine, theirs) and not conflict(record.story_keys, cand.keys):
                sim = story_similarity(mine, theirs)
                if best is None or sim > best[0]:
                    best = (sim, cand)
        if best is None:
            return None
        cand = best[1]
        theirs = self._features_of[(cand.article_id, cand.title)]
        words = ", ".join(sorted(mine.title_tokens & theirs.title_tokens))
        ents = ", ".join(sorted(mine.entity_ids & theirs.entity_ids))
        cand.reason = f"headline: {words}" + (f"; entities: {ents}" if ents else "")
        return cand

    def same_event(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        """The candidate within the window whose story keys overlap ``record``'s most, at
        least ``overlap`` (:func:`crawler.dedup.salient.key_overlap`), unless their amounts
        or counts conflict."""
        lang = language_code(record.language)
        mine = set(record.story_keys)
        own = weight(mine, lang)
        when = record.published_at or record.fetched_at
        best: tuple[float, Candidate] | None = None
        for cand in candidates:
            if sum(not k.startswith(GUARD_KEY) for k in mine & cand.keys) < self.min_shared_keys:
                continue
            theirs = cand.published_at or cand.first_seen_at
            if abs(when - theirs) > self.window:
                continue
            score = key_overlap(mine, cand.keys, lang, weights=(own, weight(cand.keys, lang)))
            if (score >= self.overlap and (best is None or score > best[0])
                    and not conflict(mine, cand.keys)):
                best = (score, cand)
        if best is None:
            return None
        best[1].reason = f"shared: {describe_keys(mine & best[1].keys, lang)}"
        return best[1]
