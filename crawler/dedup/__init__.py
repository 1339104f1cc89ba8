"""Deduplication: which stored article a new one copies, or reports the same event as.

The storage pipeline's one entry point is :class:`SimilarityMatcher` (``matcher.py``), the
policy handed to ``storage.batch.store_batch``: the store finds candidates in SQL
(``storage.stories``) and asks it. What it compares is computed in ``features.py``:
MinHash signatures with their LSH band hashes, headline words, same-story similarity and
the thresholds; the classify pipeline computes them for each article.
"""

from __future__ import annotations

from crawler.dedup.matcher import SimilarityMatcher

__all__ = ["SimilarityMatcher"]
