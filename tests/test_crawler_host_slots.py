"""Per-host concurrency across crawls (crawler/host_slots.py, storage/hosts.py host_leases):
two crawls of one host at once keep to per_domain_concurrency between them, and slots held
by a process that died come free when their leases expire, at once when the process is gone
from this machine, and with its run when that is closed as interrupted. Real crawls of a
local server that counts the requests it is answering at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_twisted
from faults.server import FaultHandler, FaultServer
from sqlalchemy import update
from test_crawler_hosts import crawl, page, rss, settings_for

from storage import Store
from storage.host_models import HostLease
from storage.hosts import HostStore
from storage.scheduler_store import SchedulerStore

PAGE_SECONDS = 0.25
ARTICLES = 6


class InFlight:
    """Requests being answered at once, and the most seen."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.first: float | None = None
        self._lock = threading.Lock()

    def serve(self, body: str, content_type: str = "text/html") -> object:
        data = body.encode()

        def behaviour(h: FaultHandler) -> None:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.first = self.first or time.monotonic()
            try:
                h.owner.wait(PAGE_SECONDS)
                h.send_body(200, data, content_type)
            finally:
                with self._lock:
                    self.now -= 1
        return behaviour


@pytest.fixture
def busy() -> Iterator[tuple[FaultServer, InFlight]]:
    seen = InFlight()
    with FaultServer() as srv:
        srv.route("/robots.txt", seen.serve("User-agent: *\nAllow: /\n", "text/plain"))
        for name in ("a", "b", "c"):
            paths = [f"/{name}/{i}.html" for i in range(ARTICLES)]
            srv.route(f"/{name}/feed.xml",
                      seen.serve(rss(srv.base_url, paths), "application/rss+xml"))
            for p in paths:
                srv.route(p, seen.serve(page(f"Story {p}")))
        yield srv, seen


@pytest_twisted.ensureDeferred
async def test_two_crawls_of_one_host_keep_its_concurrency_between_them(
        tmp_path: Path, db_url: str, store: Store, busy: tuple[FaultServer, InFlight]) -> None:
    server, seen = busy
    # Separately, each crawl may have 2 requests in flight to the host: 4 at once (more on
    # Scrapy 2.19 with no download delay: its downloader starts a slot's whole queue at
    # once, since each download's task begins after the loop that counts them).
    alone = settings_for(tmp_path, db_url, server, per_domain_concurrency=2,
                         shared_host_concurrency=False)
    await crawl(alone, store, "a", "c")
    assert seen.most > 2
    assert store.count_articles() == 2 * ARTICLES

    # Shared: 2 in all. A process that died held both slots until its leases run out.
    hosts = HostStore(store.engine)
    for _ in range(2):
        assert hosts.lease("127.0.0.1", 2, "dead-process/1", timedelta(seconds=1)) is not None
    freed = time.monotonic() + 1.0
    seen.most = 0
    seen.first = None
    shared = settings_for(tmp_path, db_url, server, per_domain_concurrency=2)
    results = await crawl(shared, store, "b", "c")
    assert seen.most == 2
    assert seen.first is not None and seen.first >= freed - 0.05
    assert results["b"].stats.new == ARTICLES
    assert store.count_articles() == 3 * ARTICLES
    # Each crawl gave back what it held.
    assert hosts.leases("127.0.0.1") == {}


def test_a_slot_is_held_once_and_taken_over_when_its_lease_expires(store: Store) -> None:
    hosts = HostStore(store.engine)
    now = datetime.now(UTC)
    ttl = timedelta(seconds=30)
    assert hosts.lease("h.example", 2, "x/1", ttl, now=now) == 0
    assert hosts.lease("h.example", 2, "y/1", ttl, now=now) == 1
    assert hosts.lease("h.example", 2, "y/2", ttl, now=now) is None
    # Another host, and a third slot of this one, are apart.
    assert hosts.lease("other.example", 2, "y/3", ttl, now=now) == 0
    assert hosts.lease("h.example", 3, "y/4", ttl, now=now) == 2
    # A renewed lease outlives the others; an expired one goes to the next asker.
    later = now + timedelta(seconds=20)
    assert hosts.renew(["x/1"], ttl, now=later) == 1
    expired = now + timedelta(seconds=31)
    assert hosts.leases("h.example", now=expired) == {0: "x/1"}
    assert hosts.lease("h.example", 2, "z/1", ttl, now=expired) == 1
    assert hosts.leases("h.example", now=expired) == {0: "x/1", 1: "z/1"}
    # The old holder's release does not free the slot it lost.
    hosts.release("h.example", 1, "y/1")
    assert hosts.leases("h.example", now=expired) == {0: "x/1", 1: "z/1"}
    hosts.release("h.example", 1, "z/1")
    assert hosts.leases("h.example", now=expired) == {0: "x/1"}
    assert hosts.release_all("y/") == 2  # y/3 of other.example and y/4; y/1 lost its slot
    assert hosts.leases("other.example", now=now) == {}


def _gone_pid() -> int:
    """The pid of a process of this machine that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(30)
    return child.pid


def test_a_slot_of_a_process_gone_from_this_machine_is_free_at_once(store: Store) -> None:
    hosts = HostStore(store.engine)
    now = datetime.now(UTC)
    ttl = timedelta(seconds=30)
    gone, alive = _gone_pid(), os.getppid()
    assert hosts.lease("h.example", 2, "live/1", ttl, now=now, pid=alive) == 0
    assert hosts.lease("h.example", 2, "dead/1", ttl, now=now, pid=gone) == 1
    # Both slots are held within their leases, but the second one's process is gone: the
    # next asker takes it, and not the live one's.
    assert hosts.leases("h.example", now=now) == {0: "live/1", 1: "dead/1"}
    assert hosts.lease("h.example", 2, "next/1", ttl, now=now, pid=os.getpid()) == 1
    assert hosts.leases("h.example", now=now) == {0: "live/1", 1: "next/1"}
    assert hosts.lease("h.example", 2, "next/2", ttl, now=now, pid=os.getpid()) is None
    # A lease that names no process (or a process of another machine) waits for its expiry.
    assert hosts.lease("o.example", 1, "unnamed/1", ttl, now=now) == 0
    assert hosts.lease("o.example", 1, "next/3", ttl, now=now, pid=os.getpid()) is None
    with store.engine.begin() as conn:
        conn.execute(update(HostLease).where(HostLease.host == "h.example", HostLease.slot == 1)
                     .values(machine="elsewhere.example", pid=gone))
    assert hosts.lease("h.example", 2, "next/4", ttl, now=now, pid=os.getpid()) is None


def test_the_slots_of_a_run_closed_as_interrupted_are_given_back(store: Store) -> None:
    hosts = HostStore(store.engine)
    runs = SchedulerStore(store.engine)
    killed, other = store.start_run("wire"), store.start_run("desk")
    ttl = timedelta(seconds=30)
    assert hosts.lease("h.example", 3, "k/1", ttl, run_id=killed, pid=os.getpid()) == 0
    assert hosts.lease("i.example", 3, "k/2", ttl, run_id=killed, pid=os.getpid()) == 0
    assert hosts.lease("h.example", 3, "o/1", ttl, run_id=other, pid=os.getpid()) == 1
    # The next crawl finds the killed one's run left running and closes it as interrupted
    # (RunRecorder._close_orphans, the service, a worker): its slots go with it, and the
    # other run's stay.
    assert runs.end_run(killed, "interrupted", "killed", only_if_running=True)
    assert hosts.leases("h.example") == {1: "o/1"} and hosts.leases("i.example") == {}
    # A run already closed changes nothing, and gives back nothing more.
    assert not runs.end_run(killed, "interrupted", "again", only_if_running=True)
    assert hosts.leases("h.example") == {1: "o/1"}
