"""Concurrent writers, real processes: story filing, schema upgrades and per-source run locks
on one SQLite file (and PostgreSQL), as the service's default concurrency produces them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from faults.harness import rss_source, write_config
from faults.server import FaultServer, respond, slow
from faults.site import add_healthy, article_html, rss, rss_item
from faults.wire import crawl_processes, load_check, load_config, load_site, story_of
from scheduler.child import CrawlSupervisor
from storage import Store
from storage.models import Article, SourceRow
from storage.scheduler_models import SourceRunLock
from storage.scheduler_store import SchedulerStore

ROOT = Path(__file__).resolve().parents[2]
#: The children import the project and these helpers (``faults.*``) as the tests do.
CHILD_PATH = os.pathsep.join([str(ROOT), str(ROOT / "tests")])


def _children(argvs: list[list[str]], timeout: float = 240, env: dict[str, str] | None = None
              ) -> list[subprocess.CompletedProcess[str]]:
    """Run every command at once as a child process; wait for all of them."""
    child_env = {**os.environ, "PYTHONPATH": CHILD_PATH, **(env or {})}
    procs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=child_env) for argv in argvs]
    done = []
    for argv, p in zip(argvs, procs, strict=True):
        out, err = p.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(argv, p.returncode, out, err))
    return done


def stories_by_wire(store: Store) -> dict[int, set[int | None]]:
    """Wire story number -> the story ids its stored copies were filed under."""
    found: dict[int, set[int | None]] = defaultdict(set)
    with store.session() as session:
        for body, story_id in session.execute(select(Article.body, Article.story_id)):
            found[story_of(body)].add(story_id)
    return found


def copies_by_source(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(select(SourceRow.name, Article.id).join(Article.source))
        out: dict[str, int] = defaultdict(int)
        for name, _ in rows:
            out[name] += 1
        return dict(out)


def test_wire_copies_written_at_once_file_under_one_story(
        tmp_path: Path, record: Callable[..., None]) -> None:
    """Three processes file copies of the same 24 wire stories into one SQLite file at the
    same moment, in small batches: each story's copies end in one story, none lost."""
    url = f"sqlite:///{tmp_path / 'wire.db'}"
    Store.from_url(url).close()
    sources, stories = ["pti", "ani", "ians"], 24
    start = time.time() + 4  # the children import and enrich first, then write together
    done = _children([[sys.executable, "-m", "tests.faults.wire", url, s, str(stories), "2",
                       str(start)] for s in sources])
    for p in done:
        assert p.returncode == 0, p.stderr[-3000:]
        assert "database is locked" not in p.stderr
    store = Store.from_url(url, migrate=False)
    try:
        assert copies_by_source(store) == {s: stories for s in sources}
        by_wire = stories_by_wire(store)
        split = {n: ids for n, ids in by_wire.items() if len(ids) != 1 or None in ids}
        merged = stories - len(split)
    finally:
        store.close()
    record("integrity", "3 processes filing copies of the same 24 wire stories into one "
           "SQLite file at once (batches of 2)",
           "every writer takes the write lock (BEGIN IMMEDIATE) before its candidate "
           "lookups; writers queue, none fails",
           stored=f"{len(sources) * stories} / 0; {merged} of {stories} stories in one story")
    assert split == {}, f"stories split across processes: {split}"


def test_first_starts_at_once_on_a_new_sqlite_file_share_one_schema(
        tmp_path: Path, record: Callable[..., None]) -> None:
    """Four `newsmon db upgrade` processes on one new SQLite file at once, several rounds:
    every one exits 0 and the file ends at every head, once."""
    from storage.migrate import current_revisions, head_revisions

    rounds, failures = 3, []
    for r in range(rounds):
        db = tmp_path / f"round{r}" / "newsmon.db"
        url = f"sqlite:///{db}"
        done = _children([[sys.executable, "-m", "newsmon", "db", "upgrade"]] * 4,
                         env={"NEWSMON_DATABASE_URL": url})
        failures += [p.stderr.strip().splitlines()[-1:] for p in done if p.returncode != 0]
        store = Store.from_url(url, migrate=False)
        try:
            assert current_revisions(store.engine) == head_revisions()
        finally:
            store.close()
    record("integrity", f"4 first starts at once on a new SQLite file (`newsmon db upgrade` "
           f"× 4, {rounds} rounds)",
           "the upgrades take the file's write lock in turn: one creates the schema, the "
           "others wait and find it current; every process exits 0",
           stored=f"{rounds * 4 - len(failures)} of {rounds * 4} exited 0; one schema")
    assert failures == []


SLOW, SLOW_ARTICLES = "slow-wire", 16


def _slow_feed(server: FaultServer) -> str:
    """A feed of SLOW_ARTICLES articles that take 1 s each: a crawl of ~16 s or more (room
    for a second process to start and be refused while the first runs)."""
    items = []
    for i in range(SLOW_ARTICLES):
        title = f"Slow wire report {i}: port congestion eases as customs adds night shifts"
        url = server.route(f"/slow/news/report-{i}.html", slow(1.0, respond(
            200, article_html(title, i), "text/html; charset=utf-8")))
        items.append(rss_item(url, title))
    return server.route("/slow/feed.xml", respond(200, rss(items),
                                                  "application/rss+xml; charset=utf-8"))


def _crawl(config: Path, log: Path, *sources: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    argv = [sys.executable, "-m", "newsmon", "crawl", "--config", str(config)]
    for s in sources:
        argv += ["--source", s]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE)


def _lock_row(store: Store, source: str) -> tuple[int, str, datetime] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(SourceRunLock.pid, SourceRunLock.host,
                                  SourceRunLock.started_at).where(
            SourceRunLock.source_name == source)).one_or_none()
    return (row[0], row[1], row[2]) if row is not None else None


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_second_crawl_of_a_running_source_is_refused_until_its_holder_dies(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """`newsmon crawl --source X` twice at once: the second is refused with a message naming
    the holder and crawls its other source; after kill -9 of the holder the next crawl of X
    takes the lock over and crawls it."""
    backend = make_url(db_url).get_backend_name()
    with FaultServer() as server:
        healthy = add_healthy(server)
        config = write_config(tmp_path / "cfg", db_url, [
            rss_source(SLOW, _slow_feed(server)), rss_source(healthy.name, healthy.feed_url)],
            # Run locks, not politeness: the slow feed must not hold the host's only slot
            # against the other crawls (crawler/host_slots.py).
            crawl={"per_domain_concurrency": 1, "concurrency": 1,
                   "shared_host_concurrency": False})
        store = Store.from_url(db_url)
        try:
            first = _crawl(config, tmp_path / "first.log", SLOW)
            _wait_for(lambda: _lock_row(store, SLOW) is not None or first.poll() is not None,
                      60, "the first crawl to take the lock")
            held = _lock_row(store, SLOW)
            assert held is not None and held[0] == first.pid, first.communicate()[1][-2000:]
            second = _crawl(config, tmp_path / "second.log", SLOW, healthy.name)
            _, err = second.communicate(timeout=120)
            assert first.poll() is None, "the first crawl ended before the second was refused"
            since = held[2].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            message = (f"source '{SLOW}' is already being crawled by newsmon crawl (pid "
                       f"{first.pid} on host {socket.gethostname()}, since {since} UTC); "
                       "not crawled again until that crawl ends")
            assert message in err.decode(), err.decode()[-3000:]
            assert second.returncode == 0, err.decode()[-3000:]  # its other source crawled
            assert store.count_articles(healthy.name) == len(healthy.titles)
            runs_of_slow = [r for r in store.runs(SLOW)]
            assert len(runs_of_slow) == 1 and runs_of_slow[0].status == "running"

            first.send_signal(signal.SIGKILL)
            first.wait(10)  # reaped: its pid is gone
            third = _crawl(config, tmp_path / "third.log", SLOW)
            _, err3 = third.communicate(timeout=180)
            assert third.returncode == 0, err3.decode()[-3000:]
            assert "taking over the run lock of newsmon crawl" in err3.decode()
            last = store.runs(SLOW)[0]
            assert last.status == "ok", (last.status, last.first_error)
            assert store.count_articles(SLOW) == SLOW_ARTICLES
            assert _lock_row(store, SLOW) is None  # released at the end
        finally:
            store.close()
    record("integrity", f"`newsmon crawl --source {SLOW}` while another `newsmon crawl` of "
           f"it runs ({'SQLite' if backend == 'sqlite' else 'PostgreSQL'}), then kill -9 of "
           "the first",
           "the second is refused (exit 0: it crawled its other source); the message names "
           "the holder; after kill -9 the next crawl takes the dead holder's lock over and "
           "crawls the source",
           first_error=message.replace(str(first.pid), "PID").replace(
               socket.gethostname(), "HOST").replace(since, "TIME"),
           stored=f"{SLOW_ARTICLES} / 0 after the takeover; other source "
                  f"{len(healthy.titles)}/{len(healthy.titles)}")


def test_service_run_of_a_source_newsmon_crawl_is_running_is_skipped(
        tmp_path: Path, record: Callable[..., None], caplog: pytest.LogCaptureFixture) -> None:
    """The service's run of a source (its supervisor and a real `scheduler.crawl_child`)
    while `newsmon crawl` crawls it: the child takes no second lock, the run is recorded
    as skipped with the holder named, the service logs it; nothing is crawled twice."""
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    with FaultServer() as server:
        config = write_config(tmp_path / "cfg", url, [rss_source(SLOW, _slow_feed(server))],
                              crawl={"per_domain_concurrency": 1, "concurrency": 1,
                                     "shared_host_concurrency": False})
        store = Store.from_url(url)
        try:
            first = _crawl(config, tmp_path / "first.log", SLOW)
            _wait_for(lambda: _lock_row(store, SLOW) is not None or first.poll() is not None,
                      60, "the first crawl to take the lock")
            supervisor = CrawlSupervisor(SchedulerStore(store.engine), config_path=config,
                                         kill_after=5, memory_limit_mb=1024)
            result = supervisor.run(SLOW, 120, threading.Event())
            assert first.poll() is None, "the first crawl ended before the service's run"
            _, err = first.communicate(timeout=120)
            assert first.returncode == 0, err.decode()[-3000:]
            runs = {r.id: r for r in store.runs(SLOW)}
            skipped = (runs[result.run_id].status, runs[result.run_id].first_error)
            first_status = [r.status for i, r in runs.items() if i != result.run_id]
            first_requests = sum(r.requests for i, r in runs.items() if i != result.run_id)
            pages = [p for p in server.routes if p.startswith("/slow/news/")]
            hits = sum(server.hits[p] for p in pages)
            stored = len(store.articles())
        finally:
            store.close()
    assert result.status == skipped[0] == "skipped" and result.first_error == skipped[1]
    assert skipped[1] is not None and skipped[1].startswith(
        f"source '{SLOW}' is already being crawled by newsmon crawl (pid {first.pid} on ")
    assert first_status == ["ok"] and stored == SLOW_ARTICLES
    # The service's run fetched nothing: every page request is the first crawl's (one per
    # article, more only where that crawl retried a page slowed down by a loaded machine).
    assert runs[result.run_id].requests == 0
    assert all(server.hits[p] >= 1 for p in pages) and SLOW_ARTICLES <= hits < first_requests
    record("integrity", f"the service's run of {SLOW} while `newsmon crawl` crawls it",
           "the run is recorded as skipped with the holder named (not failed: no back-off), "
           "its crawl process exits 14 without fetching; the running crawl finishes",
           status="skipped", first_error=str(skipped[1]).replace(str(first.pid), "PID"),
           stored=f"{SLOW_ARTICLES} / 0 (by the first crawl)")


LOAD_SOURCES, LOAD_PER_SOURCE, LOAD_SHARED = 4, 40, 10


def test_four_sources_crawled_at_once_share_wire_stories(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """Four `newsmon crawl --source` processes at once on one database, each source 40
    articles of which 10 are copies of the same wire stories: every article stored once,
    every copy in its story, no batch lost to "database is locked"."""
    backend = "SQLite" if make_url(db_url).get_backend_name() == "sqlite" else "PostgreSQL"
    with FaultServer(lifetime=300) as server:
        site = load_site(server, LOAD_SOURCES, LOAD_PER_SOURCE, LOAD_SHARED)
        config = load_config(site, tmp_path / "cfg", db_url)
        Store.from_url(db_url).close()
        procs = crawl_processes(config, list(site.feeds), tmp_path / "logs")
        codes = [p.wait(timeout=280) for p in procs]
    logs = {p.name: p.read_text() for p in (tmp_path / "logs").iterdir()}
    store = Store.from_url(db_url, migrate=False)
    try:
        result = load_check(store, site)
    finally:
        store.close()
    total = LOAD_SOURCES * LOAD_PER_SOURCE
    record("integrity", f"load: {LOAD_SOURCES} sources crawled at once by {LOAD_SOURCES} "
           f"`newsmon crawl --source` processes on one {backend} database, {total} articles, "
           f"{LOAD_SHARED} wire stories carried by every source",
           "writers queue on the write lock; every article stored once, every copy filed "
           "under its story",
           status=", ".join(sorted(set(result.statuses.values()))),
           stored=f"{sum(result.stored.values())} / 0; {LOAD_SHARED - len(result.split)} of "
                  f"{LOAD_SHARED} shared stories in one story; {result.twice} stored twice")
    assert codes == [0] * LOAD_SOURCES, {n: t[-2000:] for n, t in logs.items()}
    assert not {n: [line for line in t.splitlines() if "database is locked" in line]
                for n, t in logs.items() if "database is locked" in t}
    assert result.stored == {name: LOAD_PER_SOURCE for name in site.feeds}
    assert result.twice == 0 and result.locked == []
    assert set(result.statuses.values()) == {"ok"}
    assert result.split == {}, result.split
