"""Plain records that cross the storage boundary besides the article (storage.article)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from storage.article import ArticleRecord


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # A re-fetch much worse than the stored text: kept as a rejected version only.
    REJECTED = "rejected"


@dataclass(slots=True)
class Candidate:
    """A stored article that may be a copy of, or about the same story as, a new one."""

    article_id: int
    story_id: int | None
    duplicate_of_id: int | None
    title: str
    minhash: bytes | None
    entities: set[str]
    published_at: datetime | None
    first_seen_at: datetime
    shared_bands: int = 0
    # Its story keys (storage.models.ArticleStoryKey), and why the matcher chose it.
    keys: set[str] = field(default_factory=set)
    reason: str | None = None


class StoryMatcher(Protocol):
    """The similarity policy the store asks when it files a new article under a story.

    The store finds the candidates (articles sharing an LSH band; articles sharing headline
    pairs or story keys within ``window``) and records the answer, with the reason the
    matcher puts in the chosen candidate's ``reason``; the matcher only decides.
    """

    window: timedelta
    # How many headline terms a same-story candidate must share with the new article.
    min_shared_terms: int
    # How many story keys a candidate found by its keys must share with the new article.
    min_shared_keys: int

    def near_duplicate(self, record: ArticleRecord, candidates: list[Candidate]
                       ) -> Candidate | None:
        """The candidate ``record`` is a near-duplicate (syndicated copy) of, if any."""
        ...

    def same_story(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        """A candidate about the same event as ``record``, if any."""
        ...

    def same_event(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        """A candidate sharing enough story keys with ``record`` to report its event (the
        store found them sharing at least ``min_shared_keys``), if any."""
        ...


@dataclass(slots=True)
class RunStats:
    """Counters of one crawl run, as the crawl reports them."""

    requests: int = 0
    bytes: int = 0
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped: int = 0
    errors: int = 0
    first_error: str | None = None
    # Pages the site refused (401/402/403/429/451) or answered with a bot wall; not errors.
    blocked: int = 0
    # Entries kept without an article (their page refused, no title), tried again later.
    pending: int = 0
