"""A database that stalls for seconds stalls no download: the crawl's database calls run in a
thread of their own (crawler.dbthread). Real crawl of a local server; the stall is another
connection holding the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE articles)
for STALL seconds, taken while the articles are still being downloaded."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crawler.runner import crawl_async
from faults.harness import FAULT_OVERRIDES, load, reactor_test, rss_source, snapshot, write_config
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


@reactor_test
async def test_downloads_go_on_while_the_database_stalls(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    stall = Stall(db_url)
    events: list[tuple[float, str]] = []  # (when, "response" or "item"), on the reactor
    with FaultServer() as server:
        feed, paths = _site(server, stall)
        settings = load(write_config(tmp_path / "cfg", db_url, [rss_source(SOURCE, feed)],
                                     crawl={"concurrency": 2, "per_domain_concurrency": 2}))
        store = Store.from_url(db_url)
        try:
            results = await crawl_async(
                settings, settings.enabled_sources(), store=store,
                progress=lambda _source, event: events.append((time.monotonic(), event)),
                **OVERRIDES)
            stall.join()
            case = snapshot(store, results)
        finally:
            store.close()
        arrived = sorted(t for p in paths for t in server.hit_times.get(p, []))
    assert stall.began is not None and stall.ended is not None
    # Well inside the stall: after the first write met the lock, before it was let go.
    inside = (stall.began + 1.0, stall.ended - 0.2)
    requested = [t for t in arrived if inside[0] < t < inside[1]]
    answered = [t for t, e in events if e == "response" and inside[0] < t < inside[1]]
    passed = [t for t, e in events if e == "item" and stall.began + 0.2 < t < stall.ended]
    # The server was asked for articles, and the crawl took in their pages, meanwhile...
    assert len(requested) >= 3, (len(requested), len(arrived))
    assert len(answered) >= 3, len(answered)
    # ...while no article got through its write: the database really stalled.
    assert passed == [], len(passed)
    assert sorted(case.titles[SOURCE]) == sorted(_title(i) for i in range(1, ARTICLES + 1))
    run = case.run(SOURCE)
    assert (run.status, run.first_error, run.new) == ("ok", None, ARTICLES)
    backend = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    record("process", f"the database stalls for {STALL:g} s mid-crawl ({backend}: another "
           "connection holds the write lock)",
           f"downloads go on: {len(requested)} article requests reached the server inside the "
           f"stall, {len(passed)} articles passed their write in it; all {ARTICLES} stored "
           "once it ended", case=case, source=SOURCE)
