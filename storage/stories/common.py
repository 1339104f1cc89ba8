"""What every story filer shares: the records a filing passes around, and the helpers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.article import ArticleRecord
from storage.models import Article
from storage.records import Candidate
from storage.text import MAX_TITLE_TERMS
from storage.types import UTCDateTime

MAX_CANDIDATES = 50
# A story key that more stored articles than this carry within one window is no lookup key.
MAX_KEY_ARTICLES = 100
# Story keys that start with this are stored for the matcher's near-miss guard only (the
# amounts and counts a lede states), never looked up.
GUARD_KEY = "~"
_CHUNK = 5_000


@dataclass(slots=True)
class Found:
    """What the candidate lookups found, before they become pools: the highest filing number
    visible when they began, (bucket, article) band hits, (item index, article, pairs shared)
    headline-pair counts, (item index, article, keys shared) story-key counts, and the
    candidates' rows by article id (those found by keys among ``term_cands``)."""

    watermark: int = 0
    band_hits: list[tuple[int, int]] = field(default_factory=list)
    pair_counts: list[tuple[int, int, int]] = field(default_factory=list)
    key_counts: list[tuple[int, int, int]] = field(default_factory=list)
    band_cands: dict[int, Candidate] = field(default_factory=dict)
    term_cands: dict[int, Candidate] = field(default_factory=dict)


@dataclass(slots=True)
class Filed:
    """What :meth:`StoryFiler.assign` decided: (article, story, article it copies or None)
    for each item in order, the stories that gained articles (to recount), and (article,
    article it was linked to, reason) for each item filed into a story."""

    rows: list[tuple[int, int, int | None]]
    joined: set[int]
    links: list[tuple[int, int, str]] = field(default_factory=list)


@dataclass(slots=True)
class NewArticle:
    article_id: int
    record: ArticleRecord
    source_id: int


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


_CANDIDATE_COLUMNS = (Article.id, Article.story_id, Article.duplicate_of_id, Article.title,
                      Article.minhash, Article.published_at, Article.first_seen_at)


def _candidate(row: Sequence[Any]) -> Candidate:
    return Candidate(article_id=row[0], story_id=row[1], duplicate_of_id=row[2], title=row[3],
                     minhash=row[4], entities=set(), published_at=row[5],
                     first_seen_at=row[6])


def headline_pairs(terms: Iterable[str]) -> list[str]:
    """Every pair of distinct ``terms`` as stored in ``article_term_pairs``: the two words in
    code-point order, joined by a space. At most the first ``MAX_TITLE_TERMS`` terms count
    (the crawl stores no more), so a headline has at most 276 pairs."""
    words = sorted(set(list(dict.fromkeys(terms))[:MAX_TITLE_TERMS]))
    return [f"{a} {b}" for i, a in enumerate(words) for b in words[i + 1:]]


def _pairs_of(words: int) -> int:
    """How many pairs of words two headlines sharing ``words`` words share."""
    return words * (words - 1) // 2


def _words_sharing(pairs: int) -> int:
    """How many words two headlines share when they share ``pairs`` pairs of words."""
    return round((1 + math.sqrt(1 + 8 * pairs)) / 2)


def _aware(value: datetime | str) -> datetime:
    """``max(coalesce(...))`` comes back as text on SQLite, bypassing the column type."""
    out = UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
    assert out is not None
    return out
