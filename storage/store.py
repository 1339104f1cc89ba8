"""The storage API shared by the pipelines, the scheduler and the CLI."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, column, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import Text

from storage import search_index
from storage.article import COPIED_COLUMNS, JSON_COLUMNS, ArticleRecord
from storage.engine import WRITES, make_engine
from storage.migrate import upgrade
from storage.models import (
    Article,
    ArticleBand,
    ArticleEntity,
    ArticleTermPair,
    ArticleTopic,
    ArticleURL,
    ArticleVersion,
    CrawlRun,
    HttpValidator,
    SourceRow,
)
from storage.records import Outcome, RunStats, StoryMatcher
from storage.revisions import Stored, is_front_page, judge, pack, pack_list, reason_kind
from storage.stories import (
    Found,
    NewArticle,
    StoryFiler,
    headline_pairs,
    index_lookups,
    story_filer,
)
from storage.types import array_literal, naive_utc, pg_array

logger = logging.getLogger(__name__)

# The record fields written to ``articles`` as they are, and those of them holding JSON.
_ARTICLE_FIELDS = COPIED_COLUMNS
_JSON_FIELDS = JSON_COLUMNS
# PostgreSQL: the foreign keys to ``articles`` (deferrable, revision 0007) that a batch
# checks at commit, so that these rows can be written before their articles.
DEFERRED_FKS = tuple(f"fk_{t}_article_id_articles"
                     for t in ("article_versions", "article_topics", "article_entities"))
# The tables of the rows that point at a new article, written before it on PostgreSQL.
_ENRICHMENT_PG = ("article_versions", "article_topics", "article_entities", "article_bands",
                  "article_term_pairs")
# The columns of a new article row, in the order of the staging table and its COPY.
_NEW_ROW = ("url_key", "source_id", "content_hash", "first_seen_at", "fetched_at",
            "modified_at", *_ARTICLE_FIELDS)


def _keys(rec: ArticleRecord) -> list[str]:
    """Every key ``rec`` is known under, its own first. A front page is never an alias: it
    would tie every later article that redirects home to this one."""
    return [rec.url_key, *[k for k in dict.fromkeys(rec.alias_keys)
                           if k != rec.url_key and not is_front_page(k)]]


def _version(rec: ArticleRecord, content_hash: str, *, status: str = "accepted",
             reason: str | None = None) -> dict[str, Any]:
    """The ``article_versions`` row of ``rec`` (without ``article_id``): its full text."""
    return {"fetched_at": rec.fetched_at, "modified_at": rec.modified_at or rec.fetched_at,
            "content_hash": content_hash, "title": rec.title, "body": pack(rec.body),
            "highlights": pack_list(rec.highlights), "summary": rec.summary,
            "authors": rec.authors, "status": status, "reason": reason}


# The columns of a version row, in the order of its COPY.
_VERSION_COLS = ("article_id", "fetched_at", "modified_at", "content_hash", "title", "body",
                 "highlights", "summary", "authors", "status", "reason")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else naive_utc(value)


def _new_row(rec: ArticleRecord, source_id: int, content_hash: str) -> tuple[Any, ...]:
    """``rec`` as a row of the staging table (columns ``_NEW_ROW``), as the ORM would
    bind it: JSON text for JSON columns, naive UTC for times."""
    values: list[Any] = [rec.url_key, source_id, content_hash, _naive(rec.fetched_at),
                         _naive(rec.fetched_at), _naive(rec.modified_at)]
    for name in _ARTICLE_FIELDS:
        value = getattr(rec, name)
        if name in _JSON_FIELDS:
            value = json.dumps(value)
        elif isinstance(value, datetime):
            value = _naive(value)
        values.append(value)
    return tuple(values)


def _copy(cur: Any, target: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY ``rows`` into ``target`` (``table (columns)``) over psycopg's cursor."""
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
        self._source_ids: dict[str, int] = {}
        self._source_kinds: dict[str, str] = {}
        self._pg = engine.dialect.name == "postgresql"

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

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    def write_session(self) -> Session:
        """A session for a transaction that reads, then writes what it read decides: on
        SQLite it holds the write lock from its first statement (writers queue)."""
        return self._writes()

    def _insert(self, table: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table)
        return sqlite_insert(table)

    # -- sources -----------------------------------------------------------------------

    def source_id(self, name: str, kind: str = "unknown") -> int:
        """Return the id of source ``name``, creating its row on first use. A ``kind`` other
        than ``unknown`` (the source's configured kind: rss, atom, sitemap, news_sitemap,
        listing) is written to the row if it says something else; ``unknown`` never
        overwrites a known kind."""
        cached = self._source_ids.get(name)
        if cached is not None and kind in ("unknown", self._source_kinds.get(name)):
            return cached
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(SourceRow.__table__)
                .values(name=name, kind=kind, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            if kind != "unknown":
                conn.execute(update(SourceRow).where(SourceRow.name == name,
                                                     SourceRow.kind != kind).values(kind=kind))
            sid = conn.execute(select(SourceRow.id).where(SourceRow.name == name)).scalar_one()
        self._source_ids[name] = sid
        if kind != "unknown":
            self._source_kinds[name] = kind
        return sid

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

    def keys_first_seen_since(self, keys: Iterable[str], since: datetime) -> set[str]:
        """Return those of ``keys`` whose article was first seen at or after ``since``."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                found.update(conn.execute(
                    select(ArticleURL.url_key)
                    .join(Article, Article.id == ArticleURL.article_id)
                    .where(ArticleURL.url_key.in_(wanted[i : i + 500]),
                           Article.first_seen_at >= since)
                ).scalars())
        return found

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
        outcomes: list[Outcome | None] = [None] * len(records)
        to_index: list[int] = []  # articles whose text is new or changed
        with self.write_session() as session, session.begin():
            known = self._known_ids(session, [k for r in records for k in _keys(r)])
            fresh: list[int] = []
            fresh_keys: set[str] = set()
            for i, rec in enumerate(records):
                if rec.url_key in fresh_keys or any(k in known for k in _keys(rec)):
                    continue
                fresh.append(i)
                fresh_keys.add(rec.url_key)
            filer = story_filer(session, matcher)
            # Candidates are looked up before the batch's own rows exist (they would only be
            # read to be left out).
            new = [records[i] for i in fresh]
            inserted = self._insert_filed(session, filer, new, source_ids, filer.lookup(new))
            to_index.extend(inserted.values())
            for i in fresh:
                if records[i].url_key in inserted:
                    outcomes[i] = Outcome.NEW
            # Known keys, repeats within the batch, and keys another process inserted first.
            for i, rec in enumerate(records):
                if outcomes[i] is None:
                    outcomes[i], aid = self._upsert_one(session, rec, source_ids[rec.source],
                                                        matcher)
                    if outcomes[i] is not Outcome.UNCHANGED:
                        to_index.append(aid)
            search_index.queue(session.connection(), to_index)
        return [o for o in outcomes if o is not None], to_index

    def index_search(self, *, limit: int | None = None) -> int:
        """Index what waits in the search queue (PostgreSQL); return how many articles."""
        return search_index.index_pending(self.engine, limit=limit)

    def _known_ids(self, session: Session, keys: Sequence[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, int] = {}
        if self._pg:  # one index probe per key (a plan chosen on a small table scanned it)
            probe = func.unnest(pg_array(wanted, Text())).table_valued(
                column("key", Text())).render_derived(name="wanted")
            with index_lookups(session):
                found.update(session.execute(
                    select(ArticleURL.url_key, ArticleURL.article_id).select_from(probe)
                    .join(ArticleURL, ArticleURL.url_key == probe.c.key)
                ).all())
            return found
        for i in range(0, len(wanted), 1000):
            found.update(session.execute(
                select(ArticleURL.url_key, ArticleURL.article_id)
                .where(ArticleURL.url_key.in_(wanted[i:i + 1000]))
            ).all())
        return found

    def _insert_filed(self, session: Session, filer: StoryFiler,
                      records: Sequence[ArticleRecord], source_ids: dict[str, int],
                      found: Found | None) -> dict[str, int]:
        """Insert ``records`` (distinct keys unknown when the batch began) with their
        versions, aliases and enrichment, and file them under stories (``found``: what
        ``filer.lookup`` returned for them, or None); return key -> id of those inserted. A
        key another writer stored meanwhile is left out, for the caller to update."""
        if not records:
            return {}
        if self._pg:
            return self._insert_filed_pg(session, filer, records, source_ids, found)
        inserted = self._insert_new_sqlite(session, records, source_ids)
        items = [NewArticle(inserted[r.url_key], r, source_ids[r.source])
                 for r in records if r.url_key in inserted]
        # A key another writer took meanwhile shifts the items: look up again then.
        filer.file(items, found if len(items) == len(records) else None)
        return inserted

    def _insert_new_sqlite(self, session: Session, records: Sequence[ArticleRecord],
                           source_ids: dict[str, int]) -> dict[str, int]:
        """Insert ``records`` with their versions, aliases and enrichment, not yet filed;
        return key -> id of those inserted."""
        rows = []
        for rec in records:
            values: dict[str, Any] = {f: getattr(rec, f) for f in _ARTICLE_FIELDS}
            rows.append(dict(values, url_key=rec.url_key, source_id=source_ids[rec.source],
                             content_hash=rec.content_hash(), first_seen_at=rec.fetched_at,
                             fetched_at=rec.fetched_at, modified_at=rec.modified_at))
        ids: dict[str, int] = dict(session.execute(
            self._insert(Article.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["url_key"])
            .returning(Article.url_key, Article.id)
        ).all())
        done = [r for r in records if r.url_key in ids]
        if not done:
            return ids
        session.execute(insert(ArticleVersion), [
            dict(_version(r, row["content_hash"]), article_id=ids[r.url_key],
                 modified_at=r.modified_at)
            for r, row in zip(records, rows, strict=True) if r.url_key in ids])
        alias_rows = {k: ids[r.url_key] for r in done for k in _keys(r)}
        session.execute(
            self._insert(ArticleURL.__table__)
            .values([{"url_key": k, "article_id": a} for k, a in alias_rows.items()])
            .on_conflict_do_nothing(index_elements=["url_key"]))
        self._insert_enrichment(session, [(ids[r.url_key], r) for r in done])
        return ids

    def _insert_filed_pg(self, session: Session, filer: StoryFiler,
                         records: Sequence[ArticleRecord], source_ids: dict[str, int],
                         found: Found | None) -> dict[str, int]:
        """:meth:`_insert_filed` on PostgreSQL. Each article row is written once, with its
        story: ids are taken from the sequence first; the rows are COPYed into a staging
        table and the rows that only point at them (versions, topics, entities, LSH bands,
        headline pairs; their foreign keys checked at commit) straight into their tables,
        all before the story lock; under it, keys that another writer stored meanwhile are
        dropped (new articles are only inserted under the lock, so the check is exact), the
        rest are filed and go into ``articles`` with one INSERT … SELECT from the staging
        table. Filing used to UPDATE every new row after its INSERT: a second copy of the
        row and of its nine index entries, and a dead row for VACUUM."""
        raw = session.connection().connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute(f"SET CONSTRAINTS {', '.join(DEFERRED_FKS)} DEFERRED")
        cols = ", ".join(_NEW_ROW)
        cur.execute("SELECT to_regclass('pg_temp.newsmon_new_rows') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("DELETE FROM newsmon_new_rows")  # from an earlier call in this tx
        else:
            self._create_staging(cur, cols)
        cur.execute("SELECT nextval(pg_get_serial_sequence('articles', 'id')) "
                    "FROM generate_series(1, %s)", (len(records),))
        ids = {r.url_key: int(i) for r, (i,) in zip(records, cur.fetchall(), strict=True)}
        hashes = {r.url_key: r.content_hash() for r in records}
        with cur.copy(f"COPY newsmon_new_rows (id, {cols}) FROM STDIN") as copy:
            for rec in records:
                copy.write_row((ids[rec.url_key],
                                *_new_row(rec, source_ids[rec.source], hashes[rec.url_key])))
        self._copy_enrichment(cur, [(ids[r.url_key], r) for r in records], hashes)

        filer.lock()
        taken = self._known_ids(session, list(ids))
        if taken:  # stored by another writer since the batch began: theirs to update
            gone = array_literal(ids[k] for k in taken)
            cur.execute("DELETE FROM newsmon_new_rows WHERE id = ANY(%s::bigint[])", (gone,))
            for table in _ENRICHMENT_PG:
                cur.execute(f"DELETE FROM {table} WHERE article_id = ANY(%s::bigint[])", (gone,))
            records = [r for r in records if r.url_key not in taken]
            found = None  # the lookups' items shifted: look up again
            if not records:
                return {}
        filed = filer.assign(
            [NewArticle(ids[r.url_key], r, source_ids[r.source]) for r in records], found)
        # No ON CONFLICT: under the lock, after the check above, a key taken meanwhile is a
        # bug, and the unique key stops it (the transaction rolls back).
        cur.execute(
            f"INSERT INTO articles (id, {cols}, story_id, duplicate_of_id, filed_seq) "
            f"SELECT n.id, {', '.join('n.' + c for c in _NEW_ROW)}, v.s, v.d, "
            "nextval('article_filing_seq') FROM newsmon_new_rows n JOIN "
            "unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(a, s, d) ON n.id = v.a",
            tuple(array_literal(row[k] for row in filed.rows) for k in range(3)))
        aliases = {k: ids[r.url_key] for r in records for k in _keys(r)}
        cur.execute("INSERT INTO article_urls (url_key, article_id) "
                    "SELECT * FROM unnest(%s::text[], %s::bigint[]) "
                    "ON CONFLICT (url_key) DO NOTHING",
                    (array_literal(aliases), array_literal(aliases.values())))
        filer.finish(filed)
        return {r.url_key: ids[r.url_key] for r in records}

    @staticmethod
    def _create_staging(cur: Any, cols: str) -> None:
        """The staging table of new article rows (one per connection, emptied at commit). Its
        long texts are compressed as ``articles`` compresses them (lz4, revision 0005): the
        INSERT … SELECT keeps a value compressed the way it was, and the table default
        (pglz) cost ~130 ms a batch of 1,000 articles and left the articles' bodies pglz."""
        cur.execute(f"CREATE TEMP TABLE newsmon_new_rows ON COMMIT DELETE ROWS "
                    f"AS SELECT id, {cols} FROM articles WITH NO DATA")
        cur.execute("SELECT attname, attcompression FROM pg_attribute "
                    "WHERE attrelid = 'articles'::regclass AND attcompression IN ('p', 'l')")
        for name, method in cur.fetchall():
            if name not in _NEW_ROW:
                continue
            cur.execute(f"ALTER TABLE newsmon_new_rows ALTER COLUMN {name} "
                        f"SET COMPRESSION {'lz4' if method == 'l' else 'pglz'}")

    def _copy_enrichment(self, cur: Any, done: Sequence[tuple[int, ArticleRecord]],
                         hashes: dict[str, str]) -> None:
        """COPY the rows that point at new articles ``done`` (id, record) into their
        tables (PostgreSQL)."""
        versions = ((a, dict(_version(r, hashes[r.url_key]), modified_at=r.modified_at))
                    for a, r in done)
        _copy(cur, f"article_versions ({', '.join(_VERSION_COLS)})",
              ((a, _naive(v["fetched_at"]), _naive(v["modified_at"]), v["content_hash"],
                v["title"], v["body"], v["highlights"], v["summary"], json.dumps(v["authors"]),
                v["status"], v["reason"]) for a, v in versions))
        _copy(cur, "article_topics (article_id, topic, score)",
              ((a, t, sc) for a, r in done for t, sc in r.topics.items()))
        _copy(cur, "article_entities (article_id, entity_id, mentions)",
              ((a, e, n) for a, r in done for e, n in r.entities.items()))
        _copy(cur, "article_bands (bucket, article_id, band)",
              ((b, a, i) for a, r in done
               for b, i in {b: i for i, b in enumerate(r.bands)}.items()))
        _copy(cur, "article_term_pairs (pair, article_id, at)",
              ((p, a, at) for a, r in done for at in [_naive(r.published_at or r.fetched_at)]
               for p in headline_pairs(r.title_terms)))

    def _upsert_one(self, session: Session, rec: ArticleRecord, source_id: int,
                    matcher: StoryMatcher | None) -> tuple[Outcome, int]:
        """The careful path for one record: insert if new, else update or leave it; returns
        what happened and the article's id.

        A record with new content for a stored article replaces it only if
        :func:`storage.revisions.judge` finds it no worse than the stored text; otherwise the
        article (text, topics, URL, aliases) is left as it was and the record is kept as a
        rejected version with the reason (see :meth:`_reject`)."""
        chash = rec.content_hash()
        keys = _keys(rec)
        known = dict(session.execute(
            select(ArticleURL.url_key, ArticleURL.article_id).where(ArticleURL.url_key.in_(keys))
        ).all())
        # The record's own key first: an alias may name another article (a redirect).
        existing_id = next((known[k] for k in keys if k in known), None)
        if existing_id is None:
            inserted = self._insert_filed(session, story_filer(session, matcher), [rec],
                                          {rec.source: source_id}, None)
            if rec.url_key in inserted:
                return Outcome.NEW, inserted[rec.url_key]
            # Another process stored this key between our read and our write (as an
            # article's own key, or on PostgreSQL also as one of its aliases).
            existing_id = session.execute(
                select(ArticleURL.article_id).where(ArticleURL.url_key == rec.url_key)
            ).scalar_one()
        values: dict[str, Any] = {f: getattr(rec, f) for f in _ARTICLE_FIELDS}
        article = session.get(Article, existing_id, with_for_update={"of": Article})
        assert article is not None
        if article.content_hash == chash:
            self._add_aliases(session, article.id, keys)
            return Outcome.UNCHANGED, article.id
        reason = judge(Stored(title=article.title, body=article.body), rec)
        if reason is not None:
            self._reject(session, article.id, rec, chash, reason)
            return Outcome.REJECTED, article.id
        self._add_aliases(session, article.id, keys)
        modified = rec.modified_at or rec.fetched_at
        for name, value in values.items():
            if name in ("published_at", "published_raw", "published_precision", "published_date",
                        "published_source") and article.published_at is not None and (
                            value is None):
                continue  # never lose a publication time we had
            setattr(article, name, value)
        article.content_hash = chash
        article.modified_at = modified
        article.fetched_at = rec.fetched_at
        session.flush()
        self._write_enrichment(session, article.id, rec, replace=True)
        session.add(ArticleVersion(article_id=article.id, **_version(rec, chash)))
        return Outcome.UPDATED, article.id

    def _reject(self, session: Session, article_id: int, rec: ArticleRecord, chash: str,
                reason: str) -> None:
        """Keep ``rec`` as a rejected version of article ``article_id``, unless the article's
        latest version is already a rejection of that kind, or this content was rejected
        before: a wall served on every run (with a new Ray ID or reference each time) is kept
        once."""
        logger.warning("%s: re-fetch of %s not stored over the article (%s)", rec.source,
                       rec.url, reason)
        latest = session.execute(
            select(ArticleVersion.status, ArticleVersion.reason)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.id.desc()).limit(1)).first()
        if latest is not None and latest[0] == "rejected" and (
                reason_kind(latest[1] or "") == reason_kind(reason)):
            return
        seen = session.execute(select(ArticleVersion.id).where(
            ArticleVersion.article_id == article_id, ArticleVersion.content_hash == chash,
            ArticleVersion.status == "rejected").limit(1)).scalar()
        if seen is None:
            session.add(ArticleVersion(article_id=article_id,
                                       **_version(rec, chash, status="rejected", reason=reason)))

    def _write_enrichment(
        self, session: Session, article_id: int, rec: ArticleRecord, *, replace: bool
    ) -> None:
        if replace:
            for table in (ArticleTopic, ArticleEntity, ArticleBand, ArticleTermPair):
                session.execute(delete(table).where(table.article_id == article_id))
        self._insert_enrichment(session, [(article_id, rec)])

    def _insert_enrichment(self, session: Session,
                           items: Sequence[tuple[int, ArticleRecord]]) -> None:
        topics = [{"article_id": a, "topic": t, "score": sc}
                  for a, r in items for t, sc in r.topics.items()]
        entities = [{"article_id": a, "entity_id": e, "mentions": n}
                    for a, r in items for e, n in r.entities.items()]
        bands = {(b, a): i for a, r in items for i, b in enumerate(r.bands)}
        terms = [{"pair": p, "article_id": a, "at": r.published_at or r.fetched_at}
                 for a, r in items for p in headline_pairs(r.title_terms)]
        if terms:
            session.execute(insert(ArticleTermPair), terms)
        if topics:
            session.execute(insert(ArticleTopic), topics)
        if entities:
            session.execute(insert(ArticleEntity), entities)
        if bands:
            session.execute(insert(ArticleBand), [
                {"bucket": b, "article_id": a, "band": i} for (b, a), i in bands.items()])

    def _add_aliases(self, session: Session, article_id: int, keys: Sequence[str]) -> None:
        rows = [{"url_key": k, "article_id": article_id} for k in dict.fromkeys(keys)]
        session.execute(
            self._insert(ArticleURL.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["url_key"])
        )

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

    def article_by_url(self, url_key: str) -> Article | None:
        with self.session() as session:
            return session.execute(
                select(Article).join(ArticleURL, ArticleURL.article_id == Article.id)
                .where(ArticleURL.url_key == url_key)
            ).unique().scalar_one_or_none()

    # -- crawl runs --------------------------------------------------------------------

    def start_run(self, source: str, started_at: datetime | None = None) -> int:
        with self.session() as session, session.begin():
            run = CrawlRun(
                source_name=source, started_at=started_at or utcnow(), status="running",
                host=socket.gethostname(), pid=os.getpid(),
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, stats: RunStats) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(CrawlRun).where(CrawlRun.id == run_id).values(
                    status=status, finished_at=utcnow(), requests=stats.requests,
                    bytes=stats.bytes, pages=stats.pages, new=stats.new,
                    updated=stats.updated, unchanged=stats.unchanged, dropped=stats.dropped,
                    errors=stats.errors, first_error=stats.first_error,
                )
            )

    def runs(self, source: str | None = None, limit: int = 50) -> list[CrawlRun]:
        stmt = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(CrawlRun.source_name == source)
        with self.session() as session:
            return list(session.execute(stmt).scalars())

    # -- conditional GET ---------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(HttpValidator.etag, HttpValidator.last_modified)
                .where(HttpValidator.url == url)
            ).first()
        return (row[0], row[1]) if row else (None, None)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        stmt = self._insert(HttpValidator.__table__).values(
            url=url, etag=etag, last_modified=last_modified, checked_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["url"],
            set_={"etag": etag, "last_modified": last_modified, "checked_at": utcnow()},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
