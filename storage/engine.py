"""Create the SQLAlchemy engine for a database URL: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

logger = logging.getLogger(__name__)

#: Execution option of a connection whose transactions write (``engine.execution_options(
#: **{WRITES: True})``). On SQLite such a transaction begins with BEGIN IMMEDIATE: it takes
#: the file's write lock before its first read, so what it looks up (story candidates, known
#: keys) cannot change under it, and writers queue on the lock instead of each reading alone.
WRITES = "newsmon_writes"
#: SQLite busy_timeout (ms): how long one statement waits for the file lock.
BUSY_TIMEOUT_MS = 5000
#: How many busy_timeout waits a writer's BEGIN IMMEDIATE takes before it gives up: writers
#: queue behind each other for up to BUSY_TIMEOUT_MS * BEGIN_ATTEMPTS (60 s).
BEGIN_ATTEMPTS = 12


#: The databases newsmon has a storage implementation for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class StorageError(Exception):
    """The database cannot be used; the message says which and how to fix it."""


class MissingDatabase(StorageError):
    """A SQLite file that a reading command was asked to open does not exist (and is not
    created: a mistyped path must not turn into an empty database that answers "nothing")."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"no SQLite database at {path}: the file does not exist")


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"database URL {url!r} is not valid: {exc}") from None
    # Plain postgresql:// would pick psycopg2, which we do not ship; use psycopg 3.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise StorageError(
            f"database URL {parsed.render_as_string()!r}: newsmon stores into SQLite "
            "(sqlite:///relative/path.db or sqlite:////absolute/path.db) or PostgreSQL "
            f"(postgresql://user@host/db), not {parsed.get_backend_name()}")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # One statement waits this long for the file lock; a writer's BEGIN IMMEDIATE retries
    # (_sqlite_begin). Crawls write from their database thread (crawler/dbthread.py), so a
    # wait holds back that crawl's writes, never its downloads.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin a writing transaction on SQLite with BEGIN IMMEDIATE, waiting for the write lock
    (logged, bounded); other transactions keep pysqlite's own deferred begin. Nothing has run
    in the transaction yet, so a BEGIN that timed out is simply tried again."""
    if not conn.get_execution_options().get(WRITES):
        return
    for attempt in range(1, BEGIN_ATTEMPTS + 1):
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or attempt == BEGIN_ATTEMPTS:
                raise
            logger.warning("SQLite database %s is locked by another writer for %d s; "
                           "waiting again (%d of %d)", conn.engine.url.database,
                           attempt * BUSY_TIMEOUT_MS // 1000, attempt, BEGIN_ATTEMPTS - 1)


def make_engine(url: str, *, create: bool = True, **kwargs: Any) -> Engine:
    """Return an engine for ``url``. A SQLite file's folder is created when ``create`` is
    true; otherwise a SQLite file that does not exist raises :class:`MissingDatabase` and
    nothing is written on disk."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db).expanduser()
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.is_file():
                raise MissingDatabase(path.absolute())
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise StorageError(f"no database driver for {parsed.drivername!r}: {exc}") from None
    except ImportError as exc:
        raise ImportError(
            "PostgreSQL support requires psycopg installed: pip install '.[postgres]' "
            "from the newsmon checkout"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def dialect_insert(engine: Engine, table: Any) -> Any:
    """An INSERT for ``table`` with the dialect's ``on_conflict_do_*`` (PostgreSQL or SQLite)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
