"""The PostgreSQL search index: vectors of queued articles, written outside the ingest path.

Contract: the storage layer queues an article (``search_queue``) in the transaction that
inserts it or changes its text; :func:`index_pending` computes the ``tsvector`` of queued
articles into ``search_docs`` and takes them off the queue, in batches, each batch one
transaction. Several indexers may run at once (``FOR UPDATE SKIP LOCKED``): each article is
indexed by one of them, and an indexer killed mid-batch leaves its batch queued. Indexing an
article twice is harmless (the row is replaced); an article deleted after it was queued is
skipped. On SQLite every function here is a no-op: FTS5 triggers keep that index in sync.

Weights: title A, highlights B, body C in ``search_vector`` (matching); title A, highlights B
in ``headline_vector`` (ranking), English stemming — as ``storage.query_language.TS_CONFIG``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import BigInteger

BATCH = 500

_HEADLINE = ("setweight(to_tsvector('english'::regconfig, coalesce(a.title, '')), 'A') || "
             "setweight(to_tsvector('english'::regconfig, a.highlights), 'B')")
_BODY = "setweight(to_tsvector('english'::regconfig, coalesce(a.body, '')), 'C')"
_DATED = "coalesce(a.published_at, a.first_seen_at)"
# The headline's vector is computed once (OFFSET 0 keeps the planner from copying the
# expression into both places) and is both the ranking vector and the start of the full one.
_VECTORS = f"""
    SELECT a.id, h.v, h.v || {_BODY}, {_DATED}
    FROM articles AS a CROSS JOIN LATERAL (SELECT {_HEADLINE} AS v OFFSET 0) AS h"""
_UPSERT = """
    ON CONFLICT (article_id) DO UPDATE
        SET headline_vector = excluded.headline_vector, search_vector = excluded.search_vector,
            dated_at = excluded.dated_at"""

# Take up to :n queued ids no other indexer holds, index them, and unqueue them.
_INDEX_NEXT = text(f"""
WITH taken AS (
    DELETE FROM search_queue
    WHERE article_id IN (SELECT article_id FROM search_queue ORDER BY article_id
                         LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING article_id
), written AS (
    INSERT INTO search_docs (article_id, headline_vector, search_vector, dated_at)
    {_VECTORS} JOIN taken AS t ON t.article_id = a.id
    {_UPSERT}
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written)
""")

# The same for given ids, whether or not they are queued (the writer indexing its own batch).
_INDEX_IDS = text(f"""
WITH taken AS (
    DELETE FROM search_queue WHERE article_id = ANY(:ids) RETURNING article_id
)
INSERT INTO search_docs (article_id, headline_vector, search_vector, dated_at)
{_VECTORS} WHERE a.id = ANY(:ids)
{_UPSERT}
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def enabled(bind: Engine | Connection) -> bool:
    """Whether this database has a queued search index (PostgreSQL) rather than triggers."""
    return bind.dialect.name == "postgresql"


def queue(conn: Connection, article_ids: Sequence[int]) -> None:
    """Queue ``article_ids`` for indexing, inside the caller's transaction."""
    if not article_ids or not enabled(conn):
        return
    conn.execute(text(
        "INSERT INTO search_queue (article_id) SELECT unnest(:ids) ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("ids", type_=ARRAY(BigInteger))), {"ids": list(article_ids)})


def queue_all(engine: Engine) -> int:
    """Queue every stored article (after a bulk copy); return how many are queued."""
    if not enabled(engine):
        return 0
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO search_queue (article_id) SELECT id FROM articles "
                          "ON CONFLICT DO NOTHING"))
        return int(conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one())


def index_ids(engine: Engine, article_ids: Sequence[int]) -> None:
    """Index ``article_ids`` now, in one transaction, and take them off the queue."""
    if not article_ids or not enabled(engine):
        return
    with engine.begin() as conn:
        conn.execute(_INDEX_IDS, {"ids": list(article_ids)})


def pending(engine: Engine) -> int:
    """How many articles wait to be indexed (0 on SQLite)."""
    if not enabled(engine):
        return 0
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one())


def index_pending(engine: Engine, *, batch: int = BATCH, limit: int | None = None,
                  progress: Callable[[int], None] | None = None,
                  stop: Callable[[], bool] | None = None) -> int:
    """Index queued articles until the queue is empty (or ``limit`` are done, or ``stop()``
    says so between batches); return how many were taken off the queue. ``progress`` is
    called with the size of each batch done."""
    if not enabled(engine):
        return 0
    done = 0
    while (limit is None or done < limit) and not (stop is not None and stop()):
        n = batch if limit is None else min(batch, limit - done)
        with engine.begin() as conn:
            taken, _written = conn.execute(_INDEX_NEXT, {"n": n}).one()
        if not taken:
            break
        done += int(taken)
        if progress is not None:
            progress(int(taken))
    return done
