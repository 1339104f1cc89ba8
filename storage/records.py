"""Plain records that cross the storage boundary (the crawler builds them, storage keeps them)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # A re-fetch much worse than the stored text: kept as a rejected version only.
    REJECTED = "rejected"


@dataclass(slots=True)
class ArticleRecord:
    """One extracted article, ready to store. ``url_key`` is its identity."""

    url_key: str
    canonical_url: str
    url: str
    source: str
    title: str
    body: str
    fetched_at: datetime
    highlights: list[str] = field(default_factory=list)
    summary: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    published_raw: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    published_date: date | None = None  # the calendar day where the page was written
    modified_at: datetime | None = None
    language: str | None = None
    image_url: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    # Other keys this article is known under (the feed's link, the fetched URL).
    alias_keys: list[str] = field(default_factory=list)
    # Enrichment (crawler.pipelines.classify): every topic's score, the topics at or above
    # the threshold (or pinned), the best of them (None: off-topic), entity id -> mentions,
    # and the MinHash signature with its LSH band hashes (empty for too-short bodies).
    topic_scores: dict[str, float] = field(default_factory=dict)
    topics: dict[str, float] = field(default_factory=dict)
    primary_topic: str | None = None
    entities: dict[str, int] = field(default_factory=dict)
    minhash: bytes | None = None
    bands: list[int] = field(default_factory=list)
    title_terms: list[str] = field(default_factory=list)
    # What the crawler saw of the fetch itself. ``refetch``: the article is stored already and
    # was fetched again to look for changes (``refetch_within``), under ``url_key``. ``wall``:
    # why the page is a bot wall, challenge, consent or error page (None: it looks real).
    # ``redirected_to``: the URL the request ended at when that is another page.
    # ``not_article``: why the page is not an article at all (crawler.extraction.pagetype).
    refetch: bool = False
    wall: str | None = None
    redirected_to: str | None = None
    not_article: str | None = None

    def content_hash(self) -> str:
        """Hash of what a reader sees; a change here is an update, anything else is not."""
        payload = json.dumps(
            [self.title.strip(), self.highlights, self.body.strip(), self.authors],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


class StoryMatcher(Protocol):
    """The similarity policy the store asks when it files a new article under a story.

    The store finds the candidates (articles sharing an LSH band; recent articles sharing
    an entity within ``window``) and records the answer; the matcher only decides.
    """

    window: timedelta
    # How many headline terms a same-story candidate must share with the new article.
    min_shared_terms: int

    def near_duplicate(self, record: ArticleRecord, candidates: list[Candidate]
                       ) -> Candidate | None:
        """The candidate ``record`` is a near-duplicate (syndicated copy) of, if any."""
        ...

    def same_story(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        """A candidate about the same event as ``record``, if any."""
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
