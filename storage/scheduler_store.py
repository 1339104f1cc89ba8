"""SchedulerStore: the queries of the background service and of ``newsmon runs/sources/status``.

Every method is one transaction. The lock methods are compare-and-swap operations on the single
``scheduler_lock`` row (insert if absent, replace only the token we read, refresh or delete only
our own token), so two services racing for one database cannot both win. ``crawl_runs`` stays
the history: consecutive failures and the last success are computed from it, so runs made by
``newsmon crawl`` count as much as the service's own.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, func, insert, literal, select, update

from storage.engine import dialect_insert
from storage.hosts import HostStore
from storage.models import Article, CrawlRun, HttpValidator, SourceRow
from storage.pending_models import PendingPage
from storage.scheduler_models import SchedulerLock, SourceState
from storage.source_history import FAILURE as FAILURE
from storage.source_history import SUCCESS as SUCCESS
from storage.source_history import Publishing as Publishing
from storage.source_history import SourceHistory as SourceHistory
from storage.source_history import SourceHistoryQueries
from storage.types import UTCDateTime

logger = logging.getLogger(__name__)

LOCK_ID = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The service holding (or trying to take) the database's scheduler lock."""

    token: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class SourceStateView:
    """A copy of one ``source_state`` row."""

    source_name: str
    schedule_key: str
    schedule: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    backed_off_until: datetime | None


@dataclass(frozen=True, slots=True)
class RunView:
    """One crawl run as ``newsmon runs`` shows it."""

    id: int
    source: str
    started: datetime
    finished: datetime | None
    status: str
    requests: int
    bytes: int
    new: int
    updated: int
    unchanged: int
    dropped: int
    errors: int
    first_error: str | None
    blocked: int = 0
    pending: int = 0  # entries kept without an article (refused page, no title)

    @property
    def seconds(self) -> float | None:
        if self.finished is None:
            return None
        return round((self.finished - self.started).total_seconds(), 1)


class SchedulerStore(SourceHistoryQueries):
    """The service's tables and the run-history views, on an engine the caller owns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, table: Any) -> Any:
        return dialect_insert(self.engine, table)

    # -- the lock row ------------------------------------------------------------------

    def try_insert_lock(self, holder: LockHolder) -> bool:
        """Create the lock row for ``holder``; False if some service already has one."""
        stmt = self._insert(SchedulerLock.__table__).values(
            id=LOCK_ID, token=holder.token, host=holder.host, pid=holder.pid,
            started_at=holder.started_at, heartbeat_at=holder.heartbeat_at,
        ).on_conflict_do_nothing(index_elements=["id"]).returning(SchedulerLock.id)
        # RETURNING, not rowcount: psycopg reports 1 for an insert that did nothing.
        with self.engine.begin() as conn:
            return conn.execute(stmt).scalar() is not None

    def lock_holder(self) -> LockHolder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(
                SchedulerLock.token, SchedulerLock.host, SchedulerLock.pid,
                SchedulerLock.started_at, SchedulerLock.heartbeat_at,
            ).where(SchedulerLock.id == LOCK_ID)).first()
        return LockHolder(*row) if row is not None else None

    def take_over_lock(self, old_token: str, holder: LockHolder) -> bool:
        """Replace the lock row if it still carries ``old_token``; False if it changed."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(SchedulerLock)
                .where(SchedulerLock.id == LOCK_ID, SchedulerLock.token == old_token)
                .values(token=holder.token, host=holder.host, pid=holder.pid,
                        started_at=holder.started_at, heartbeat_at=holder.heartbeat_at)
            )
            return bool(result.rowcount)

    def heartbeat(self, token: str, at: datetime | None = None) -> bool:
        """Refresh our lock row; False if it is no longer ours (taken over or deleted)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(SchedulerLock)
                .where(SchedulerLock.id == LOCK_ID, SchedulerLock.token == token)
                .values(heartbeat_at=at or utcnow())
            )
            return bool(result.rowcount)

    def release_lock(self, token: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(SchedulerLock)
                .where(SchedulerLock.id == LOCK_ID, SchedulerLock.token == token)
            )
            return bool(result.rowcount)

    # -- crawl runs --------------------------------------------------------------------

    def open_run(self, source: str, *, started_at: datetime | None = None,
                 host: str | None = None, pid: int | None = None) -> int:
        """Insert a ``running`` crawl_runs row before its crawl process exists; its id."""
        with self.engine.begin() as conn:
            return int(conn.execute(
                insert(CrawlRun).values(
                    source_name=source, started_at=started_at or utcnow(), status="running",
                    requests=0, bytes=0, pages=0, new=0, updated=0, unchanged=0, dropped=0,
                    errors=0, host=host or socket.gethostname(), pid=pid,
                ).returning(CrawlRun.id)
            ).scalar_one())

    def set_run_pid(self, run_id: int, pid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(pid=pid))

    def run_end(self, run_id: int) -> tuple[str, str | None] | None:
        """(status, first_error) of a run, or None if there is no such run."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CrawlRun.status, CrawlRun.first_error).where(CrawlRun.id == run_id)
            ).first()
        return (row[0], row[1]) if row is not None else None

    def end_run(self, run_id: int, status: str, first_error: str | None, *,
                only_if_running: bool = False) -> bool:
        """Set a run's final status and first error, keeping the counts its crawl wrote.

        ``finished_at`` is set unless the crawl already set it. With ``only_if_running`` the
        row changes only while it still says ``running``. True if a row changed; then the
        host slots its crawl may still hold are given back (a killed crawl's would hold its
        hosts until their leases expire: :mod:`storage.hosts`).
        """
        stmt = update(CrawlRun).where(CrawlRun.id == run_id).values(
            status=status, first_error=first_error,
            finished_at=func.coalesce(CrawlRun.finished_at, literal(utcnow(), UTCDateTime())),
        )
        if only_if_running:
            stmt = stmt.where(CrawlRun.status == "running")
        with self.engine.begin() as conn:
            changed = bool(conn.execute(stmt).rowcount)
        if changed:
            HostStore(self.engine).release_runs([run_id])
        return changed

    def add_unchanged_run(self, source: str, *, started_at: datetime, requests: int,
                          pid: int | None = None) -> int:
        """Record, in one insert, a run the pre-check settled without a crawl (every URL
        answered 304): ``ok``, ``requests`` made, nothing stored. Its id."""
        with self.engine.begin() as conn:
            return int(conn.execute(
                insert(CrawlRun).values(
                    source_name=source, started_at=started_at, finished_at=utcnow(),
                    status="ok", requests=requests, bytes=0, pages=0, new=0, updated=0,
                    unchanged=0, dropped=0, errors=0, host=socket.gethostname(), pid=pid,
                ).returning(CrawlRun.id)
            ).scalar_one())

    def pages_due(self, source: str, now: datetime, *, young_since: datetime | None,
                  checked_before: datetime) -> bool:
        """Whether ``source`` has article pages to fetch whatever its feeds say: a refused
        page due to be tried again (of a stored article or a pending entry), or a page first
        seen since ``young_since`` (None: none) and last fetched before ``checked_before`` (a
        re-fetch for corrections). EXISTS probes on indexed columns; the pre-check crawls
        when this is true."""
        of_source = select(SourceRow.id).where(SourceRow.name == source).scalar_subquery()
        probes: list[Select[Any]] = [select(Article.id).where(
            Article.source_id == of_source, Article.page_retry_at.is_not(None),
            Article.page_retry_at <= now).limit(1)]
        if young_since is not None:
            probes.append(select(Article.id).where(
                Article.source_id == of_source, Article.first_seen_at >= young_since,
                Article.fetched_at < checked_before, Article.body_source == "page").limit(1))
        # Entries kept without an article, their page due again (storage.pending).
        probes.append(select(PendingPage.url_key).where(
            PendingPage.source_name == source, PendingPage.page_retry_at.is_not(None),
            PendingPage.page_retry_at <= now).limit(1))
        with self.engine.connect() as conn:
            return any(conn.execute(p).first() is not None for p in probes)

    def validators_of(self, urls: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """The kept (ETag, Last-Modified) of each of ``urls`` that has any, in one query."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(HttpValidator.url, HttpValidator.etag, HttpValidator.last_modified)
                .where(HttpValidator.url.in_(list(urls)))
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    def running_runs(self) -> list[tuple[int, str, str | None, int | None, datetime]]:
        """(id, source, host, pid, started_at) of every run still marked ``running``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CrawlRun.id, CrawlRun.source_name, CrawlRun.host, CrawlRun.pid,
                       CrawlRun.started_at).where(CrawlRun.status == "running")
            ).all()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def close_orphaned_runs(self, is_orphan: Callable[[str | None, int | None, datetime], bool],
                            message: str) -> list[int]:
        """Mark ``interrupted`` every running run for which ``is_orphan(host, pid, started)``."""
        closed = []
        for run_id, _source, host, pid, started in self.running_runs():
            if is_orphan(host, pid, started) and self.end_run(
                    run_id, "interrupted", message, only_if_running=True):
                closed.append(run_id)
        return closed

    def runs(self, source: str | None = None, limit: int = 50) -> list[RunView]:
        """The latest ``limit`` runs, newest first, of one source or all."""
        stmt = self._run_select().order_by(CrawlRun.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(CrawlRun.source_name == source)
        with self.engine.connect() as conn:
            return [RunView(**row._asdict()) for row in conn.execute(stmt).all()]

    def run(self, run_id: int) -> RunView | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._run_select().where(CrawlRun.id == run_id)).first()
        return RunView(**row._asdict()) if row is not None else None

    @staticmethod
    def _run_select() -> Select[*tuple[Any, ...]]:
        return select(
            CrawlRun.id, CrawlRun.source_name.label("source"),
            CrawlRun.started_at.label("started"), CrawlRun.finished_at.label("finished"),
            CrawlRun.status, CrawlRun.requests, CrawlRun.bytes, CrawlRun.new, CrawlRun.updated,
            CrawlRun.unchanged, CrawlRun.dropped, CrawlRun.errors, CrawlRun.first_error,
            CrawlRun.blocked, CrawlRun.pending,
        )

    # -- source state ------------------------------------------------------------------

    def states(self) -> dict[str, SourceStateView]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(
                SourceState.source_name, SourceState.schedule_key, SourceState.schedule,
                SourceState.next_run_at, SourceState.last_run_at, SourceState.last_status,
                SourceState.last_success_at, SourceState.consecutive_failures,
                SourceState.backed_off_until,
            )).all()
        return {r[0]: SourceStateView(*r) for r in rows}

    def save_schedule(self, source: str, schedule_key: str, schedule: str,
                      next_run_at: datetime | None) -> None:
        """Remember the schedule of ``source`` and its next run time (for a restart)."""
        now = utcnow()
        values = {"schedule_key": schedule_key, "schedule": schedule,
                  "next_run_at": next_run_at, "updated_at": now}
        self._upsert(source, values)

    def save_next_runs(self, next_runs: Sequence[tuple[str, datetime | None]]) -> None:
        """Update the next run time of several sources at once (shutdown, bulk)."""
        now = utcnow()
        with self.engine.begin() as conn:
            for source, at in next_runs:
                conn.execute(update(SourceState).where(SourceState.source_name == source)
                             .values(next_run_at=at, updated_at=now))

    def save_result(self, source: str, *, status: str, at: datetime, failures: int,
                    last_success_at: datetime | None,
                    backed_off_until: datetime | None) -> None:
        """Record how the last run of ``source`` ended and whether it is backed off."""
        values = {"last_run_at": at, "last_status": status, "last_success_at": last_success_at,
                  "consecutive_failures": failures, "backed_off_until": backed_off_until,
                  "updated_at": utcnow()}
        self._upsert(source, values)

    def _upsert(self, source: str, values: dict[str, Any]) -> None:
        defaults: dict[str, Any] = {"schedule_key": "", "schedule": "",
                                    "consecutive_failures": 0}
        row = {**defaults, **values, "source_name": source}
        stmt = self._insert(SourceState.__table__).values(**row)
        stmt = stmt.on_conflict_do_update(index_elements=["source_name"], set_=values)
        with self.engine.begin() as conn:
            conn.execute(stmt)
