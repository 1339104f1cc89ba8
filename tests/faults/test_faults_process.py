"""Process and database faults: ``kill -9`` of a real ``newsmon crawl`` mid-run, and the
database going away during a crawl (SQLite locked by another connection, PostgreSQL refusing
connections), on both back-ends."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from crawler.extensions.runs import ORPHAN_MESSAGE
from faults.harness import (
    PG_ADMIN_URL,
    crawl_case,
    load,
    reactor_test,
    rss_source,
    snapshot,
    throwaway_pg,
    write_config,
)
from faults.server import FaultServer, respond, slow
from faults.site import HealthySource, add_healthy, article_html, laughs_doctype, rss, rss_item
from storage import Store
from storage.models import Article, ArticleURL, CrawlRun

REPO = Path(__file__).resolve().parents[2]
SLOW = "slow-wire"
SLOW_ARTICLES = 20  # ~10 s of fetching at 0.5 s each: room to kill the crawl mid-run
ARTICLE_DELAY = 0.5


def _slow_source(server: FaultServer) -> tuple[str, list[str], list[str]]:
    """A feed of articles that each take ARTICLE_DELAY seconds: its URL, titles, paths."""
    titles, paths, items = [], [], []
    for i in range(1, SLOW_ARTICLES + 1):
        title = f"Slow wire report {i}: port congestion eases as customs adds night shifts"
        path = f"/slow/news/port-congestion-report-{i}-70{i:04d}.html"
        url = server.route(path, slow(ARTICLE_DELAY, respond(
            200, article_html(title, i), "text/html; charset=utf-8")))
        titles.append(title)
        paths.append(path)
        items.append(rss_item(url, title))
    feed = server.route("/slow/feed.xml", respond(200, rss(items),
                                                  "application/rss+xml; charset=utf-8"))
    return feed, titles, paths


def _newsmon(config: Path, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """``newsmon crawl --config`` as a user runs it; output to ``log`` (a pipe nobody reads
    would fill up and stall the crawl)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "newsmon", "crawl", "--config",
                                 str(config)], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(store: Store, source_name: str) -> int:
    try:
        return store.count_articles(source_name)
    except Exception:  # the crawl holds a write lock for a moment
        return 0


@pytest.mark.slow
def test_kill_9_mid_run_then_next_run_stores_everything_once(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    backend = make_url(db_url).get_backend_name()
    with FaultServer() as server:
        healthy = add_healthy(server)
        feed, titles, paths = _slow_source(server)
        config = write_config(tmp_path / "cfg", db_url, [
            rss_source(healthy.name, healthy.feed_url), rss_source(SLOW, feed)],
            crawl={"per_domain_concurrency": 1, "concurrency": 2})
        store = Store.from_url(db_url)
        try:
            first = _newsmon(config, tmp_path, tmp_path / "first.log")
            # Kill once part of the slow source is stored (buffered articles are written at
            # least every NEWSMON_BATCH_SECONDS) and more is still being fetched.
            _wait_for(lambda: _count(store, SLOW) > 0 or first.poll() is not None, 60,
                      "the first articles to be stored")
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            stored_before = store.count_articles(SLOW)
            killed_run = snapshot(store).run(SLOW)
            assert first.returncode == -signal.SIGKILL
            assert 0 < stored_before < SLOW_ARTICLES
            assert killed_run.status == "running"
            hits_before = {p: server.hits[p] for p in paths}

            second = _newsmon(config, tmp_path, tmp_path / "second.log")
            second.wait(60)
            assert second.returncode == 0, (tmp_path / "second.log").read_text()[-2000:]

            after = snapshot(store)
            assert sorted(after.titles[SLOW]) == sorted(titles)
            assert sorted(after.titles[healthy.name]) == sorted(healthy.titles)
            with store.session() as session:
                dupes = session.execute(select(Article.title, func.count()).group_by(
                    Article.title).having(func.count() > 1)).all()
                orphans = session.execute(select(func.count()).select_from(ArticleURL).where(
                    ~ArticleURL.article_id.in_(select(Article.id)))).scalar_one()
                killed = session.get(CrawlRun, killed_run.id)
                assert killed is not None
                killed_status = (killed.status, killed.first_error, killed.finished_at)
            assert dupes == [] and orphans == 0
            if backend == "sqlite":
                with store.engine.connect() as conn:
                    assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert killed_status[:2] == ("interrupted", ORPHAN_MESSAGE)
            assert killed_status[2] is not None
            assert after.run(SLOW).status == "ok" and after.run(SLOW).id != killed_run.id
            # What the first run stored was not fetched again.
            refetched = [p for p in paths if hits_before[p] and server.hits[p] > hits_before[p]]
            assert len(refetched) <= SLOW_ARTICLES - stored_before
        finally:
            store.close()
    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
    record("process", f"kill -9 of `newsmon crawl` mid-run ({name})",
           f"{stored_before} of {SLOW_ARTICLES} articles were stored before the kill and the "
           "run row was left 'running'; the next run closed that row as interrupted, stored "
           f"the other {SLOW_ARTICLES - stored_before} without refetching the first, nothing "
           "twice" + (", integrity_check ok" if backend == "sqlite" else ""),
           status=f"{killed_status[0]} (killed run), ok (next run)",
           first_error=killed_status[1] or "",
           stored=f"{SLOW_ARTICLES} / 0 after the next run")


# -- the database goes away ------------------------------------------------------------------

class Outage:
    """Makes the database unavailable and brings it back."""

    def start(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


class SqliteLock(Outage):
    """Another connection locks the file. ``exclusive``: it holds the file in exclusive
    locking mode (as a migration or a backup tool would) and every read and write elsewhere
    gets "database is locked"; this needs no other connection open, so it suits an outage
    from the start. ``writer``: it holds a write transaction open (a stuck writer), so
    reads still work and writes get "database is locked"; this works at any moment."""

    def __init__(self, path: str, mode: str = "exclusive") -> None:
        self.path = path
        self.mode = mode
        self.conn: sqlite3.Connection | None = None

    def start(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if self.mode == "exclusive":
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("UPDATE crawl_runs SET id = id WHERE 0")
        self.conn = conn

    def end(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.execute("ROLLBACK")
            conn.close()


class PgRefuse(Outage):
    """The throwaway database stops accepting connections and its sessions are terminated
    (as in a failover or a restart); the machine's PostgreSQL server keeps running."""

    def __init__(self, admin_url: str, name: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = name

    def _allow(self, allow: bool) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS '
                              f"{'true' if allow else 'false'}"))
            if not allow:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"),
                             {"n": self.name})

    def start(self) -> None:
        self._allow(False)

    def end(self) -> None:
        self._allow(True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage_db(request: pytest.FixtureRequest, tmp_path: Path
              ) -> Iterator[tuple[str, Store, Outage]]:
    """A database, a Store on it, and a way to make it go away. SQLite's busy timeout is
    cut from the production 30 s to 0.2 s, or every locked call would wait half a minute."""
    if request.param == "sqlite":
        path = str(tmp_path / "newsmon.db")
        Store.from_url(f"sqlite:///{path}").close()  # migrated as usual
        # storage.engine's pragmas, but busy_timeout set last (theirs sets 30 s, then needs
        # the lock for journal_mode, so a listener added after it would come too late).
        engine = create_engine(f"sqlite:///{path}")

        def pragmas(dbapi_conn: Any, _record: Any) -> None:
            for pragma in ("foreign_keys=ON", "busy_timeout=200", "journal_mode=WAL",
                           "synchronous=NORMAL"):
                dbapi_conn.execute(f"PRAGMA {pragma}")

        event.listen(engine, "connect", pragmas)
        store = Store(engine)
        outage: Outage = SqliteLock(path)
        yield "SQLite", store, outage
        outage.end()
        store.close()
        return
    for url in throwaway_pg():
        store = Store.from_url(url)
        outage = PgRefuse(PG_ADMIN_URL, make_url(url).database or "")
        try:
            yield "PostgreSQL", store, outage
        finally:
            outage.end()
            store.close()
            outage.admin.dispose()


def _release_when_all_retry(outage: Outage, names: set[str]) -> logging.Handler:
    """A log handler that ends the outage once every source's run has failed to record
    itself at least once (so each crawl met the outage from start to end)."""
    waiting = set(names)
    lock = threading.Lock()

    class Release(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            if "recording the run again" not in rec.getMessage():
                return
            with lock:
                args = rec.args if isinstance(rec.args, tuple) else ()
                waiting.discard(str(args[0]) if args else "")
                if not waiting:
                    outage.end()

    return Release(level=logging.WARNING)


def _runs_by_source(store: Store) -> dict[str, list[CrawlRun]]:
    out: dict[str, list[CrawlRun]] = {}
    for run in reversed(store.runs(limit=100)):
        out.setdefault(run.source_name, []).append(run)
    return out


async def _crawl_through_outage(store: Store, outage: Outage, settings: Any,
                                names: set[str]) -> None:
    handler = _release_when_all_retry(outage, names)
    runs_logger = logging.getLogger("crawler.extensions.runs")
    runs_logger.addHandler(handler)
    try:
        await crawl_case(settings, store, NEWSMON_RUN_RECORD_WAIT=20.0)
    finally:
        runs_logger.removeHandler(handler)
        outage.end()


@reactor_test
async def test_database_unavailable_for_the_whole_run(
        outage_db: tuple[str, Store, Outage], server: FaultServer, healthy: HealthySource,
        tmp_path: Path, record: Callable[..., None]) -> None:
    backend, store, outage = outage_db
    second = add_healthy(server, "/second", 2, name="second-wire")
    settings = load(write_config(tmp_path / "cfg", str(store.engine.url.render_as_string(
        hide_password=False)), [rss_source(healthy.name, healthy.feed_url),
                                rss_source(second.name, second.feed_url)]))
    outage.start()

    await _crawl_through_outage(store, outage, settings, {healthy.name, second.name})

    during = snapshot(store)
    runs = _runs_by_source(store)
    assert {name: len(r) for name, r in runs.items()} == {healthy.name: 1, second.name: 1}
    for name in (healthy.name, second.name):
        run = during.run(name)
        assert run.status == "failed" and run.finished_at is not None
        assert run.first_error is not None and run.first_error.startswith(
            "database unavailable when the run started: ")
        assert during.stored(name) == 0
    if backend == "SQLite":
        assert during.run(healthy.name).first_error == (
            "database unavailable when the run started: database is locked")
    # No article page was fetched: without the database the crawl cannot tell new from known.
    assert not any(server.hits[urlsplit(u).path] for u in healthy.urls)

    after = await crawl_case(settings, store)

    assert after.run(healthy.name).status == "ok" and after.run(second.name).status == "ok"
    assert sorted(after.titles[healthy.name]) == sorted(healthy.titles)
    assert sorted(after.titles[second.name]) == sorted(second.titles)
    record("process", f"database unavailable for a whole crawl run ({backend}: "
           + ("file locked by another connection" if backend == "SQLite"
              else "connections refused, sessions terminated") + ")",
           "the crawl finished; each source's run was recorded once, as failed, when the "
           "database came back; nothing half-written; the next run stored everything",
           status=during.run(healthy.name).status,
           first_error=during.run(healthy.name).first_error or "",
           stored=f"0 / 0, then {len(healthy.titles)} on the next run",
           healthy="(the database fault hits every source)")


@reactor_test
async def test_database_lost_mid_run(
        outage_db: tuple[str, Store, Outage], server: FaultServer, healthy: HealthySource,
        tmp_path: Path, record: Callable[..., None]) -> None:
    backend, store, outage = outage_db
    if isinstance(outage, SqliteLock):
        outage.mode = "writer"  # the crawl's connections are open by then
    first_page = urlsplit(healthy.urls[0]).path
    serve = server.routes[first_page]
    started = threading.Event()

    def lose_database_then_serve(h: Any) -> None:
        if not started.is_set():
            started.set()
            outage.start()
        serve(h)

    server.routes[first_page] = lose_database_then_serve
    settings = load(write_config(tmp_path / "cfg", str(store.engine.url.render_as_string(
        hide_password=False)), [rss_source(healthy.name, healthy.feed_url)]))

    await _crawl_through_outage(store, outage, settings, {healthy.name})

    during = snapshot(store)
    run = during.run(healthy.name)
    assert len(_runs_by_source(store)[healthy.name]) == 1
    assert run.status == "partial" and run.finished_at is not None
    assert run.first_error is not None and run.first_error.startswith(
        f"database unavailable: {len(healthy.titles)} articles not stored (")
    assert during.stored(healthy.name) == 0 and run.errors >= 1
    if backend == "SQLite":
        assert run.first_error == (f"database unavailable: {len(healthy.titles)} articles not "
                                   "stored (database is locked)")

    server.routes[first_page] = serve
    after = await crawl_case(settings, store)

    assert after.run(healthy.name).status == "ok"
    assert sorted(after.titles[healthy.name]) == sorted(healthy.titles)
    how = ("another connection holds the write lock" if backend == "SQLite"
           else "connections refused, sessions terminated")
    record("process", f"database lost mid-run, after the feed was read ({backend}: {how})",
           "articles fetched but their batch rolled back (nothing half-written); the run was "
           "recorded as partial once the database was back; no validators saved, so the next "
           "run fetched and stored everything",
           status=run.status, first_error=run.first_error or "",
           stored=f"0 / 0, then {len(healthy.titles)} on the next run",
           healthy="(the database fault hits every source)")


# -- memory ------------------------------------------------------------------------------------

MEMORY_SLACK_MIB = 80


def _crawl_peaks(runs: list[tuple[subprocess.Popen[bytes], FaultServer]]) -> list[float]:
    """Wait for the child processes; the peak resident memory (MiB) of each while crawling.

    Start-up is left out: each process's peak mark is reset (5 to /proc/PID/clear_refs) once
    its crawl reaches its server, then its VmHWM is read until it exits. (wait4's ru_maxrss
    cannot be used: a child inherits the peak of the pytest process it was forked from.)"""
    peaks = [0.0] * len(runs)
    reset = [False] * len(runs)
    deadline = time.monotonic() + 120
    while any(proc.poll() is None for proc, _ in runs):
        assert time.monotonic() < deadline, "the crawls did not finish"
        for i, (proc, server) in enumerate(runs):
            status = Path(f"/proc/{proc.pid}/status")
            if not reset[i] and sum(server.hits.values()) > 0:
                try:
                    Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
                except OSError:
                    pass  # exited already, or no such file: the peak includes start-up
                reset[i] = True
            if reset[i]:
                try:
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peaks[i] = max(peaks[i], int(line.split()[1]) / 1024)
                except (OSError, ValueError):
                    pass  # exiting
        time.sleep(0.02)
    return peaks


BILLION_LAUGHS = ('<?xml version="1.0"?>\n' + laughs_doctype()
                  + '<rss version="2.0"><channel><title>&lol9;</title></channel></rss>')


@pytest.mark.slow
def test_memory_stays_bounded_on_huge_pages_and_bombs(tmp_path: Path,
                                                      record: Callable[..., None]) -> None:
    from faults.server import gzip_bomb, gzipped, stream

    # One server per process, so that each one's first request is seen; robots.txt answers
    # slowly, holding the crawl back until its peak-RSS mark has been reset.
    with FaultServer() as base_server, FaultServer() as server:
        robots = slow(0.5, respond(404, "no robots.txt"))
        base_server.route("/robots.txt", robots)
        server.route("/robots.txt", robots)
        base_healthy = add_healthy(base_server)
        healthy = add_healthy(server)
        big = server.route("/big/feed.xml", stream(50 << 20, content_length=True))
        big_stream = server.route("/bigs/feed.xml", stream(50 << 20, content_length=False))
        bomb = server.route("/bomb/feed.xml", gzipped(b"", "application/rss+xml",
                                                      encoded=gzip_bomb(256)))
        bomb_file = server.route("/bomb/sitemap.xml.gz", respond(200, gzip_bomb(256),
                                                                 "application/x-gzip"))
        laughs = server.route("/laughs/feed.xml", respond(200, BILLION_LAUGHS,
                                                          "application/rss+xml"))
        base_db = f"sqlite:///{tmp_path / 'base.db'}"
        db = f"sqlite:///{tmp_path / 'newsmon.db'}"
        base_cfg = write_config(tmp_path / "base", base_db, [
            rss_source(base_healthy.name, base_healthy.feed_url)])
        fault_cfg = write_config(tmp_path / "faults", db, [
            rss_source(healthy.name, healthy.feed_url), rss_source("big-wire", big),
            rss_source("big-stream-wire", big_stream), rss_source("bomb-wire", bomb),
            {"name": "bomb-sitemap", "kind": "sitemap", "urls": [bomb_file]},
            rss_source("laughs-wire", laughs)])
        for url in (base_db, db):  # migrated first, so both runs do the same work
            Store.from_url(url).close()
        # The baseline (the healthy source alone) runs at the same time, to save a minute.
        base = _newsmon(base_cfg, tmp_path, tmp_path / "base.log")
        faulty = _newsmon(fault_cfg, tmp_path, tmp_path / "faults.log")
        baseline, peak = _crawl_peaks([(base, base_server), (faulty, server)])
        assert faulty.returncode == 0, (tmp_path / "faults.log").read_text()[-2000:]
        assert base.returncode == 0, (tmp_path / "base.log").read_text()[-2000:]
        assert baseline > 0 and peak > 0
        store = Store.from_url(db)
        try:
            result = snapshot(store)
        finally:
            store.close()
    for name in ("big-wire", "big-stream-wire", "bomb-wire", "bomb-sitemap", "laughs-wire"):
        assert result.run(name).status == "failed", name
    assert sorted(result.titles[healthy.name]) == sorted(healthy.titles)
    assert peak < baseline + MEMORY_SLACK_MIB, (baseline, peak)
    record("process", "memory: a 50 MB feed (with and without Content-Length), a gzip bomb "
           "over HTTP, a gzip-bomb sitemap file and a billion-laughs feed, in one `newsmon "
           "crawl` with the default 10 MiB cap",
           f"peak RSS while crawling {peak:.0f} MiB against "
           f"{baseline:.0f} MiB for the healthy source alone (bound: +{MEMORY_SLACK_MIB} MiB); "
           "all five refused, the healthy source stored",
           status="failed ×5", first_error=result.run("bomb-wire").first_error or "",
           stored="0 / 0", healthy=f"{len(result.titles[healthy.name])}/"
           f"{len(healthy.titles)}")
