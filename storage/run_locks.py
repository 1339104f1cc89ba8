"""Per-source run locks: at most one crawl of a source at a time, whoever starts it.

A crawl holds its source's ``source_run_locks`` row (command, host, pid, since, heartbeat)
from before it starts until it ends; ``newsmon crawl``, the service's runs and workers all take
it (``crawler.runner``), so a second crawl of a running source is refused with
:class:`SourceBusy`, which names the source and the holder. A holder that died without
releasing it (kill -9, a lost machine) does not keep it: on its own host a row whose pid no
longer exists is taken over at once, elsewhere a row whose heartbeat is older than
``stale_after``. Taking and taking over are one transaction each (BEGIN IMMEDIATE on SQLite, a
row lock or the primary key on PostgreSQL), so two crawls racing for a source cannot both win.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from storage.engine import WRITES
from storage.scheduler_models import SourceRunLock

logger = logging.getLogger(__name__)

#: How often a running crawl refreshes its heartbeat, and when another host may take over.
HEARTBEAT = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SourceBusy(Exception):
    """Another live crawl holds this source's run lock."""

    def __init__(self, source: str, command: str, host: str, pid: int,
                 since: datetime) -> None:
        self.source = source
        self.pid = pid
        self.host = host
        super().__init__(
            f"source {source!r} is already being crawled by {command} (pid {pid} on host "
            f"{host}, since {since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC); not crawled "
            "again until that crawl ends")


class SourceRunLocks:
    """The run locks this process holds, on one database."""

    def __init__(self, engine: Engine, command: str, *, host: str | None = None,
                 pid: int | None = None, stale_after: timedelta = STALE_AFTER,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.command = command
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.stale_after = stale_after
        self.clock = clock
        self.token = str(uuid.uuid4())
        self.held: set[str] = set()

    def _stale(self, row: Any, now: datetime) -> bool:
        if row.host == self.host and not pid_alive(row.pid):
            return True
        return bool(now - row.heartbeat_at > self.stale_after)

    def acquire(self, source: str) -> None:
        """Take ``source``'s run lock, or raise :class:`SourceBusy` naming its holder."""
        now = self.clock()
        values = {"token": self.token, "command": self.command, "host": self.host,
                  "pid": self.pid, "started_at": now, "heartbeat_at": now}
        try:
            with self.engine.execution_options(**{WRITES: True}).begin() as conn:
                stmt = select(SourceRunLock).where(SourceRunLock.source_name == source)
                if conn.dialect.name == "postgresql":
                    stmt = stmt.with_for_update()
                row = conn.execute(stmt).one_or_none()
                if row is None:
                    conn.execute(insert(SourceRunLock).values(source_name=source, **values))
                elif self._stale(row, now):
                    logger.warning("%s: taking over the run lock of %s (pid %d on host %s, "
                                   "last heartbeat %s UTC), which is gone", source,
                                   row.command, row.pid, row.host,
                                   f"{row.heartbeat_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
                    conn.execute(update(SourceRunLock).where(
                        SourceRunLock.source_name == source,
                        SourceRunLock.token == row.token).values(**values))
                else:
                    raise SourceBusy(source, row.command, row.host, row.pid, row.started_at)
        except IntegrityError:
            # PostgreSQL: another crawl inserted the row first, in a transaction of its own.
            holder = self.holder(source)
            if holder is None:
                raise
            raise holder from None
        self.held.add(source)

    def holder(self, source: str) -> SourceBusy | None:
        """Who holds ``source``'s lock, as the refusal it means (None: nobody)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(SourceRunLock).where(
                SourceRunLock.source_name == source)).one_or_none()
        if row is None:
            return None
        return SourceBusy(source, row.command, row.host, row.pid, row.started_at)

    def beat(self) -> None:
        """Refresh the heartbeat of every lock held (logged, never raised: the next beat
        tries again)."""
        if not self.held:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(update(SourceRunLock).where(
                    SourceRunLock.token == self.token).values(heartbeat_at=self.clock()))
        except SQLAlchemyError as exc:
            logger.error("cannot refresh the run locks of %s (will retry): %s",
                         ", ".join(sorted(self.held)), exc)

    def release(self, sources: Iterable[str] | None = None) -> None:
        """Give up the locks of ``sources`` (default: all held); a failure is logged, and
        the row then expires as a dead holder's would."""
        names = sorted(self.held if sources is None else set(sources) & self.held)
        if not names:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(SourceRunLock).where(
                    SourceRunLock.token == self.token,
                    SourceRunLock.source_name.in_(names)))
        except SQLAlchemyError as exc:
            logger.error("cannot release the run locks of %s: %s", ", ".join(names), exc)
        self.held.difference_update(names)
