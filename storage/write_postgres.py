"""Writing articles on PostgreSQL: COPY through a staging table, foreign keys checked at commit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from storage.article import JSON_COLUMNS, ArticleRecord
from storage.models import ArticleURL
from storage.stories import Found, NewArticle, StoryFiler, headline_pairs, index_lookups
from storage.types import array_literal, naive_utc, pg_array
from storage.write import _ARTICLE_FIELDS, ArticleWriter, record_keys, version_row

_JSON_FIELDS = frozenset(JSON_COLUMNS)
# The foreign keys to ``articles`` (deferrable, revision 0007) that a batch checks at
# commit, so that these rows can be written before their articles.
DEFERRED_FKS = tuple(f"fk_{t}_article_id_articles"
                     for t in ("article_versions", "article_topics", "article_entities"))
# The tables of the rows that point at a new article, written before it.
_ENRICHMENT_PG = ("article_versions", "article_topics", "article_entities", "article_bands",
                  "article_term_pairs", "article_story_keys")
# The columns of a new article row, in the order of the staging table and its COPY.
_NEW_ROW = ("url_key", "source_id", "content_hash", "first_seen_at", "fetched_at",
            "modified_at", *_ARTICLE_FIELDS)
# The columns of a version row, in the order of its COPY.
_VERSION_COLS = ("article_id", "fetched_at", "modified_at", "content_hash", "title", "body",
                 "highlights", "summary", "authors", "status", "reason")


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


class PostgresWriter(ArticleWriter):
    """:class:`~storage.write.ArticleWriter` on PostgreSQL: each new article row is written
    once, with its story (see :meth:`insert_new`)."""

    def insert(self, table: Any) -> Any:
        return pg_insert(table)

    def known_ids(self, session: Session, keys: Sequence[str]) -> dict[str, int]:
        # One index probe per key (a plan chosen on a small table scanned it).
        wanted = list(dict.fromkeys(keys))
        probe = func.unnest(pg_array(wanted, Text())).table_valued(
            column("key", Text())).render_derived(name="wanted")
        with index_lookups(session):
            return dict(session.execute(
                select(ArticleURL.url_key, ArticleURL.article_id).select_from(probe)
                .join(ArticleURL, ArticleURL.url_key == probe.c.key)
            ).all())

    def insert_new(self, session: Session, filer: StoryFiler, records: Sequence[ArticleRecord],
                   source_ids: dict[str, int], found: Found | None) -> dict[str, int]:
        """Ids are taken from the sequence first; the rows are COPYed into a staging
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
        taken = self.known_ids(session, list(ids))
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
        aliases = {k: ids[r.url_key] for r in records for k in record_keys(r)}
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

    @staticmethod
    def _copy_enrichment(cur: Any, done: Sequence[tuple[int, ArticleRecord]],
                         hashes: dict[str, str]) -> None:
        """COPY the rows that point at new articles ``done`` (id, record) into their
        tables."""
        versions = ((a, dict(version_row(r, hashes[r.url_key]), modified_at=r.modified_at))
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
        _copy(cur, "article_story_keys (key, article_id, at)",
              ((k, a, at) for a, r in done for at in [_naive(r.published_at or r.fetched_at)]
               for k in dict.fromkeys(r.story_keys)))
