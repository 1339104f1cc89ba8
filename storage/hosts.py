"""HostStore: per-host politeness in the database, shared by every crawl process on it.

- robots.txt per host with its expiry (:meth:`HostStore.robots`, :meth:`HostStore.save_robots`):
  a crawl reads it from here while it is fresh instead of fetching it again;
- pauses (:meth:`HostStore.pause`, :meth:`HostStore.paused`): a 429 or 503 with Retry-After
  pauses the host for every source and process; a later pause never shortens an earlier one;
- the per-host delay (:meth:`HostStore.reserve`): each request reserves the host's next free
  moment, ``delay`` after the previous one, whichever process asks. A compare-and-set on one
  row, so it needs no lock and reads the same on SQLite and PostgreSQL;
- the per-host concurrency (:meth:`HostStore.lease`, :meth:`HostStore.renew`,
  :meth:`HostStore.release`): a request in flight holds one of the host's ``slots`` rows
  until it releases it or its lease expires, so a process cut off from the database frees
  them within the lease time. A lease names its crawl's run and its process: the slots of a
  run closed as interrupted go with it (:meth:`HostStore.release_runs`, from
  :meth:`storage.scheduler_store.SchedulerStore.end_run`), and a lease whose process is gone
  from this machine (killed, crashed) is free at once to whoever asks next. Taking a slot is
  one upsert that only overwrites a row free in one of those ways, so two processes never
  hold one slot at once.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, or_, select, update

from storage.engine import WRITES, dialect_insert
from storage.host_models import HostLease, HostPause, HostSlot, RobotsTxt
from storage.run_locks import pid_alive

#: Compare-and-set attempts before :meth:`HostStore.reserve` gives up and lets a request go.
RESERVE_TRIES = 20


@dataclass(frozen=True, slots=True)
class CachedRobots:
    status: int
    body: str
    fetched_at: datetime
    expires_at: datetime


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class HostStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Writes queue for SQLite's write lock (BEGIN IMMEDIATE, storage.engine).
        self._writes = engine.execution_options(**{WRITES: True})

    def _insert(self, table: Any) -> Any:
        return dialect_insert(self.engine, table)

    # -- robots.txt --------------------------------------------------------------------

    def robots(self, netloc: str, now: datetime | None = None) -> CachedRobots | None:
        """The cached robots.txt of ``netloc`` ("https://host:port"), if not expired."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            row = conn.execute(select(RobotsTxt.status, RobotsTxt.body, RobotsTxt.fetched_at,
                                      RobotsTxt.expires_at)
                               .where(RobotsTxt.netloc == netloc)).first()
        if row is None or _aware(row.expires_at) <= now:
            return None
        return CachedRobots(row.status, row.body, _aware(row.fetched_at),
                            _aware(row.expires_at))

    def save_robots(self, netloc: str, status: int, body: str, fetched_at: datetime,
                    expires_at: datetime) -> None:
        values = {"status": status, "body": body, "fetched_at": fetched_at,
                  "expires_at": expires_at}
        stmt = self._insert(RobotsTxt.__table__).values(netloc=netloc, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["netloc"], set_=values)
        with self._writes.begin() as conn:
            conn.execute(stmt)

    # -- pauses ------------------------------------------------------------------------

    def pause(self, host: str, until: datetime, reason: str) -> None:
        """Pause ``host`` until ``until`` (kept if it already is, for longer)."""
        stmt = self._insert(HostPause.__table__).values(host=host, until=until, reason=reason)
        stmt = stmt.on_conflict_do_update(
            index_elements=["host"], set_={"until": until, "reason": reason},
            where=HostPause.__table__.c.until < until)
        with self._writes.begin() as conn:
            conn.execute(stmt)

    def paused(self, host: str, now: datetime | None = None) -> tuple[datetime, str] | None:
        """Until when and why ``host`` is paused, or None."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            row = conn.execute(select(HostPause.until, HostPause.reason)
                               .where(HostPause.host == host)).first()
        if row is None or _aware(row.until) <= now:
            return None
        return _aware(row.until), row.reason

    # -- the per-host delay ------------------------------------------------------------

    def reserve(self, host: str, delay: timedelta, now: datetime | None = None) -> datetime:
        """The moment a request to ``host`` may go (``now`` or later), reserved: the next
        caller, in any process, gets a moment at least ``delay`` after it."""
        now = now or datetime.now(UTC)
        table = HostSlot.__table__
        with self._writes.begin() as conn:
            inserted = conn.execute(self._insert(table).values(host=host, next_at=now + delay)
                                    .on_conflict_do_nothing(index_elements=["host"])
                                    .returning(table.c.host)).scalar()
        if inserted is not None:
            return now
        for _ in range(RESERVE_TRIES):
            with self._writes.begin() as conn:
                raw = conn.execute(select(table.c.next_at).where(table.c.host == host)).scalar()
                if raw is None:
                    break
                old = _aware(raw)
                start = max(now, old)
                done = conn.execute(update(HostSlot).where(HostSlot.host == host,
                                                           HostSlot.next_at == old)
                                    .values(next_at=start + delay)).rowcount
            if done == 1:
                return start
        return now

    # -- the per-host concurrency ------------------------------------------------------

    def lease(self, host: str, slots: int, holder: str, ttl: timedelta,
              now: datetime | None = None, *, run_id: int | None = None,
              pid: int | None = None) -> int | None:
        """Take a free slot of ``host`` (one of ``0 .. slots - 1`` that nobody holds, whose
        lease has expired, or whose holding process is gone from this machine) for ``holder``
        until ``now + ttl``: its number, or None when all ``slots`` are held. ``run_id`` and
        ``pid`` (of this process, on this machine) are the holder's, so that its slots are
        freed with its run or when it dies."""
        now = now or datetime.now(UTC)
        table = HostLease.__table__
        here = socket.gethostname()
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.slot, table.c.expires_at, table.c.machine,
                                       table.c.pid)
                                .where(table.c.host == host, table.c.slot < slots)).all()
        live = [r for r in rows if _aware(r.expires_at) > now]
        # Held by a process of this machine that is gone: free (its leases would hold the
        # host until they expire, and the next run of a killed crawl would wait for them).
        gone = {r.pid for r in live if r.machine == here and r.pid is not None
                and r.pid != pid and not pid_alive(r.pid)}
        held = {r.slot for r in live if not (r.machine == here and r.pid in gone)}
        free = table.c.expires_at <= now
        if gone:
            free = or_(free, and_(table.c.machine == here, table.c.pid.in_(sorted(gone))))
        for slot in range(slots):
            if slot in held:
                continue
            values = {"holder": holder, "expires_at": now + ttl, "run_id": run_id,
                      "machine": here if pid is not None else None, "pid": pid}
            stmt = (self._insert(table).values(host=host, slot=slot, **values)
                    .on_conflict_do_update(index_elements=["host", "slot"], set_=values,
                                           where=free)
                    .returning(table.c.slot))
            with self._writes.begin() as conn:
                if conn.execute(stmt).scalar() is not None:
                    return slot
        return None

    def renew(self, holders: list[str], ttl: timedelta, now: datetime | None = None) -> int:
        """Extend the leases of ``holders`` to ``now + ttl``; how many are still held (a
        lease that expired and was taken by another holder is not taken back)."""
        if not holders:
            return 0
        now = now or datetime.now(UTC)
        with self._writes.begin() as conn:
            return int(conn.execute(update(HostLease).where(HostLease.holder.in_(holders))
                                    .values(expires_at=now + ttl)).rowcount)

    def release(self, host: str, slot: int, holder: str) -> None:
        """Give slot ``slot`` of ``host`` back, if ``holder`` still holds it."""
        with self._writes.begin() as conn:
            conn.execute(delete(HostLease).where(HostLease.host == host,
                                                 HostLease.slot == slot,
                                                 HostLease.holder == holder))

    def release_all(self, prefix: str) -> int:
        """Give back every slot held by a holder whose name starts with ``prefix`` (a crawl
        that ends: its requests' leases); how many there were."""
        with self._writes.begin() as conn:
            return int(conn.execute(delete(HostLease).where(
                HostLease.holder.startswith(prefix, autoescape=True))).rowcount)

    def release_runs(self, run_ids: Iterable[int]) -> int:
        """Give back every slot held for the runs ``run_ids`` (closed: ended, or found
        interrupted because their process died); how many there were."""
        ids = sorted(set(run_ids))
        if not ids:
            return 0
        with self._writes.begin() as conn:
            return int(conn.execute(delete(HostLease).where(
                HostLease.run_id.in_(ids))).rowcount)

    def leases(self, host: str, now: datetime | None = None) -> dict[int, str]:
        """The slots of ``host`` held now, by whom."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            rows = conn.execute(select(HostLease.slot, HostLease.holder, HostLease.expires_at)
                                .where(HostLease.host == host)).all()
        return {r.slot: r.holder for r in rows if _aware(r.expires_at) > now}
