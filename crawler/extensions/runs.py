"""RunRecorder: one crawl_runs row per spider run, opened at start and closed with its counts."""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.settings import store_for
from storage.records import RunStats
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

    first_error = getattr(spider, "first_error", None) or stats.get_value("newsmon/first_error")
    return RunStats(
        requests=get("downloader/request_count"),
        bytes=get("downloader/response_bytes"),
        pages=get("response_received_count"),
        new=get("newsmon/new"),
        updated=get("newsmon/updated"),
        unchanged=get("newsmon/unchanged") + get("newsmon/skipped_known"),
        dropped=get("newsmon/dropped"),
        errors=get("newsmon/errors"),
        first_error=first_error,
    )


class RunRecorder:
    """Opens a crawl_runs row when the spider opens (or adopts ``run_id``, created by a
    supervisor that may have to close it itself if this process is killed) and closes it."""

    def __init__(self, crawler: Crawler, stats: StatsCollector, run_id: int | None = None
                 ) -> None:
        self.crawler = crawler
        self.stats = stats
        self.run_id = run_id
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        assert crawler.stats is not None
        run_id = crawler.settings.getint("NEWSMON_RUN_ID", 0) or None
        ext = cls(crawler, crawler.stats, run_id)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.store = store_for(self.crawler, spider)
        if self.run_id is None:
            self.run_id = self.store.start_run(spider.name)
        self.stats.set_value("newsmon/run_id", self.run_id)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run_id is None or self.store is None:
            return
        run = collect(self.stats, spider)
        source = getattr(spider, "source", None)
        status = run_status(reason, run, len(source.urls) if source else 0,
                            int(self.stats.get_value("newsmon/start_failures", 0) or 0))
        self.stats.set_value("newsmon/status", status)
        try:
            self.store.finish_run(self.run_id, status, run)
        except Exception:
            logger.exception("could not record the end of run %s", self.run_id)
