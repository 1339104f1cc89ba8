"""The article model: :class:`ArticleRecord`, every field of an article once, with where it goes.

The crawler yields an ``ArticleRecord`` as its item and the store keeps it; each field says
in its metadata (:class:`Kept`) which table keeps it, whether it is in the export, and whether
a feed entry or an article page states it. The lists other modules need are read from here:
:data:`COPIED_COLUMNS` (written to ``articles`` as they are), :data:`JSON_COLUMNS`,
:data:`EXPORT_FIELDS`, :data:`FEED_FIELDS`, :data:`PAGE_FIELDS`.

Adding a field: declare it here and, when it is stored, add its column to
``storage.models.Article`` with an Alembic migration; ``tests/test_article_model.py`` fails
until the table, the crawler's hint and extraction types, and the export agree with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, get_origin, get_type_hints

ARTICLES = "articles"


@dataclass(frozen=True, slots=True)
class Kept:
    """Where one field of :class:`ArticleRecord` goes.

    ``table``: the table that keeps it (None: not stored). ``copied``: it is the ``articles``
    column of the same name, written as the record has it. ``why``: how it is kept when it is
    not copied. ``unexported``: why it is not in the export (None: it is). ``feed`` / ``page``:
    a feed, sitemap or listing entry (the crawler's ``Hint``) / an extracted article page (the
    crawler's ``ExtractedArticle``) states it.
    """

    table: str | None
    copied: bool = False
    why: str | None = None
    unexported: str | None = None
    feed: bool = False
    page: bool = False


def _copied(*, unexported: str | None = None, feed: bool = False, page: bool = False
            ) -> dict[str, Kept]:
    """An ``articles`` column of the same name, written as the record has it."""
    return {"kept": Kept(ARTICLES, copied=True, unexported=unexported, feed=feed, page=page)}


def _kept(table: str | None, why: str, *, unexported: str | None = None, feed: bool = False,
          page: bool = False) -> dict[str, Kept]:
    """Kept in ``table`` (``articles``: by a rule of the store's own; None: not at all)."""
    return {"kept": Kept(table, why=why, unexported=unexported, feed=feed, page=page)}


_PROVENANCE = "how published_at was read, kept to check it; the export has the time and its day"
_INTERNAL = "an index for story filing, of no use outside the database"
_RETRY = "when the refused page is tried again, internal to the crawler"
_VERDICT = "a verdict on this fetch for the pipelines and the store, not kept"


@dataclass(slots=True, kw_only=True)
class ArticleRecord:
    """One extracted article, ready to store (the crawl's item). ``url_key`` is its identity.

    Fields are in export order; keyword-only, so the order is free.
    """

    url_key: str = field(metadata=_kept(
        ARTICLES, "the identity: set on insert, never updated; every key in article_urls",
        unexported="internal identity; url and canonical_url are exported"))
    url: str = field(metadata=_copied(feed=True, page=True))
    canonical_url: str = field(metadata=_copied(page=True))
    source: str = field(metadata=_kept("sources", "by name, as articles.source_id"))
    title: str = field(metadata=_copied(feed=True, page=True))
    highlights: list[str] = field(default_factory=list, metadata=_copied(page=True))
    summary: str | None = field(default=None, metadata=_copied(feed=True, page=True))
    body: str = field(metadata=_copied(feed=True, page=True))
    # Where the body came from: "page" (the article page) or "feed" (the entry's full text
    # or summary: the page was refused, a wall, or had less of the text).
    body_source: str = field(default="page", metadata=_copied())
    # Why the page could not be used (its HTTP status, robots.txt, a wall), when it could not.
    page_error: str | None = field(default=None, metadata=_copied())
    authors: list[str] = field(default_factory=list, metadata=_copied(feed=True, page=True))
    # Who published it when the source is an aggregator (Google News' <source url="...">).
    publisher: str | None = field(default=None, metadata=_copied(feed=True))
    publisher_url: str | None = field(default=None, metadata=_copied(feed=True))
    published_at: datetime | None = field(default=None, metadata=_copied(feed=True, page=True))
    # The calendar day where the page was written.
    published_date: date | None = field(default=None, metadata=_copied(page=True))
    published_raw: str | None = field(default=None, metadata=_copied(
        unexported=_PROVENANCE, feed=True, page=True))
    published_precision: str | None = field(default=None, metadata=_copied(
        unexported=_PROVENANCE, feed=True, page=True))
    published_source: str | None = field(default=None, metadata=_copied(
        unexported=_PROVENANCE, feed=True, page=True))
    fetched_at: datetime = field(metadata=_kept(
        ARTICLES, "the fetch of the stored version (insert or update); the first is first_seen_at",
        unexported="first_seen_at is exported"))
    modified_at: datetime | None = field(default=None, metadata=_kept(
        ARTICLES, "the page's own, else the fetch time of an update", feed=True, page=True))
    language: str | None = field(default=None, metadata=_copied(page=True))
    image_url: str | None = field(default=None, metadata=_copied(
        unexported="a link to an image, not part of the text", feed=True, page=True))
    section: str | None = field(default=None, metadata=_copied(page=True))
    tags: list[str] = field(default_factory=list, metadata=_copied(feed=True, page=True))
    # A refused page is tried again (crawler.fallback): failed tries since it last worked,
    # and when the next is due (None: not again).
    page_attempts: int = field(default=0, metadata=_copied(unexported=_RETRY))
    page_retry_at: datetime | None = field(default=None, metadata=_copied(unexported=_RETRY))
    # Enrichment (crawler.pipelines.classify): every topic's score, the topics at or above
    # the threshold (or pinned), the best of them (None: off-topic), entity id -> mentions,
    # and the MinHash signature with its LSH band hashes (empty for too-short bodies).
    primary_topic: str | None = field(default=None, metadata=_copied())
    topics: dict[str, float] = field(default_factory=dict, metadata=_kept(
        "article_topics", "one row per topic"))
    entities: dict[str, int] = field(default_factory=dict, metadata=_kept(
        "article_entities", "one row per entity"))
    topic_scores: dict[str, float] = field(default_factory=dict, metadata=_copied(
        unexported="topics (those at or above the threshold) is exported"))
    minhash: bytes | None = field(default=None, metadata=_copied(unexported=_INTERNAL))
    bands: list[int] = field(default_factory=list, metadata=_kept(
        "article_bands", "one row per band", unexported=_INTERNAL))
    title_terms: list[str] = field(default_factory=list, metadata=_kept(
        "article_term_pairs", "as pairs of terms", unexported=_INTERNAL))
    # What reports of one event written apart share (crawler.dedup.salient): salient
    # words, names, amounts and counts.
    story_keys: list[str] = field(default_factory=list, metadata=_kept(
        "article_story_keys", "one row per key", unexported=_INTERNAL))
    # Other keys this article is known under (the feed's link, the fetched URL).
    alias_keys: list[str] = field(default_factory=list, metadata=_kept(
        "article_urls", "one row per key", unexported="internal identity"))
    # What the crawler saw of the fetch itself. ``refetch``: the article is stored already and
    # was fetched again to look for changes (``refetch_within``), under ``url_key``. ``wall``:
    # why the page is a bot wall, challenge, consent or error page (None: it looks real).
    # ``redirected_to``: the URL the request ended at when that is another page.
    # ``not_article``: why the page is not an article at all (crawler.extraction.pagetype).
    refetch: bool = field(default=False, metadata=_kept(None, _VERDICT, unexported=_VERDICT))
    wall: str | None = field(default=None, metadata=_kept(None, _VERDICT, unexported=_VERDICT))
    redirected_to: str | None = field(default=None, metadata=_kept(
        None, _VERDICT, unexported=_VERDICT))
    not_article: str | None = field(default=None, metadata=_kept(
        None, _VERDICT, unexported=_VERDICT, page=True))

    def content_hash(self) -> str:
        """Hash of what a reader sees; a change here is an update, anything else is not."""
        payload = json.dumps(
            [self.title.strip(), self.highlights, self.body.strip(), self.authors],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


#: Every field of :class:`ArticleRecord` with where it goes, in field order.
KEPT: dict[str, Kept] = {f.name: f.metadata["kept"] for f in fields(ArticleRecord)}
#: Each field's type, as annotated.
TYPES: dict[str, Any] = get_type_hints(ArticleRecord)

#: The ``articles`` columns written as the record has them (insert and update alike).
COPIED_COLUMNS: tuple[str, ...] = tuple(n for n, k in KEPT.items() if k.copied)
#: Those of them that hold JSON (lists and mappings).
JSON_COLUMNS: frozenset[str] = frozenset(
    n for n in COPIED_COLUMNS if get_origin(TYPES[n]) in (list, dict))
#: Columns of ``articles`` the store fills in itself, not carried by a record, and why.
STORE_COLUMNS: dict[str, str] = {
    "id": "the article's id",
    "source_id": "the record's source, by name",
    "first_seen_at": "the first fetch's time",
    "content_hash": "ArticleRecord.content_hash() of the accepted version",
    "story_id": "story filing (storage.stories)",
    "duplicate_of_id": "story filing (storage.stories)",
    "filed_seq": "story filing's order on PostgreSQL (storage.stories)",
}
#: The keys of every exported article (``newsmon export``, JSON lines and CSV), in order.
EXPORT_FIELDS: tuple[str, ...] = (
    "id", *(n for n, k in KEPT.items() if k.unexported is None),
    "first_seen_at", "story_id", "duplicate_of_id")
#: What a feed, sitemap or listing entry may state about an article (the crawler's Hint).
FEED_FIELDS: tuple[str, ...] = tuple(n for n, k in KEPT.items() if k.feed)
#: What extraction may find in an article page (the crawler's ExtractedArticle).
PAGE_FIELDS: tuple[str, ...] = tuple(n for n, k in KEPT.items() if k.page)

__all__ = ["COPIED_COLUMNS", "EXPORT_FIELDS", "FEED_FIELDS", "JSON_COLUMNS", "KEPT",
           "PAGE_FIELDS", "STORE_COLUMNS", "TYPES", "ArticleRecord", "Kept"]
