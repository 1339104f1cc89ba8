"""Sources, crawl runs and HTTP validators: the bookkeeping rows around the articles."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import sessionmaker

from storage.engine import WRITES
from storage.models import CrawlRun, HttpValidator, SourceRow
from storage.records import RunStats


def utcnow() -> datetime:
    return datetime.now(UTC)


class SourcesRuns:
    """The ``sources``, ``crawl_runs`` and ``http_validators`` tables of one database.

    ``insert`` makes an INSERT of the database's dialect that takes ON CONFLICT (the
    writer's, :meth:`storage.write.ArticleWriter.insert`). Source ids are cached per
    instance. Each method is one transaction."""

    def __init__(self, engine: Engine, insert: Callable[[Any], Any]) -> None:
        self.engine = engine
        # Writes begin with SQLite's BEGIN IMMEDIATE and queue for the lock (storage.engine):
        # a plain deferred write gave up after one busy_timeout beside other crawls' batches.
        self._writes = engine.execution_options(**{WRITES: True})
        self._insert = insert
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writes, expire_on_commit=False)
        self._source_ids: dict[str, int] = {}
        self._source_kinds: dict[str, str] = {}

    # -- sources -----------------------------------------------------------------------

    def source_id(self, name: str, kind: str = "unknown") -> int:
        """See :meth:`storage.store.Store.source_id`."""
        cached = self._source_ids.get(name)
        if cached is not None and kind in ("unknown", self._source_kinds.get(name)):
            return cached
        with self._writes.begin() as conn:
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

    # -- crawl runs --------------------------------------------------------------------

    def start_run(self, source: str, started_at: datetime | None = None) -> int:
        """Open a ``running`` run of ``source`` (this host and process); return its id."""
        with self._write_sessions() as session, session.begin():
            run = CrawlRun(
                source_name=source, started_at=started_at or utcnow(), status="running",
                host=socket.gethostname(), pid=os.getpid(),
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, stats: RunStats) -> None:
        """Close run ``run_id`` with ``status`` and its counts."""
        with self._writes.begin() as conn:
            conn.execute(
                update(CrawlRun).where(CrawlRun.id == run_id).values(
                    status=status, finished_at=utcnow(), requests=stats.requests,
                    bytes=stats.bytes, pages=stats.pages, new=stats.new,
                    updated=stats.updated, unchanged=stats.unchanged, dropped=stats.dropped,
                    errors=stats.errors, first_error=stats.first_error,
                    blocked=stats.blocked, pending=stats.pending,
                )
            )

    def runs(self, source: str | None = None, limit: int = 50) -> list[CrawlRun]:
        """The latest ``limit`` runs (of ``source``, if given), newest first."""
        stmt = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(CrawlRun.source_name == source)
        with self._sessions() as session:
            return list(session.execute(stmt).scalars())

    # -- conditional GET ---------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified kept for ``url``, or Nones."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(HttpValidator.etag, HttpValidator.last_modified)
                .where(HttpValidator.url == url)
            ).first()
        return (row[0], row[1]) if row else (None, None)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """Keep ``etag`` and ``last_modified`` for ``url``, replacing what was kept."""
        stmt = self._insert(HttpValidator.__table__).values(
            url=url, etag=etag, last_modified=last_modified, checked_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["url"],
            set_={"etag": etag, "last_modified": last_modified, "checked_at": utcnow()},
        )
        with self._writes.begin() as conn:
            conn.execute(stmt)
