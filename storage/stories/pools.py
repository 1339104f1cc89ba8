"""Pools: a batch's candidates in memory, and the order in which the matcher is asked."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from storage.article import ArticleRecord
from storage.records import Candidate, StoryMatcher
from storage.stories.common import (
    GUARD_KEY,
    MAX_CANDIDATES,
    MAX_KEY_ARTICLES,
    Found,
    NewArticle,
    _words_sharing,
)


@dataclass(slots=True)
class Pools:
    """A batch's candidates: stored articles by LSH bucket (and, once filed, the batch's own);
    stored articles sharing headline terms, counted, by item index; the batch's own filed
    articles by headline term."""

    by_bucket: dict[int, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    stored_terms: dict[int, list[tuple[Candidate, int]]] = field(default_factory=dict)
    batch_terms: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    stored_keys: dict[int, list[Candidate]] = field(default_factory=dict)
    batch_keys: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, found: Found) -> Pools:
        """The pools of what the lookups found."""
        pools = cls()
        for bucket, aid in found.band_hits:
            cand = found.band_cands.get(aid)
            if cand is not None:
                pools.by_bucket[bucket].append(cand)
        # Candidates are filed articles that are not copies.
        by_item: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, aid, n in found.pair_counts:
            cand = found.term_cands.get(aid)
            if cand is not None and cand.duplicate_of_id is None:
                by_item[i].append((n, aid))
        for i, pairs in by_item.items():
            pairs.sort(reverse=True)  # most pairs shared, then the newest id
            pools.stored_terms[i] = [(found.term_cands[aid], _words_sharing(n))
                                     for n, aid in pairs[:MAX_CANDIDATES]]
        by_keys: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, aid, n in found.key_counts:
            cand = found.term_cands.get(aid)
            if cand is not None and cand.duplicate_of_id is None:
                by_keys[i].append((n, aid))
        for i, keyed in by_keys.items():
            keyed.sort(reverse=True)  # most keys shared, then the newest id
            pools.stored_keys[i] = [found.term_cands[aid] for _, aid in keyed[:MAX_CANDIDATES]]
        return pools

    def match(self, matcher: StoryMatcher | None, i: int, rec: ArticleRecord
              ) -> tuple[Candidate | None, int | None]:
        """File ``rec``, the ``i``-th of the batch: a near-duplicate among the articles sharing
        LSH buckets, else a same-story match among those sharing headline terms, else one
        among those sharing story keys. The match's ``reason`` says why."""
        if matcher is None:
            return None, None
        if rec.bands:
            hits: Counter[int] = Counter()
            seen: dict[int, Candidate] = {}
            for bucket in rec.bands:
                for cand in self.by_bucket.get(bucket, ()):
                    hits[cand.article_id] += 1
                    seen[cand.article_id] = cand
            if hits:
                cands = [seen[a] for a, _ in hits.most_common(MAX_CANDIDATES)]
                for c in cands:
                    c.shared_bands = hits[c.article_id]
                match = matcher.near_duplicate(rec, cands)
                if match is not None:
                    match.reason = match.reason or "copy"
                    return match, match.duplicate_of_id or match.article_id
        if rec.title_terms:
            # Stored articles come counted from SQL; earlier articles of this batch are
            # counted here.
            shared: Counter[int] = Counter()
            seen = {}
            for cand, n in self.stored_terms.get(i, ()):
                shared[cand.article_id] = n
                seen[cand.article_id] = cand
            for term in set(rec.title_terms):
                for cand in self.batch_terms.get(term, ()):
                    shared[cand.article_id] += 1
                    seen[cand.article_id] = cand
            need = matcher.min_shared_terms
            cands = [seen[a] for a, n in shared.most_common(MAX_CANDIDATES) if n >= need]
            if cands:
                match = matcher.same_story(rec, cands)
                if match is not None:
                    match.reason = match.reason or "headline"
                    return match, None
        if rec.story_keys:
            keyed: Counter[int] = Counter()
            seen = {c.article_id: c for c in self.stored_keys.get(i, ())}
            for key in set(rec.story_keys):
                if key.startswith(GUARD_KEY):
                    continue
                carriers = self.batch_keys.get(key, ())
                if len(carriers) > MAX_KEY_ARTICLES:
                    continue  # as the SQL lookup leaves such keys out
                for cand in carriers:
                    keyed[cand.article_id] += 1
                    seen[cand.article_id] = cand
            cands = [c for c in self.stored_keys.get(i, ()) if c.article_id not in keyed]
            cands += [seen[a] for a, n in keyed.most_common(MAX_CANDIDATES)
                      if n >= matcher.min_shared_keys]
            if cands:
                match = matcher.same_event(rec, cands)
                if match is not None:
                    match.reason = match.reason or "shared keys"
                    return match, None
        return None, None

    def remember(self, item: NewArticle, story_id: int, duplicate_of: int | None) -> None:
        """``item`` is filed (under ``story_id``, a copy of ``duplicate_of``): a candidate
        for the later articles of its batch."""
        rec = item.record
        cand = Candidate(article_id=item.article_id, story_id=story_id,
                         duplicate_of_id=duplicate_of, title=rec.title, minhash=rec.minhash,
                         entities=set(rec.entities), published_at=rec.published_at,
                         first_seen_at=rec.fetched_at, keys=set(rec.story_keys))
        for bucket in rec.bands:
            self.by_bucket[bucket].append(cand)
        if duplicate_of is None:
            for term in set(rec.title_terms):
                self.batch_terms[term].append(cand)
            for key in set(rec.story_keys):
                self.batch_keys[key].append(cand)
