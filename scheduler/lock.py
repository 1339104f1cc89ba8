"""SchedulerLock: at most one ``newsmon run`` per database, with a heartbeat others can read.

The lock is the single ``scheduler_lock`` row (holder's host, pid, start and heartbeat time).
``acquire`` creates it, or takes it over when its heartbeat is older than ``stale_after`` (the
holder died without releasing it) and otherwise raises :class:`LockHeld`. On PostgreSQL the
service also holds a session advisory lock on a dedicated connection: the server drops it the
moment the holder's connection dies, so a crashed service is replaced at once, and a live but
stalled one (heartbeat late) is never taken over. ``heartbeat`` raises :class:`LockLost` if the
row is no longer ours; the service then stops, because two schedulers may now be running.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from storage.scheduler_store import LockHolder, SchedulerStore, utcnow

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: one per database, so a constant is enough ("nwsm" in ASCII).
ADVISORY_KEY = 0x6E77736D


def _ago(holder: LockHolder, now: datetime) -> timedelta:
    return max(now - holder.heartbeat_at, timedelta(0))


class LockHeld(Exception):
    """Another live scheduler holds this database's lock."""

    def __init__(self, holder: LockHolder | None, age: timedelta | None) -> None:
        self.holder = holder
        self.age = age
        if holder is None or age is None:
            who = "another newsmon scheduler"
        else:
            who = (f"another newsmon scheduler (pid {holder.pid} on host {holder.host}, "
                   f"heartbeat {int(age.total_seconds())} s ago)")
        super().__init__(f"{who} is running on this database; stop it first")


class LockLost(Exception):
    """Our lock row was taken over or deleted: another scheduler may be running now."""

    def __init__(self, holder: LockHolder | None) -> None:
        self.holder = holder
        who = (f"pid {holder.pid} on host {holder.host}" if holder is not None
               else "nobody (the row was deleted)")
        super().__init__(f"this scheduler lost its database lock; it is now held by {who}")


class SchedulerLock:
    """The database's scheduler lock, held by this process between acquire() and release()."""

    def __init__(
        self, store: SchedulerStore, *, stale_after: timedelta,
        host: str | None = None, pid: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.stale_after = stale_after
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.clock = clock
        self.token = str(uuid.uuid4())
        self.held = False
        self._advisory: Connection | None = None

    def _me(self) -> LockHolder:
        now = self.clock()
        return LockHolder(self.token, self.host, self.pid, now, now)

    # -- PostgreSQL advisory lock ------------------------------------------------------

    def _take_advisory(self) -> bool:
        """True if we hold the advisory lock now (always True off PostgreSQL)."""
        if self.store.engine.dialect.name != "postgresql":
            return True
        conn = self.store.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": ADVISORY_KEY}).scalar())
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._advisory = conn
        return True

    def _drop_advisory(self) -> None:
        conn, self._advisory = self._advisory, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()
        except SQLAlchemyError:
            pass  # closing the connection releases it anyway
        finally:
            conn.close()

    def _check_advisory(self) -> None:
        if self._advisory is None:
            if self.store.engine.dialect.name == "postgresql" and self.held:
                if not self._take_advisory():
                    raise LockLost(self.store.lock_holder())
            return
        try:
            self._advisory.execute(text("SELECT 1"))
            self._advisory.commit()
        except SQLAlchemyError:
            # The connection died, and the server released our advisory lock with it.
            logger.warning("lost the connection holding the scheduler's advisory lock; "
                           "taking it again")
            self._advisory.invalidate()
            self._advisory.close()
            self._advisory = None
            if not self._take_advisory():
                raise LockLost(self.store.lock_holder()) from None

    # -- the lock ----------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld` naming the live holder."""
        if not self._take_advisory():
            holder = self.store.lock_holder()
            raise LockHeld(holder, _ago(holder, self.clock()) if holder else None)
        try:
            self._acquire_row(advisory=self._advisory is not None)
        except BaseException:
            self._drop_advisory()
            raise
        self.held = True

    def _acquire_row(self, advisory: bool) -> None:
        for _ in range(3):  # another starter may win a race between our read and write
            if self.store.try_insert_lock(self._me()):
                return
            holder = self.store.lock_holder()
            if holder is None:
                continue  # released between our insert and our read: try again
            age = _ago(holder, self.clock())
            if not advisory and age <= self.stale_after:
                raise LockHeld(holder, age)
            if self.store.take_over_lock(holder.token, self._me()):
                why = ("it no longer holds the advisory lock" if advisory
                       else f"its heartbeat is {int(age.total_seconds())} s old")
                logger.warning("taking over the scheduler lock from pid %s on host %s: %s",
                               holder.pid, holder.host, why)
                return
        holder = self.store.lock_holder()
        raise LockHeld(holder, _ago(holder, self.clock()) if holder else None)

    def heartbeat(self) -> None:
        """Refresh the lock row; raises :class:`LockLost` if it is not ours any more."""
        self._check_advisory()
        if not self.store.heartbeat(self.token, self.clock()):
            self.held = False
            raise LockLost(self.store.lock_holder())

    def release(self) -> None:
        """Give the lock up (idempotent); a new service may start at once."""
        try:
            if self.held:
                self.store.release_lock(self.token)
        finally:
            self.held = False
            self._drop_advisory()


# -- reading the lock from outside (newsmon status) ------------------------------------


class ServiceState:
    """Whether a service holds this database's lock, as another process can tell."""

    def __init__(self, holder: LockHolder | None, age: timedelta | None, alive: bool) -> None:
        self.holder = holder
        self.age = age
        self.alive = alive


def _advisory_held(store: SchedulerStore) -> bool | None:
    """On PostgreSQL: does some session hold the scheduler's advisory lock? None elsewhere."""
    if store.engine.dialect.name != "postgresql":
        return None
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :k "
            "AND l.objsubid = 1 AND d.datname = current_database())"
        ), {"k": ADVISORY_KEY}).scalar())


def service_state(store: SchedulerStore, stale_after: timedelta,
                  now: datetime | None = None) -> ServiceState:
    """Read the lock row: alive if its heartbeat is fresh (and, on PostgreSQL, its holder's
    advisory lock is held — a crashed service's row is then dead at once)."""
    holder = store.lock_holder()
    if holder is None:
        return ServiceState(None, None, False)
    age = _ago(holder, now or utcnow())
    alive = age <= stale_after
    advisory = _advisory_held(store)
    if advisory is not None:
        alive = alive and advisory
    return ServiceState(holder, age, alive)
