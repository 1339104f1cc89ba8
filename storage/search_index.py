"""The search index, on any database: queue, index, count; and the pick of search back-end.

Contract: the storage layer queues an article in the transaction that inserts it or changes
its text (:func:`queue`); :func:`index_pending` indexes queued articles in batches, each
batch one transaction, and several indexers may run at once. On PostgreSQL that is the
``search_queue`` and ``search_docs`` of ``storage.search_postgres``; on SQLite every function
here is a no-op: FTS5 triggers keep that index in sync (``storage.search_sqlite``).

:func:`backend_for` is the one place that picks a database's search back-end, for querying
(``storage.search``) and for the index alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from sqlalchemy.engine import Connection, Engine

from storage.search_base import SearchBackend
from storage.search_sqlite import SqliteSearch

BATCH = 500

_SQLITE = SqliteSearch()


@cache
def _postgres() -> SearchBackend:
    """The PostgreSQL back-end, imported (with SQLAlchemy's PostgreSQL dialect) on first use:
    a command on SQLite never loads it."""
    from storage.search_postgres import PostgresSearch

    return PostgresSearch()


def backend_for(bind: Engine | Connection) -> SearchBackend:
    """The search back-end of ``bind``'s database."""
    return _postgres() if bind.dialect.name == "postgresql" else _SQLITE


def enabled(bind: Engine | Connection) -> bool:
    """Whether this database has a queued search index (PostgreSQL) rather than triggers."""
    return backend_for(bind).queued


def queue(conn: Connection, article_ids: Sequence[int]) -> None:
    """Queue ``article_ids`` for indexing, inside the caller's transaction."""
    backend_for(conn).queue(conn, article_ids)


def queue_all(engine: Engine) -> int:
    """Queue every stored article (after a bulk copy); return how many are queued."""
    return backend_for(engine).queue_all(engine)


def index_ids(engine: Engine, article_ids: Sequence[int]) -> None:
    """Index ``article_ids`` now, in one transaction, and take them off the queue."""
    backend_for(engine).index_ids(engine, article_ids)


def pending(engine: Engine) -> int:
    """How many articles wait to be indexed (0 on SQLite)."""
    return backend_for(engine).pending(engine)


def index_pending(engine: Engine, *, batch: int = BATCH, limit: int | None = None,
                  progress: Callable[[int], None] | None = None,
                  stop: Callable[[], bool] | None = None) -> int:
    """Index queued articles until the queue is empty (or ``limit`` are done, or ``stop()``
    says so between batches); return how many were taken off the queue. ``progress`` is
    called with the size of each batch done."""
    return backend_for(engine).index_pending(engine, batch=batch, limit=limit,
                                             progress=progress, stop=stop)
