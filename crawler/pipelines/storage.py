"""StoragePipeline: writes articles in batched transactions and counts what each did."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import InterfaceError, OperationalError

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.items import ArticleItem
from crawler.settings import store_for
from crawler.spiders.failures import database_reason
from storage.records import StoryMatcher
from storage.store import Store

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Buffer items and upsert them ``batch_size`` at a time, or once the oldest has waited
    ``batch_seconds`` (a crawl killed on a slow site then loses little); a batch is all or
    nothing."""

    def __init__(self, crawler: Crawler, stats: StatsCollector, batch_size: int = 50,
                 matcher: StoryMatcher | None = None, batch_seconds: float = 2.0) -> None:
        self.crawler = crawler
        self.matcher = matcher
        self.stats = stats
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.store: Store | None = None
        self._batch: list[ArticleItem] = []
        self._oldest = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        assert crawler.stats is not None
        gazetteer = Gazetteer.load(crawler.settings.get("NEWSMON_ENTITIES_FILE"))
        return cls(crawler, crawler.stats, crawler.settings.getint("NEWSMON_BATCH_SIZE", 50),
                   SimilarityMatcher(gazetteer),
                   crawler.settings.getfloat("NEWSMON_BATCH_SECONDS", 2.0))

    def open_spider(self) -> None:
        assert self.crawler.spider is not None
        self.store = store_for(self.crawler, self.crawler.spider)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            if not self._batch:
                self._oldest = time.monotonic()
            self._batch.append(item)
            if (len(self._batch) >= self.batch_size
                    or time.monotonic() - self._oldest >= self.batch_seconds):
                self.flush()
        return item

    def flush(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        assert self.store is not None, "open_spider was not called"
        try:
            outcomes = self.store.upsert_articles(batch, self.matcher)
        except Exception as exc:
            # The transaction rolled back: none of the batch is stored, so none is counted.
            self.stats.inc_value("newsmon/errors")
            self.stats.inc_value("newsmon/store_failures", len(batch))
            what = ("database unavailable" if isinstance(exc, OperationalError | InterfaceError)
                    else "database write failed")
            message = f"{what}: {len(batch)} articles not stored ({database_reason(exc)})"
            if not self.stats.get_value("newsmon/first_error"):
                self.stats.set_value("newsmon/first_error", message)
            logger.error("%s", message)
            return
        for outcome in outcomes:
            self.stats.inc_value(f"newsmon/{outcome.value}")

    def close_spider(self) -> None:
        self.flush()

