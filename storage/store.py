"""The storage API shared by the pipelines, the scheduler and the CLI."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.article import ArticleRecord
from storage.engine import WRITES, dialect_insert, make_engine
from storage.migrate import upgrade
from storage.models import Article, ArticleURL, CrawlRun, SourceRow
from storage.records import Outcome, RunStats, StoryMatcher
from storage.sources_runs import SourcesRuns

if TYPE_CHECKING:
    from storage.write import ArticleWriter

logger = logging.getLogger(__name__)


def writer_for(engine: Engine) -> ArticleWriter:
    """The article writer of ``engine``'s database: the one place the write path picks it.
    Imported on the first write (a reading command never loads the write path), the
    PostgreSQL one (and SQLAlchemy's PostgreSQL dialect) only for PostgreSQL."""
    if engine.dialect.name == "postgresql":
        from storage.write_postgres import PostgresWriter

        return PostgresWriter()
    from storage.write_sqlite import SqliteWriter

    return SqliteWriter()


class Store:
    """Articles, sources, runs and HTTP validators in one SQL database.

    Accepts a URL or an engine. Every write method is one transaction: it either
    stores all it was given or nothing.

    Search (PostgreSQL): what a write adds or changes is queued for the search index in the
    write's transaction; with ``defer_search_index`` false (the default) the writer indexes it
    right after the commit, outside the story-filing lock; with it true, an indexer does
    (``storage.search_index.index_pending``: ``newsmon db index``, the service's job). On
    SQLite the index is kept in sync by triggers either way.
    """

    def __init__(self, engine: Engine, *, defer_search_index: bool = False) -> None:
        self.engine = engine
        self.defer_search_index = defer_search_index
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Writes that read first (story filing, known keys): on SQLite they begin IMMEDIATE.
        self._writes = sessionmaker(engine.execution_options(**{WRITES: True}),
                                    expire_on_commit=False)
        self._records = SourcesRuns(engine, partial(dialect_insert, engine))

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = True, defer_search_index: bool = False,
                 create: bool = True, **engine_kwargs: Any) -> Store:
        """Open (and by default upgrade) the database at ``url``; with ``create=False`` a
        SQLite file that does not exist raises :class:`~storage.engine.MissingDatabase`."""
        store = cls(make_engine(url, create=create, **engine_kwargs),
                    defer_search_index=defer_search_index)
        if migrate:
            upgrade(store.engine)
        return store

    @cached_property
    def _writer(self) -> ArticleWriter:
        return writer_for(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    def write_session(self) -> Session:
        """A session for a transaction that reads, then writes what it read decides: on
        SQLite it holds the write lock from its first statement (writers queue)."""
        return self._writes()

    # -- sources -----------------------------------------------------------------------

    def source_id(self, name: str, kind: str = "unknown") -> int:
        """Return the id of source ``name``, creating its row on first use. A ``kind`` other
        than ``unknown`` (the source's configured kind: rss, atom, sitemap, news_sitemap,
        listing) is written to the row if it says something else; ``unknown`` never
        overwrites a known kind."""
        return self._records.source_id(name, kind)

    # -- articles ----------------------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Return those of ``keys`` that some stored article is known under."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                found.update(conn.execute(
                    select(ArticleURL.url_key).where(ArticleURL.url_key.in_(chunk))
                ).scalars())
        return found

    def credit(self, keys: Iterable[str], source: str, order: Sequence[str]) -> int:
        """Credit ``source`` with the stored articles known under ``keys`` that it ranks
        before their credited source in ``order`` (the sources file's order; a source not
        in it ranks after every one that is, and ``source`` itself must be in it). Which
        source is credited for an article several sources lead to then depends on the
        configuration, not on which crawl stored it first (docs/schema.md). Returns how
        many articles changed hands; their stories are recounted."""
        from storage.recount import recount

        rank = {name: i for i, name in enumerate(order)}
        mine = rank.get(source)
        wanted = list(dict.fromkeys(keys))
        if mine is None or not wanted:
            return 0
        before = set(order[:mine])
        source_id = self._records.source_id(source, "unknown")
        losing: dict[int, int | None] = {}
        with self.engine.connect() as conn:  # a read first: most calls move nothing
            for i in range(0, len(wanted), 500):
                losing.update((aid, sid) for aid, sid, name in conn.execute(
                    select(Article.id, Article.story_id, SourceRow.name)
                    .join(ArticleURL, ArticleURL.article_id == Article.id)
                    .join(SourceRow, SourceRow.id == Article.source_id)
                    .where(ArticleURL.url_key.in_(wanted[i:i + 500]),
                           Article.source_id != source_id)) if name not in before)
        if not losing:
            return 0
        with self.write_session() as session, session.begin():
            # Again in the write: another crawl may have credited an earlier source since.
            earlier = select(SourceRow.id).where(SourceRow.name.in_(sorted(before)))
            moved = session.connection().execute(
                update(Article).where(Article.id.in_(sorted(losing)),
                                      Article.source_id.not_in(earlier))
                .values(source_id=source_id)).rowcount
            recount(session, sorted({s for s in losing.values() if s is not None}))
        return int(moved or 0)

    def refetch_due(self, keys: Iterable[str], modified: dict[str, datetime], *,
                    first_seen_since: datetime | None, checked_before: datetime
                    ) -> dict[str, datetime]:
        """Those of the stored ``keys`` due for a re-fetch, each with when it was last
        fetched: last fetched before
        ``checked_before``, and either first seen at or after ``first_seen_since`` (young
        enough to be corrected; None: no age makes it due) or listed with a modified time
        (``modified``: a sitemap's lastmod, a feed entry's updated time) later than that
        fetch."""
        wanted = list(dict.fromkeys(keys))
        due: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                for key, first_seen, fetched in conn.execute(
                        select(ArticleURL.url_key, Article.first_seen_at, Article.fetched_at)
                        .join(Article, Article.id == ArticleURL.article_id)
                        .where(ArticleURL.url_key.in_(wanted[i : i + 500]),
                               Article.fetched_at < checked_before,
                               # Stored from its entry: its page has retries of its own.
                               Article.body_source == "page")):
                    young = first_seen_since is not None and first_seen >= first_seen_since
                    changed = key in modified and modified[key] > fetched
                    if young or changed:
                        due[key] = fetched
        return due

    def mark_fetched(self, fetched: dict[str, datetime]) -> None:
        """Note that the articles under these URL keys were fetched at these times and had
        not changed (a re-fetch answered 304): ``fetched_at`` moves on, nothing else."""
        with self.engine.execution_options(**{WRITES: True}).begin() as conn:
            for key, at in fetched.items():
                ids = select(ArticleURL.article_id).where(ArticleURL.url_key == key)
                conn.execute(update(Article).where(Article.id.in_(ids),
                                                   Article.fetched_at < at)
                             .values(fetched_at=at))

    def upsert_articles(
        self, records: Sequence[ArticleRecord], matcher: StoryMatcher | None = None
    ) -> list[Outcome]:
        """Store ``records`` in one transaction (:meth:`write_articles`), then index them for
        search (:meth:`index_written`: a failure there is logged, not raised — the articles
        are stored and stay queued); return what happened to each, in order. To keep one bad
        record from taking its batch-mates with it, see :func:`storage.batch.store_batch`."""
        outcomes, to_index = self.write_articles(records, matcher)
        self.index_written(to_index)
        return outcomes

    def index_written(self, article_ids: Sequence[int]) -> str | None:
        """After a commit, index ``article_ids`` for search now, unless the index is deferred
        to an indexer. Returns None, or why it failed: the articles are stored and still
        queued (``search_queue``), so ``newsmon db index`` or the service's indexing job
        indexes them later; the failure is logged as a warning and raised no further."""
        if self.defer_search_index or not article_ids:
            return None
        try:
            from storage import search_index  # FTS/tsvector code: loaded when used

            search_index.index_ids(self.engine, article_ids)
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            why = reason[0] if reason else type(exc).__name__
            logger.warning("search index not updated after the commit: %d articles are stored "
                           "and stay queued for the indexer (newsmon db index) (%s)",
                           len(article_ids), why)
            return why
        return None

    def write_articles(
        self, records: Sequence[ArticleRecord], matcher: StoryMatcher | None = None
    ) -> tuple[list[Outcome], list[int]]:
        """Store ``records`` in one transaction; return what happened to each, in order, and
        the ids of the articles whose text is new or changed (queued for the search index in
        the same transaction, not yet indexed: see :meth:`index_written`).

        A new key inserts a row and files it under a story (``matcher`` decides which
        candidate, if any, it is a copy of or shares an event with; without one, every
        article opens its own story); a known key whose content hash changed updates the
        row in place and adds a version; an unchanged one writes nothing. Concurrent writers
        of one key are safe: the unique key decides, the loser updates or leaves it.
        New articles are written with a handful of statements per batch, not per article.
        """
        source_ids = {r.source: self.source_id(r.source) for r in records}
        with self.write_session() as session, session.begin():
            return self._writer.write(session, records, source_ids, matcher)

    def index_search(self, *, limit: int | None = None) -> int:
        """Index what waits in the search queue (PostgreSQL); return how many articles."""
        from storage import search_index

        return search_index.index_pending(self.engine, limit=limit)

    def _write_enrichment(
        self, session: Session, article_id: int, rec: ArticleRecord, *, replace: bool
    ) -> None:
        """Rewrite the enrichment of article ``article_id`` from ``rec`` in ``session``
        (``storage.reprocess``): see :meth:`storage.write.ArticleWriter.write_enrichment`."""
        self._writer.write_enrichment(session, article_id, rec, replace=replace)

    def count_articles(self, source: str | None = None) -> int:
        stmt = select(func.count(Article.id))
        if source is not None:
            stmt = stmt.join(SourceRow).where(SourceRow.name == source)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def articles(self, *, source: str | None = None, limit: int | None = None) -> list[Article]:
        stmt = select(Article).order_by(Article.id)
        if source is not None:
            stmt = stmt.join(SourceRow).where(SourceRow.name == source)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.session() as session:
            return list(session.execute(stmt).unique().scalars())

    def page_retries_due(self, source: str, now: datetime, limit: int) -> list[Article]:
        """``source``'s articles stored from their entry whose page is due to be tried
        again (``page_retry_at`` at or before ``now``), the longest-waiting first."""
        stmt = (select(Article).join(SourceRow).where(
            SourceRow.name == source, Article.body_source == "feed",
            Article.page_retry_at.is_not(None), Article.page_retry_at <= now)
            .order_by(Article.page_retry_at, Article.id).limit(limit))
        with self.session() as session:
            return list(session.execute(stmt).unique().scalars())

    def article_by_url(self, url_key: str) -> Article | None:
        with self.session() as session:
            return session.execute(
                select(Article).join(ArticleURL, ArticleURL.article_id == Article.id)
                .where(ArticleURL.url_key == url_key)
            ).unique().scalar_one_or_none()

    # -- crawl runs --------------------------------------------------------------------

    def start_run(self, source: str, started_at: datetime | None = None) -> int:
        return self._records.start_run(source, started_at)

    def finish_run(self, run_id: int, status: str, stats: RunStats) -> None:
        self._records.finish_run(run_id, status, stats)

    def runs(self, source: str | None = None, limit: int = 50) -> list[CrawlRun]:
        return self._records.runs(source, limit)

    # -- conditional GET ---------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        return self._records.validators(url)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        self._records.save_validators(url, etag, last_modified)
