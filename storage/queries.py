"""Read-side queries for people: a period's articles with their stories and topics (the digest),
one article with its story (show), counts (stats), and a stream of every article (export).

Contract: every function takes a :class:`~storage.store.Store` and aware datetimes, returns
plain dataclasses or dicts with aware UTC datetimes, and never writes. An article is *dated*
by its publication time, else by when it was first seen (:func:`storage.search_filters.dated_at`);
windows are ``since <= dated < until``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cache
from typing import Any, Literal, get_origin

from sqlalchemy import bindparam, func, select

from storage.article import EXPORT_FIELDS, TYPES
from storage.models import (
    Article,
    ArticleEntity,
    ArticleTopic,
    ArticleVersion,
    CrawlRun,
    SourceRow,
    Story,
)
from storage.reading import connection
from storage.revisions import unpack, unpack_list, words
from storage.search_filters import SearchFilters, dated_at, filter_conditions
from storage.store import Store

# A digest needs the first sentence or two, not the whole body.
LEAD_CHARS = 1200
_CHUNK = 500
# Run statuses that are not failures (see crawler.extensions.runs.run_status).
_NOT_FAILED = ("ok", "running")

StatsBy = Literal["day", "source", "topic"]


@dataclass(slots=True)
class ArticleRow:
    """An article as the digest and ``show`` need it."""

    id: int
    title: str
    url: str
    source: str
    dated_at: datetime
    published_at: datetime | None
    first_seen_at: datetime
    story_id: int | None
    duplicate_of_id: int | None
    primary_topic: str | None
    highlights: list[str]
    summary: str | None
    lead: str  # the first LEAD_CHARS characters of the body
    topics: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class RunRow:
    id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    errors: int
    first_error: str | None
    blocked: int = 0


@dataclass(slots=True)
class StoryInfo:
    id: int
    title: str
    primary_article_id: int
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    source_count: int


@dataclass(slots=True)
class VersionRow:
    """One fetched state of an article (``article_versions``), with its text; ``body`` and
    ``highlights`` are None for versions stored before revision 0008."""

    id: int
    fetched_at: datetime
    status: str
    reason: str | None
    title: str
    content_hash: str
    body: str | None
    highlights: list[str] | None
    summary: str | None
    authors: list[str] | None

    @property
    def words(self) -> int | None:
        return None if self.body is None else len(words(self.body))


def article_versions(store: Store, article_id: int) -> list[VersionRow]:
    """Every version of article ``article_id``, oldest first, texts decompressed."""
    with connection(store) as conn:
        return [VersionRow(id=v.id, fetched_at=v.fetched_at, status=v.status, reason=v.reason,
                           title=v.title, content_hash=v.content_hash, body=unpack(v.body),
                           highlights=unpack_list(v.highlights), summary=v.summary,
                           authors=v.authors)
                for v in conn.execute(_VERSIONS(), {"article_id": article_id})]


# The statements of the article page, built once: building a statement and matching a new
# statement object's columns to the cached compiled form cost more than running it.
@cache
def _VERSIONS() -> Any:  # noqa: N802 - a constant, built on first use
    return (select(ArticleVersion.__table__)
            .where(ArticleVersion.article_id == bindparam("article_id"))
            .order_by(ArticleVersion.id))


@cache
def _TOPICS() -> Any:  # noqa: N802
    return (select(ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score)
            .where(ArticleTopic.article_id.in_(bindparam("ids", expanding=True))))


@cache
def _DETAIL() -> tuple[Any, Any, Any, Any]:  # noqa: N802
    aid: Any = bindparam("article_id")
    article = (select(*_article_columns(), Article.body, Article.authors, Article.language,
                      Article.section, Article.tags, Article.modified_at)
               .join(SourceRow, SourceRow.id == Article.source_id).where(Article.id == aid))
    entities = (select(ArticleEntity.entity_id, ArticleEntity.mentions)
                .where(ArticleEntity.article_id == aid)
                .order_by(ArticleEntity.mentions.desc(), ArticleEntity.entity_id))
    story = select(Story).where(Story.id == bindparam("story_id"))
    siblings = (select(*_article_columns()).join(SourceRow, SourceRow.id == Article.source_id)
                .where(Article.story_id == bindparam("story_id"), Article.id != aid)
                .order_by(dated_at(), Article.id))
    return article, entities, story, siblings


@dataclass(slots=True)
class ArticleDetail:
    """One article in full, with its topics, entities and the other articles of its story."""

    row: ArticleRow
    body: str
    authors: list[str]
    language: str | None
    section: str | None
    tags: list[str]
    modified_at: datetime | None
    entities: dict[str, int]
    story: StoryInfo | None
    siblings: list[ArticleRow]
    versions: list[VersionRow] = field(default_factory=list)


def _article_columns() -> tuple[Any, ...]:
    return (Article.id, Article.title, Article.canonical_url, SourceRow.name,
            dated_at().label("dated_at"), Article.published_at, Article.first_seen_at,
            Article.story_id, Article.duplicate_of_id, Article.primary_topic,
            Article.highlights, Article.summary,
            func.substr(Article.body, 1, LEAD_CHARS).label("lead"))


def _rows(store: Store, stmt: Any, params: dict[str, Any] | None = None) -> list[ArticleRow]:
    with connection(store) as conn:
        rows = [ArticleRow(id=r[0], title=r[1], url=r[2], source=r[3], dated_at=r[4],
                           published_at=r[5], first_seen_at=r[6], story_id=r[7],
                           duplicate_of_id=r[8], primary_topic=r[9], highlights=r[10] or [],
                           summary=r[11], lead=r[12] or "")
                for r in conn.execute(stmt, params)]
    _attach_topics(store, rows)
    return rows


def _attach_topics(store: Store, rows: list[ArticleRow]) -> None:
    by_id = {r.id: r for r in rows}
    ids = list(by_id)
    with connection(store) as conn:
        for i in range(0, len(ids), _CHUNK):
            for aid, topic, score in conn.execute(_TOPICS(), {"ids": ids[i : i + _CHUNK]}):
                by_id[aid].topics[topic] = float(score)


def window_articles(store: Store, since: datetime, until: datetime) -> list[ArticleRow]:
    """Every article dated in ``[since, until)``, on-topic or not, oldest first, with topics."""
    stmt = (select(*_article_columns()).join(SourceRow, SourceRow.id == Article.source_id)
            .where(*filter_conditions(SearchFilters(since=since, until=until)))
            .order_by(dated_at(), Article.id))
    return _rows(store, stmt)


def articles_by_id(store: Store, ids: list[int]) -> list[ArticleRow]:
    """The articles ``ids`` (those that exist), oldest first, with topics."""
    rows: list[ArticleRow] = []
    for i in range(0, len(ids), _CHUNK):
        rows.extend(_rows(store, select(*_article_columns())
                          .join(SourceRow, SourceRow.id == Article.source_id)
                          .where(Article.id.in_(ids[i:i + _CHUNK]))))
    return sorted(rows, key=lambda r: (r.dated_at, r.id))


def window_runs(store: Store, since: datetime, until: datetime) -> list[RunRow]:
    """Crawl runs started in ``[since, until)``, oldest first."""
    with store.engine.connect() as conn:
        return [RunRow(id=r.id, source=r.source_name, status=r.status, started_at=r.started_at,
                       finished_at=r.finished_at, errors=r.errors, first_error=r.first_error,
                       blocked=r.blocked)
                for r in conn.execute(
                    select(CrawlRun).where(CrawlRun.started_at >= since,
                                           CrawlRun.started_at < until)
                    .order_by(CrawlRun.started_at, CrawlRun.id))]


def story_primaries(store: Store, story_ids: list[int]) -> set[int]:
    """The primary (first-seen) article ids of ``story_ids``."""
    out: set[int] = set()
    with store.engine.connect() as conn:
        for i in range(0, len(story_ids), _CHUNK):
            out.update(conn.execute(select(Story.primary_article_id)
                                    .where(Story.id.in_(story_ids[i : i + _CHUNK]))).scalars())
    return out


def is_failure(run: RunRow) -> bool:
    return run.status not in _NOT_FAILED


def article_detail(store: Store, article_id: int) -> ArticleDetail | None:
    """Article ``article_id`` with everything ``newsmon show`` prints; None if there is none."""
    stmt, entities_stmt, story_stmt, siblings_stmt = _DETAIL()
    with connection(store) as conn:
        r = conn.execute(stmt, {"article_id": article_id}).first()
        if r is None:
            return None
        entities = {e: int(n) for e, n in conn.execute(entities_stmt,
                                                       {"article_id": article_id})}
        story_row = None
        if r.story_id is not None:
            story_row = conn.execute(story_stmt, {"story_id": r.story_id}).first()
    row = ArticleRow(id=r[0], title=r[1], url=r[2], source=r[3], dated_at=r[4],
                     published_at=r[5], first_seen_at=r[6], story_id=r[7], duplicate_of_id=r[8],
                     primary_topic=r[9], highlights=r[10] or [], summary=r[11], lead=r[12] or "")
    _attach_topics(store, [row])
    story: StoryInfo | None = None
    siblings: list[ArticleRow] = []
    if story_row is not None:
        s = story_row
        story = StoryInfo(id=s.id, title=s.title, primary_article_id=s.primary_article_id,
                          first_seen_at=s.first_seen_at, last_seen_at=s.last_seen_at,
                          article_count=s.article_count, source_count=s.source_count)
        siblings = _rows(store, siblings_stmt, {"story_id": story.id,
                                                "article_id": article_id})
    return ArticleDetail(row=row, body=r.body, authors=list(r.authors or []),
                         language=r.language, section=r.section, tags=list(r.tags or []),
                         modified_at=r.modified_at, entities=entities, story=story,
                         siblings=siblings, versions=article_versions(store, article_id))


def stats(store: Store, by: StatsBy | None, tz: tzinfo, *, since: datetime | None = None,
          until: datetime | None = None) -> list[dict[str, Any]]:
    """Counts of articles dated in the window (all time by default).

    ``by=None``: one row of totals. ``day``: per day in ``tz``, newest first. ``source``: per
    source, most articles first. ``topic``: per topic (articles in it, and those whose primary
    topic it is), plus an ``(off-topic)`` row.
    """
    window = filter_conditions(SearchFilters(since=since, until=until))
    if by == "day":
        return _stats_by_day(store, tz, window)
    with store.engine.connect() as conn:
        if by == "source":
            rows = conn.execute(
                select(SourceRow.name, func.count(Article.id),
                       func.count(func.distinct(Article.story_id)),
                       func.min(dated_at()), func.max(dated_at()))
                .join(Article, Article.source_id == SourceRow.id)
                .where(*window).group_by(SourceRow.name)
                .order_by(func.count(Article.id).desc(), SourceRow.name))
            return [{"source": n, "articles": a, "stories": s, "oldest": o, "newest": w}
                    for n, a, s, o, w in rows]
        if by == "topic":
            out: list[dict[str, Any]] = []
            in_topic = dict(conn.execute(
                select(ArticleTopic.topic, func.count(ArticleTopic.article_id))
                .join(Article, Article.id == ArticleTopic.article_id)
                .where(*window).group_by(ArticleTopic.topic)).all())
            primary = {t or "(off-topic)": n for t, n in conn.execute(
                select(Article.primary_topic, func.count(Article.id))
                .where(*window).group_by(Article.primary_topic))}
            for topic in sorted(set(in_topic) | set(primary), key=lambda t: (t[0] == "(", t)):
                out.append({"topic": topic, "articles": int(in_topic.get(topic, 0)),
                            "primary": int(primary.get(topic, 0))})
            return out
        r = conn.execute(
            select(func.count(Article.id), func.count(func.distinct(Article.story_id)),
                   func.count(func.distinct(Article.source_id)),
                   func.count(Article.primary_topic), func.min(dated_at()),
                   func.max(dated_at())).where(*window)).one()
        runs = conn.execute(select(func.count(CrawlRun.id))).scalar_one()
        failed = conn.execute(select(func.count(CrawlRun.id))
                              .where(CrawlRun.status.not_in(_NOT_FAILED))).scalar_one()
    return [{"articles": r[0], "stories": r[1], "sources": r[2], "on_topic": r[3],
             "off_topic": r[0] - r[3], "oldest": r[4], "newest": r[5], "runs": runs,
             "failed_runs": failed}]


def _stats_by_day(store: Store, tz: tzinfo, window: list[Any]) -> list[dict[str, Any]]:
    # Days are local: SQLite has no time zones, so the grouping happens here, streamed.
    articles: Counter[date] = Counter()
    stories: dict[date, set[int]] = {}
    sources: dict[date, set[int]] = {}
    stmt = select(dated_at(), Article.story_id, Article.source_id).where(*window)
    with store.engine.connect() as conn:
        for when, story_id, source_id in conn.execution_options(
                stream_results=True, yield_per=5000).execute(stmt):
            day = when.astimezone(tz).date()
            articles[day] += 1
            if story_id is not None:
                stories.setdefault(day, set()).add(story_id)
            sources.setdefault(day, set()).add(source_id)
    return [{"day": d.isoformat(), "articles": articles[d], "stories": len(stories.get(d, ())),
             "sources": len(sources.get(d, ()))} for d in sorted(articles, reverse=True)]


# The exported article columns, by export key; ``source``, ``topics`` and ``entities`` come
# from their own tables.
_EXPORT_COLUMNS = tuple(f for f in EXPORT_FIELDS if f in Article.__table__.c)
_EXPORT_LISTS = frozenset(f for f in _EXPORT_COLUMNS if get_origin(TYPES.get(f)) is list)


def iter_export(store: Store, *, since: datetime | None = None, until: datetime | None = None,
                batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every article dated in the window, oldest first, as a dict of
    :data:`storage.article.EXPORT_FIELDS`, in that order.

    Streams in pages of ``batch`` by id (keyset), so memory stays flat and a long export
    holds no transaction open between pages."""
    window = filter_conditions(SearchFilters(since=since, until=until))
    last = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(*(Article.__table__.c[f] for f in _EXPORT_COLUMNS),
                       SourceRow.name.label("source"))
                .join(SourceRow, SourceRow.id == Article.source_id)
                .where(Article.id > last, *window).order_by(Article.id).limit(batch)).all()
            if not rows:
                return
            ids = [r.id for r in rows]
            topics = _grouped(conn.execute(
                select(ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score)
                .where(ArticleTopic.article_id.in_(ids))))
            entities = _grouped(conn.execute(
                select(ArticleEntity.article_id, ArticleEntity.entity_id, ArticleEntity.mentions)
                .where(ArticleEntity.article_id.in_(ids))))
        for r in rows:
            values = r._mapping
            out: dict[str, Any] = {}
            for f in EXPORT_FIELDS:
                if f == "topics":
                    out[f] = topics.get(r.id, {})
                elif f == "entities":
                    out[f] = entities.get(r.id, {})
                elif f in _EXPORT_LISTS:
                    out[f] = list(values[f] or [])
                else:
                    out[f] = values[f]
            if "published_date" in out and out["published_date"] is None and (
                    values["published_at"] is not None):
                # Rows stored before the page's own day was kept: the UTC day.
                out["published_date"] = values["published_at"].date()
            yield out
        last = rows[-1].id


def _grouped(rows: Iterable[Any]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for aid, key, value in rows:
        out.setdefault(aid, {})[key] = value
    return out
