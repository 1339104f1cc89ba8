"""Run crawls: one Scrapy crawler per source, in this process, and report what each did."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess, CrawlerRunner

from config.schema import Settings, Source
from crawler.extensions.runs import collect
from crawler.run_lock import SKIPPED, Locked, run_locks
from crawler.settings import scrapy_settings
from crawler.spiders import spider_for
from storage.records import RunStats
from storage.store import Store

logger = logging.getLogger(__name__)

# (source name, event) where event is "response" or "item".
ProgressCallback = Callable[[str, str], None]


@dataclass(slots=True)
class SourceResult:
    source: str
    status: str
    stats: RunStats
    run_id: int | None


class _Progress:
    """Signal handlers bound to one source (kept referenced: Scrapy holds them weakly)."""

    def __init__(self, source: str, callback: ProgressCallback) -> None:
        self.source = source
        self.callback = callback

    def response(self, **_: Any) -> None:
        self.callback(self.source, "response")

    def item(self, **_: Any) -> None:
        self.callback(self.source, "item")


def _prepare(
    runner: CrawlerRunner, sources: Sequence[Source], store: Store,
    progress: ProgressCallback | None, keep: list[Any],
) -> list[tuple[Source, Crawler]]:
    pairs = []
    for source in sources:
        crawler = runner.create_crawler(spider_for(source))
        if progress is not None:
            handler = _Progress(source.name, progress)
            keep.append(handler)
            crawler.signals.connect(handler.response, signal=signals.response_received)
            crawler.signals.connect(handler.item, signal=signals.item_scraped)
        pairs.append((source, crawler))
    return pairs


def results(pairs: Sequence[tuple[Source, Crawler]], locked: Locked | None = None,
            order: Sequence[Source] = ()) -> list[SourceResult]:
    """Each source's result, in ``order`` (default: the crawled ones); a source refused by
    its run lock is ``skipped``, with the refusal as its first error."""
    out = []
    refused = locked.refused if locked is not None else {}
    crawled = {s.name for s, _ in pairs}
    for source in order:
        if source.name in refused and source.name not in crawled:
            out.append(SourceResult(source.name, SKIPPED,
                                    RunStats(first_error=refused[source.name]), None))
    for source, crawler in pairs:
        stats = crawler.stats
        assert stats is not None
        run_id = stats.get_value("newsmon/run_id")
        out.append(SourceResult(
            source=source.name, status=str(stats.get_value("newsmon/status", "failed")),
            stats=collect(stats, crawler.spider), run_id=int(run_id) if run_id else None,
        ))
    return out


def crawl(
    settings: Settings, sources: Sequence[Source], *, store: Store | None = None,
    progress: ProgressCallback | None = None, run_lock: str | None = "newsmon crawl",
    **overrides: Any,
) -> list[SourceResult]:
    """Crawl ``sources`` once, concurrently, in this process (blocks; starts the reactor).

    Each source's run lock is taken first, as ``run_lock`` (the command's name; None: the
    caller holds them): a source another crawl is running is not crawled, its result is
    ``skipped`` with a message naming the holder. The reactor cannot be restarted: call
    this at most once per process.
    """
    store = store or Store.from_url(settings.database_url)
    run_id = overrides.get("NEWSMON_RUN_ID")
    with run_locks(store, sources, run_lock, int(run_id) if run_id else None) as locked:
        if not locked.sources:
            return results([], locked, sources)
        values = scrapy_settings(settings, **overrides)
        process = CrawlerProcess(values)
        keep: list[Any] = []
        pairs = _prepare(process, locked.sources, store, progress, keep)
        for source, crawler in pairs:
            process.crawl(crawler, source=source, store=store)
        locked.start_heartbeat()
        process.start()
    return results(pairs, locked, sources)


async def crawl_async(
    settings: Settings, sources: Sequence[Source], *, store: Store,
    progress: ProgressCallback | None = None, run_lock: str | None = "newsmon crawl",
    **overrides: Any,
) -> list[SourceResult]:
    """Crawl ``sources`` on an already running Twisted reactor (tests, embedding); run
    locks as in :func:`crawl`."""
    with run_locks(store, sources, run_lock) as locked:
        values = scrapy_settings(settings, **overrides)
        runner = CrawlerRunner(values)
        keep: list[Any] = []
        pairs = _prepare(runner, locked.sources, store, progress, keep)
        for source, crawler in pairs:
            runner.crawl(crawler, source=source, store=store)
        locked.start_heartbeat()
        await runner.join()
    return results(pairs, locked, sources)
