"""StoragePipeline: writes articles in batched transactions and counts what each did."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from config.schema import Source
from crawler.dbthread import run_db
from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.settings import store_for
from crawler.spiders.failures import database_reason
from storage.article import ArticleRecord
from storage.batch import BatchResult, database_unavailable, store_batch
from storage.records import Outcome, StoryMatcher
from storage.store import Store
from storage.write import record_keys

if TYPE_CHECKING:
    from alerts.evaluate import AlertEvaluator

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Written:
    """What writing one batch did, from the database thread back to the reactor's."""

    count: int
    result: BatchResult | None = None
    failed: BaseException | None = None  # before the batch: the sources row could not
    alerts: int = 0  # alert events written to the outbox
    alert_error: str | None = None


class StoragePipeline:
    """Buffer items and upsert them ``batch_size`` at a time, or once the oldest has waited
    ``batch_seconds`` (a crawl killed on a slow site then loses little). An article the
    database refuses is dropped with its reason, its batch-mates stored
    (:func:`storage.batch.store_batch`); an unavailable database loses what was not written,
    counted as not stored; a search-index step that fails after the commit loses nothing.

    Batches are written in the database thread (:mod:`crawler.dbthread`), in order, while the
    crawl goes on. The item that closes a batch is passed on once its batch is written; while
    ``write_queue`` batches are being written, every further item waits for one of them to
    finish. A waiting item holds its response in Scrapy's scraper, which stops taking new
    downloads once those responses pass ``SCRAPER_SLOT_MAX_ACTIVE_SIZE``: a slow database
    slows the crawl down instead of filling memory."""

    def __init__(self, crawler: Crawler, stats: StatsCollector, batch_size: int = 50,
                 matcher: StoryMatcher | None = None, batch_seconds: float = 2.0,
                 write_queue: int = 2, alerts: AlertEvaluator | None = None,
                 source_order: list[str] | None = None) -> None:
        self.crawler = crawler
        # The sources file's order, for the credit of an article met again (Store.credit).
        self._order = source_order or []
        self.alerts = alerts  # watchlists, evaluated on each batch after its commit
        self.matcher = matcher
        self.stats = stats
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.write_queue = max(1, write_queue)
        self.store: Store | None = None
        self._batch: list[ArticleRecord] = []
        self._oldest = 0.0
        self._source: tuple[str, str] | None = None  # (name, kind) of the spider's source
        self._writing = 0  # batches handed to the database thread and not yet written
        self._waiters: list[Deferred[None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        assert crawler.stats is not None
        gazetteer = Gazetteer.load(crawler.settings.get("NEWSMON_ENTITIES_FILE"))
        watchlists = crawler.settings.getlist("NEWSMON_WATCHLISTS")
        alerts = None
        if watchlists:
            from alerts.evaluate import AlertEvaluator
            from config.watchlists import Watchlist

            alerts = AlertEvaluator([Watchlist.model_validate(w) for w in watchlists])
        return cls(crawler, crawler.stats, crawler.settings.getint("NEWSMON_BATCH_SIZE", 50),
                   SimilarityMatcher(gazetteer),
                   crawler.settings.getfloat("NEWSMON_BATCH_SECONDS", 2.0),
                   crawler.settings.getint("NEWSMON_WRITE_QUEUE", 2), alerts,
                   crawler.settings.getlist("NEWSMON_SOURCE_ORDER"))

    def open_spider(self) -> None:
        assert self.crawler.spider is not None
        spider = self.crawler.spider
        self.store = store_for(self.crawler, spider)
        source = getattr(spider, "source", None)
        if isinstance(source, Source):
            self._source = (source.name, str(source.kind))

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleRecord):
            if not self._batch:
                self._oldest = time.monotonic()
            self._batch.append(item)
            if (len(self._batch) >= self.batch_size
                    or time.monotonic() - self._oldest >= self.batch_seconds):
                await self.flush()
            elif self._writing >= self.write_queue:
                await self._a_write_finished()
        return item

    async def flush(self) -> None:
        """Write the buffered items (in the database thread) and count what each did."""
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        assert self.store is not None, "open_spider was not called"
        self._writing += 1
        try:
            written = await run_db(self._write, self.store, batch)
        finally:
            self._writing -= 1
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)
        self._count(written)

    async def _a_write_finished(self) -> None:
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        await maybe_deferred_to_future(waiter)

    def _write(self, store: Store, batch: list[ArticleRecord]) -> _Written:
        """In the database thread: the sources row, then the batch."""
        try:
            if self._source is not None:  # the sources row says the configured kind
                store.source_id(*self._source)
        except Exception as exc:
            return _Written(len(batch), failed=exc)
        result = store_batch(store, batch, self.matcher)
        written = _Written(len(batch), result=result)
        if self._order and self._source is not None:  # met again: maybe credited here now
            again = [k for rec, outcome in zip(batch, result.outcomes, strict=True)
                     if outcome is not None and outcome is not Outcome.NEW
                     for k in record_keys(rec)]
            if again:
                try:
                    store.credit(again, self._source[0], self._order)
                except Exception:  # the articles are stored; only their credit is not moved
                    logger.exception("credit of %d stored articles not moved", len(again))
        if self.alerts is not None and result.stored:
            try:  # the outbox only: sending is the delivery worker's (alerts.delivery)
                written.alerts = self.alerts.after_write(store, batch, result.outcomes)
            except Exception as exc:  # the articles are stored; their alerts are lost
                logger.exception("alerts of %d stored articles not written", result.stored)
                written.alert_error = database_reason(exc)
        return written

    def _count(self, written: _Written) -> None:
        if written.failed is not None:
            exc = written.failed
            self._not_stored(written.count, exc, "database unavailable"
                             if database_unavailable(exc) else "database write failed")
            return
        result = written.result
        assert result is not None
        if written.alerts:
            self.stats.inc_value("newsmon/alerts", written.alerts)
        if written.alert_error is not None:
            self.stats.inc_value("newsmon/alert_failures")
        for outcome in result.outcomes:
            if outcome is not None:
                self.stats.inc_value(f"newsmon/{outcome.value}")
        for refused in result.refused:
            # Dropped as Scrapy counts drops; an error too: the article should have been
            # stored, and the run says so (partial, its first error names the article).
            self.stats.inc_value("newsmon/store_rejected")
            self.stats.inc_value("newsmon/dropped")
            self.stats.inc_value(f"newsmon/dropped/not stored: {refused.kind}")
            self.stats.inc_value("item_dropped_count")
            self.stats.inc_value(f"item_dropped_reasons_count/{refused.kind}")
            self._error(refused.message)
        if result.unavailable is not None:
            self._not_stored(result.lost, result.unavailable, "database unavailable")
        if result.index_error is not None:
            # Stored and queued for the indexer (Store.index_written logged it): no loss.
            self.stats.inc_value("newsmon/search_index_failures")

    def _not_stored(self, count: int, exc: BaseException | str, what: str) -> None:
        """``count`` articles not stored because the database could not be written: none of
        them is counted as stored."""
        self.stats.inc_value("newsmon/store_failures", count)
        self._error(f"{what}: {count} article{'' if count == 1 else 's'} not stored "
                    f"({exc if isinstance(exc, str) else database_reason(exc)})")

    def _error(self, message: str) -> None:
        self.stats.inc_value("newsmon/errors")
        if not self.stats.get_value("newsmon/first_error"):
            self.stats.set_value("newsmon/first_error", message)
        logger.error("%s", message)

    async def close_spider(self) -> None:
        await self.flush()
        while self._writing:  # the batches still being written when the spider closed
            await self._a_write_finished()

