"""A database that stalls for seconds stalls no download: the crawl's database calls run in a
thread of their own (crawler.dbthread). Real crawl of a local server; the stall is another
connection holding the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE articles)
for STALL seconds, taken while the articles are still being downloaded."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crawler.runner import crawl_async
from faults.harness import (
    FAULT_OVERRIDES,
    CaseRun,
    load,
    reactor_test,
    rss_source,
    snapshot,
    write_config,
)
from faults.server import Behaviour, FaultHandler, FaultServer, respond, slow
from faults.site import article_html, rss, rss_item
from storage import Store

SOURCE = "stall-wire"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
STALL = 3.0  # seconds the other connection holds the lock
ARTICLES = 24
DELAY = 0.3  # each article page takes this long; two at a time: about 3.6 s of downloads
STALL_AT = 3  # the lock is taken when the server is asked for its third article page
# One article per batch: every item waits for its own write, none passes while writes stall.
OVERRIDES = {**FAULT_OVERRIDES, "NEWSMON_BATCH_SIZE": 1}


class Stall:
    """Another connection to the database that holds its write lock for ``STALL`` seconds,
    from a thread of its own; :meth:`begin` returns once the lock is held."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.held = threading.Event()
        self.began: float | None = None
        self.ended: float | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._hold, name="stall", daemon=True)
                self._thread.start()
        assert self.held.wait(10), "the stall could not take the lock"

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(STALL + 10)

    def _hold(self) -> None:
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite":
            db = sqlite3.connect(str(url.database), isolation_level=None, timeout=10)
            try:
                db.execute("BEGIN IMMEDIATE")  # the file's write lock, as a writer takes it
                self._wait()
                db.execute("ROLLBACK")
            finally:
                db.close()
            return
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE"))
                self._wait()
        finally:
            engine.dispose()

    def _wait(self) -> None:
        self.began = time.monotonic()
        self.held.set()
        time.sleep(STALL)
        self.ended = time.monotonic()


def _site(server: FaultServer, stall: Stall) -> tuple[str, list[str]]:
    """The feed and its article pages; the request for the ``STALL_AT``-th article page to
    arrive (Scrapy picks the order) waits until the stall holds the lock."""
    asked = iter(range(1, ARTICLES * 10))
    lock = threading.Lock()

    def counted(then: Behaviour) -> Behaviour:
        def behaviour(h: FaultHandler) -> None:
            with lock:
                n = next(asked)
            if n == STALL_AT:
                stall.begin()
            then(h)
        return behaviour

    items, paths = [], []
    for i in range(1, ARTICLES + 1):
        path = f"/news/coastal-radar-station-{i}-20261120.html"
        page = respond(200, article_html(_title(i), i), HTML)
        items.append(rss_item(server.route(path, counted(slow(DELAY, page))), _title(i)))
        paths.append(path)
    feed = server.route("/feed.xml", respond(200, rss(items, link=server.url("/")), RSS))
    return feed, paths


def _title(i: int) -> str:
    return f"Coastal radar station number {i} opens on the western seaboard"


@dataclass(slots=True)
class Stalled:
    """What a crawl did around the stall (times from time.monotonic)."""

    case: CaseRun
    began: float
    ended: float
    arrived: list[float]  # article requests, as the server got them
    events: list[tuple[float, str]]  # (when, "response" or "item"), on the reactor

    def requested(self, start: float, end: float) -> int:
        return sum(1 for t in self.arrived if self.began + start < t < self.ended + end)

    def seen(self, event: str, start: float, end: float) -> int:
        return sum(1 for t, e in self.events
                   if e == event and self.began + start < t < self.ended + end)


async def _crawl_through_a_stall(db_url: str, folder: Path, **overrides: Any) -> Stalled:
    stall = Stall(db_url)
    events: list[tuple[float, str]] = []
    with FaultServer() as server:
        feed, paths = _site(server, stall)
        settings = load(write_config(folder, db_url, [rss_source(SOURCE, feed)],
                                     crawl={"concurrency": 2, "per_domain_concurrency": 2}))
        store = Store.from_url(db_url)
        try:
            results = await crawl_async(
                settings, settings.enabled_sources(), store=store,
                progress=lambda _source, event: events.append((time.monotonic(), event)),
                **{**OVERRIDES, **overrides})
            stall.join()
            case = snapshot(store, results)
        finally:
            store.close()
        arrived = sorted(t for p in paths for t in server.hit_times.get(p, []))
    assert stall.began is not None and stall.ended is not None
    assert sorted(case.titles[SOURCE]) == sorted(_title(i) for i in range(1, ARTICLES + 1))
    run = case.run(SOURCE)
    assert (run.status, run.first_error, run.new) == ("ok", None, ARTICLES)
    return Stalled(case, stall.began, stall.ended, arrived, events)


def _backend(db_url: str) -> str:
    return "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"


@reactor_test
async def test_downloads_go_on_while_the_database_stalls(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    got = await _crawl_through_a_stall(db_url, tmp_path / "cfg")
    # Well inside the stall: after the first write met the lock, before it was let go.
    requested = got.requested(1.0, -0.2)
    answered = got.seen("response", 1.0, -0.2)
    passed = got.seen("item", 0.2, 0.0)
    # The server was asked for articles, and the crawl took in their pages, meanwhile...
    assert requested >= 3, (requested, len(got.arrived))
    assert answered >= 3, answered
    # ...while no article got through its write: the database really stalled.
    assert passed == 0, passed
    record("process", f"the database stalls for {STALL:g} s mid-crawl ({_backend(db_url)}: "
           "another connection holds the write lock)",
           f"downloads go on: {requested} article requests reached the server inside the "
           f"stall, {passed} articles passed their write in it; all {ARTICLES} stored "
           "once it ended", case=got.case, source=SOURCE)


@reactor_test
async def test_a_stalled_database_holds_the_crawl_back_instead_of_filling_memory(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """Articles waiting for their write hold their pages in Scrapy's scraper; past
    SCRAPER_SLOT_MAX_ACTIVE_SIZE (here: about three pages) no new download starts."""
    size = len(article_html(_title(ARTICLES), ARTICLES).encode())
    got = await _crawl_through_a_stall(db_url, tmp_path / "cfg",
                                       SCRAPER_SLOT_MAX_ACTIVE_SIZE=3 * size)
    # Three pages held, one more over the limit, and the two downloads already under way.
    requested = got.requested(0.0, 0.0)
    assert requested <= 6, requested
    assert got.seen("item", 0.2, 0.0) == 0
    record("process", f"the database stalls for {STALL:g} s mid-crawl ({_backend(db_url)}), "
           "with the scraper's memory for waiting pages capped at three pages",
           f"the crawl holds back: {requested} article requests reached the server during "
           f"the stall; all {ARTICLES} stored once it ended", case=got.case, source=SOURCE)
