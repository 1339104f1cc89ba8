"""Read-side pages for the web app and its API: articles, stories and runs one page at a time
(keyset: newest id first, the next page starts below the last id seen), the evidence of an
article's published time, stories by id, and per-source health.

Contract: like :mod:`storage.queries`, every function takes a :class:`~storage.store.Store`,
returns plain dataclasses or dicts with aware datetimes, and never writes. A page asks for
``limit + 1`` rows, so ``next_cursor`` is set only when there is another page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, func, select

from storage.models import Article, ArticleEntity, CrawlRun, SourceRow, Story
from storage.queries import ArticleRow, RunRow, StoryInfo, _article_columns, _rows
from storage.reading import connection
from storage.search_filters import SearchFilters, dated_at, filter_conditions
from storage.store import Store

T = TypeVar("T")
_CHUNK = 500


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of rows, newest first; ``next_cursor`` is the id to continue below."""

    items: list[T]
    next_cursor: int | None


def _page(items: list[T], limit: int, key: Any) -> Page[T]:
    if len(items) > limit:
        items = items[:limit]
        return Page(items=items, next_cursor=int(key(items[-1])))
    return Page(items=items, next_cursor=None)


def article_page(store: Store, filters: SearchFilters | None = None, *, limit: int = 50,
                 before: int | None = None) -> Page[ArticleRow]:
    """Articles passing ``filters``, highest id (newest stored) first, below ``before``."""
    stmt = (select(*_article_columns()).join(SourceRow, SourceRow.id == Article.source_id)
            .where(*filter_conditions(filters or SearchFilters())))
    if before is not None:
        stmt = stmt.where(Article.id < before)
    rows = _rows(store, stmt.order_by(Article.id.desc()).limit(limit + 1))
    return _page(rows, limit, lambda r: r.id)


def _story_info(s: Any) -> StoryInfo:
    return StoryInfo(id=s.id, title=s.title, primary_article_id=s.primary_article_id,
                     first_seen_at=s.first_seen_at, last_seen_at=s.last_seen_at,
                     article_count=s.article_count, source_count=s.source_count)


def story_page(store: Store, *, limit: int = 50, before: int | None = None,
               min_sources: int = 1) -> Page[StoryInfo]:
    """Stories with at least ``min_sources`` sources, highest id (newest) first."""
    stmt = select(Story.__table__).where(Story.source_count >= min_sources)
    if before is not None:
        stmt = stmt.where(Story.id < before)
    with store.engine.connect() as conn:
        rows = [_story_info(s) for s in conn.execute(stmt.order_by(Story.id.desc())
                                                     .limit(limit + 1))]
    return _page(rows, limit, lambda s: s.id)


def story_entities(store: Store, story_id: int) -> list[tuple[str, int]]:
    """The entities story ``story_id``'s articles mention, with how many of its articles
    mention each, most articles first."""
    with connection(store) as conn:
        return [(str(e), int(n)) for e, n in conn.execute(_ENTITIES(),
                                                          {"story_id": story_id})]


# Built once, with bound parameters (see storage.queries._DETAIL).
@cache
def _ENTITIES() -> Any:  # noqa: N802 - a constant, built on first use
    articles = func.count(func.distinct(ArticleEntity.article_id))
    return (select(ArticleEntity.entity_id, articles)
            .join(Article, Article.id == ArticleEntity.article_id)
            .where(Article.story_id == bindparam("story_id"))
            .group_by(ArticleEntity.entity_id)
            .order_by(articles.desc(), ArticleEntity.entity_id))


@cache
def _EVIDENCE() -> Any:  # noqa: N802
    return (select(Article.published_at, Article.published_raw, Article.published_precision,
                   Article.published_source, Article.modified_at, Article.first_seen_at,
                   Article.canonical_url, Article.url)
            .where(Article.id == bindparam("article_id")))


def run_page(store: Store, *, source: str | None = None, limit: int = 50,
             before: int | None = None) -> Page[RunRow]:
    """Crawl runs, newest id first, of one source or all."""
    stmt = select(CrawlRun.__table__)
    if source is not None:
        stmt = stmt.where(CrawlRun.source_name == source)
    if before is not None:
        stmt = stmt.where(CrawlRun.id < before)
    with store.engine.connect() as conn:
        rows = [RunRow(id=r.id, source=r.source_name, status=r.status, started_at=r.started_at,
                       finished_at=r.finished_at, errors=r.errors, first_error=r.first_error)
                for r in conn.execute(stmt.order_by(CrawlRun.id.desc()).limit(limit + 1))]
    return _page(rows, limit, lambda r: r.id)


@dataclass(slots=True)
class PublishedEvidence:
    """Where an article's published time came from, as the crawl stored it."""

    published_at: datetime | None
    published_raw: str | None
    published_precision: str | None
    published_source: str | None
    modified_at: datetime | None
    first_seen_at: datetime
    canonical_url: str
    url: str


def published_evidence(store: Store, article_id: int) -> PublishedEvidence | None:
    with connection(store) as conn:
        r = conn.execute(_EVIDENCE(), {"article_id": article_id}).first()
    return None if r is None else PublishedEvidence(*r)


@dataclass(slots=True)
class SourceHealth:
    """A source as the database knows it: its articles, its last run, articles per day."""

    name: str
    kind: str
    articles: int
    newest: datetime | None
    last_run: RunRow | None
    per_day: list[int] = field(default_factory=list)  # oldest day first


def source_health(store: Store, *, now: datetime, days: int = 14) -> list[SourceHealth]:
    """Every source in the database, by name, with articles per day over the last ``days``
    days (UTC days, ending with ``now``'s)."""
    start_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start_day, datetime.min.time(), now.tzinfo)
    with store.engine.connect() as conn:
        sources = conn.execute(select(SourceRow.id, SourceRow.name, SourceRow.kind)
                               .order_by(SourceRow.name)).all()
        counts = dict(conn.execute(select(Article.source_id, func.count(Article.id))
                                   .group_by(Article.source_id)).all())
        newest = dict(conn.execute(select(Article.source_id, func.max(dated_at()))
                                   .group_by(Article.source_id)).all())
        recent = conn.execute(
            select(Article.source_id, dated_at())
            .where(*filter_conditions(SearchFilters(since=since, until=now)))).all()
        last_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.source_name)
        last = {r.source_name: RunRow(id=r.id, source=r.source_name, status=r.status,
                                      started_at=r.started_at, finished_at=r.finished_at,
                                      errors=r.errors, first_error=r.first_error)
                for r in conn.execute(select(CrawlRun.__table__)
                                      .where(CrawlRun.id.in_(last_ids)))}
    per_day: dict[int, list[int]] = {sid: [0] * days for sid, _, _ in sources}
    for sid, when in recent:
        index = (when.date() - start_day).days
        if 0 <= index < days and sid in per_day:
            per_day[sid][index] += 1
    return [SourceHealth(name=name, kind=kind, articles=int(counts.get(sid, 0)),
                         newest=newest.get(sid), last_run=last.get(name),
                         per_day=per_day[sid]) for sid, name, kind in sources]
