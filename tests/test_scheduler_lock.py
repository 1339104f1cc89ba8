"""One scheduler per database: the lock row, its heartbeat, stale take-over, PostgreSQL's
advisory lock; on SQLite and PostgreSQL, with frozen clocks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from scheduler.lock import LockHeld, LockLost, SchedulerLock, service_state
from storage import Store
from storage.scheduler_models import SchedulerLock as LockRow
from storage.scheduler_store import LockHolder, SchedulerStore

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
STALE = timedelta(seconds=60)


@pytest.fixture
def sched(store: Store) -> Iterator[SchedulerStore]:
    yield SchedulerStore(store.engine)


def make_lock(sched: SchedulerStore, at: datetime, pid: int, host: str = "alpha"
              ) -> SchedulerLock:
    return SchedulerLock(sched, stale_after=STALE, host=host, pid=pid, clock=lambda: at)


def test_a_second_scheduler_is_refused_with_the_holder_named(sched: SchedulerStore) -> None:
    first = make_lock(sched, T0, 4242)
    first.acquire()
    second = make_lock(sched, T0 + timedelta(seconds=3), 5151, "beta")
    with pytest.raises(LockHeld) as info:
        second.acquire()
    assert str(info.value) == ("another newsmon scheduler (pid 4242 on host alpha, heartbeat "
                               "3 s ago) is running on this database; stop it first")
    holder = sched.lock_holder()
    assert holder is not None and holder.pid == 4242 and holder.host == "alpha"
    first.release()
    second.acquire()
    holder = sched.lock_holder()
    assert holder is not None and holder.pid == 5151
    second.release()
    assert sched.lock_holder() is None


def test_heartbeat_moves_and_state_reads_it(sched: SchedulerStore) -> None:
    now = [T0]
    lock = SchedulerLock(sched, stale_after=STALE, host="alpha", pid=1, clock=lambda: now[0])
    lock.acquire()
    now[0] = T0 + timedelta(seconds=20)
    lock.heartbeat()
    holder = sched.lock_holder()
    assert holder is not None and holder.heartbeat_at == T0 + timedelta(seconds=20)
    state = service_state(sched, STALE, now=T0 + timedelta(seconds=25))
    assert state.alive and state.age == timedelta(seconds=5)
    assert not service_state(sched, STALE, now=T0 + timedelta(seconds=100)).alive
    lock.release()
    assert not service_state(sched, STALE).alive


def test_a_crashed_schedulers_lock_is_taken_over(
    sched: SchedulerStore, caplog: pytest.LogCaptureFixture
) -> None:
    # A row nobody holds any more: the service died without releasing it.
    sched.try_insert_lock(LockHolder("dead-token", "alpha", 777, T0, T0))
    postgres = sched.engine.dialect.name == "postgresql"
    fresh = make_lock(sched, T0 + timedelta(seconds=10), 888)
    if postgres:
        # The advisory lock died with the holder's connection: no need to wait a minute.
        with caplog.at_level(logging.WARNING, logger="scheduler.lock"):
            fresh.acquire()
        assert "it no longer holds the advisory lock" in caplog.text
    else:
        with pytest.raises(LockHeld, match="heartbeat 10 s ago"):
            fresh.acquire()
        later = make_lock(sched, T0 + timedelta(seconds=61), 888)
        with caplog.at_level(logging.WARNING, logger="scheduler.lock"):
            later.acquire()
        assert ("taking over the scheduler lock from pid 777 on host alpha: its heartbeat "
                "is 61 s old") in caplog.text
        fresh = later
    holder = sched.lock_holder()
    assert holder is not None and holder.pid == 888 and holder.token == fresh.token
    fresh.release()


def test_a_lost_lock_is_noticed_at_the_next_heartbeat(sched: SchedulerStore) -> None:
    lock = make_lock(sched, T0, 1)
    lock.acquire()
    with sched.engine.begin() as conn:
        conn.execute(delete(LockRow))
    sched.try_insert_lock(LockHolder("other", "gamma", 99, T0, T0))
    with pytest.raises(LockLost, match="now held by pid 99 on host gamma"):
        lock.heartbeat()
    lock.release()
    holder = sched.lock_holder()
    assert holder is not None and holder.pid == 99  # release never deletes another's row


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_never_takes_over_a_live_but_silent_holder(sched: SchedulerStore) -> None:
    first = make_lock(sched, T0, 1)
    first.acquire()
    # Its heartbeat is ten minutes old, but its session still holds the advisory lock.
    late = make_lock(sched, T0 + timedelta(minutes=10), 2)
    with pytest.raises(LockHeld, match="pid 1 on host alpha"):
        late.acquire()
    assert not service_state(sched, STALE, now=T0 + timedelta(minutes=10)).alive
    assert service_state(sched, STALE, now=T0 + timedelta(seconds=1)).alive
    first.release()
    assert not service_state(sched, STALE, now=T0 + timedelta(seconds=1)).alive
