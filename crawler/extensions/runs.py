"""RunRecorder: one crawl_runs row per spider run, opened at start and closed with its counts.

The database may be away when a run starts or ends (a locked SQLite file, a PostgreSQL restart).
Then the run still happens, fails cleanly (its errors say "database unavailable") and is
recorded when the database is back: the row is written at the end of the run, retried for up
to ``NEWSMON_RUN_RECORD_WAIT`` seconds.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import sleep

from crawler.dbthread import run_db
from crawler.settings import store_for
from crawler.spiders.failures import database_reason
from storage.records import RunStats
from storage.run_locks import pid_alive
from storage.scheduler_store import SchedulerStore
from storage.store import Store

logger = logging.getLogger(__name__)

# Why Scrapy closed a spider -> how the run ended, when it did not simply finish.
_CLOSE_STATUS = {
    "closespider_timeout": "timeout",
    "shutdown": "interrupted",
    "memusage_exceeded": "failed",
    "cancelled": "interrupted",
}


def run_status(reason: str, stats: RunStats, start_urls: int, start_failures: int) -> str:
    """ok, partial, failed, timeout or interrupted, from the close reason and the counters."""
    if reason in _CLOSE_STATUS:
        return _CLOSE_STATUS[reason]
    if start_urls and start_failures >= start_urls:
        return "failed"
    if stats.errors:
        return "partial"
    return "ok"


def collect(stats: StatsCollector, spider: Spider | None = None) -> RunStats:
    def get(key: str) -> int:
        return int(stats.get_value(key, 0) or 0)

    # The stats hold the first error of the run, whoever met it (spider, pipeline, recorder).
    first_error = stats.get_value("newsmon/first_error") or getattr(spider, "first_error", None)
    return RunStats(
        requests=get("downloader/request_count"),
        bytes=get("downloader/response_bytes"),
        pages=get("response_received_count"),
        new=get("newsmon/new"),
        updated=get("newsmon/updated"),
        # A rejected re-fetch (kept as a version only) leaves its article unchanged.
        unchanged=(get("newsmon/unchanged") + get("newsmon/skipped_known")
                   + get("newsmon/rejected")),
        dropped=get("newsmon/dropped"),
        errors=get("newsmon/errors"),
        first_error=first_error,
        blocked=get("newsmon/blocked") + get("newsmon/walls"),
        pending=get("newsmon/pending"),
    )


ORPHAN_MESSAGE = ("the crawl process ended without recording the end of its run (killed or "
                  "crashed)")


class RunRecorder:
    """Opens a crawl_runs row when the spider opens (or adopts ``run_id``, created by a
    supervisor that may have to close it itself if this process is killed) and closes it.

    A run that opens its own row first closes, as ``interrupted``, the rows that crawl
    processes on this host left ``running`` when they died (``kill -9``, a crash): no
    supervisor is left to close those.
    """

    def __init__(self, crawler: Crawler, stats: StatsCollector, run_id: int | None = None,
                 record_wait: float = 30.0) -> None:
        self.crawler = crawler
        self.stats = stats
        self.run_id = run_id
        self.record_wait = record_wait
        self.store: Store | None = None
        self.started_at = datetime.now(UTC)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        assert crawler.stats is not None
        run_id = crawler.settings.getint("NEWSMON_RUN_ID", 0) or None
        ext = cls(crawler, crawler.stats, run_id,
                  crawler.settings.getfloat("NEWSMON_RUN_RECORD_WAIT", 30.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self, spider: Spider) -> None:
        self.store = store_for(self.crawler, spider)
        self.started_at = datetime.now(UTC)
        if self.run_id is None:
            try:
                self.run_id = await run_db(self.store.start_run, spider.name, self.started_at)
            except Exception as exc:  # recorded at the end, once the database is back
                self._error(f"database unavailable when the run started: "
                            f"{database_reason(exc)}")
                logger.error("%s: could not open a run row (%s); will record it at the end",
                             spider.name, database_reason(exc))
                return
            await run_db(self._close_orphans)
        self.stats.set_value("newsmon/run_id", self.run_id)

    def _error(self, message: str) -> None:
        self.stats.inc_value("newsmon/errors")
        if not self.stats.get_value("newsmon/first_error"):
            self.stats.set_value("newsmon/first_error", message)

    def _close_orphans(self) -> None:
        """In the database thread: close the runs dead crawl processes on this host left."""
        assert self.store is not None
        host, me = socket.gethostname(), os.getpid()

        def orphan(run_host: str | None, pid: int | None, _started: datetime) -> bool:
            return run_host == host and pid is not None and pid != me and not pid_alive(pid)

        try:
            closed = SchedulerStore(self.store.engine).close_orphaned_runs(orphan,
                                                                           ORPHAN_MESSAGE)
        except Exception:
            logger.exception("could not close runs left running by dead crawl processes")
            return
        if closed:
            logger.warning("closed %d runs left running by dead crawl processes as "
                           "interrupted: %s", len(closed), ", ".join(map(str, closed)))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        run = collect(self.stats, spider)
        source = getattr(spider, "source", None)
        status = run_status(reason, run, len(source.urls) if source else 0,
                            int(self.stats.get_value("newsmon/start_failures", 0) or 0))
        self.stats.set_value("newsmon/status", status)
        if self.store is None:
            return
        delay, waited = 0.25, 0.0
        while True:
            try:
                await run_db(self._record, spider.name, status, run)
                return
            except Exception as exc:
                if waited >= self.record_wait:
                    logger.error("%s: could not record the end of run %s: %s", spider.name,
                                 self.run_id or "(not opened)", database_reason(exc))
                    return
                logger.warning("%s: database unavailable (%s); recording the run again in "
                               "%.1f s", spider.name, database_reason(exc), delay)
            finally:
                if self.run_id is not None:  # opened just now, by _record
                    self.stats.set_value("newsmon/run_id", self.run_id)
            await sleep(delay)
            waited += delay
            delay = min(delay * 2, 4.0, max(self.record_wait - waited, 0.05))

    def _record(self, name: str, status: str, run: RunStats) -> None:
        """In the database thread (the reactor thread awaits it): close the run's row, opening
        it first if it could not be opened at the start."""
        assert self.store is not None
        if self.run_id is None:
            self.run_id = self.store.start_run(name, self.started_at)
        self.store.finish_run(self.run_id, status, run)
