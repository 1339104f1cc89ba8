"""StoragePipeline: writes articles in batched transactions and counts what each did."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.items import ArticleItem
from crawler.settings import store_for
from storage.records import StoryMatcher
from storage.store import Store

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Buffer items and upsert them ``batch_size`` at a time; a batch is all or nothing."""

    def __init__(self, crawler: Crawler, stats: StatsCollector, batch_size: int = 50,
                 matcher: StoryMatcher | None = None) -> None:
        self.crawler = crawler
        self.matcher = matcher
        self.stats = stats
        self.batch_size = batch_size
        self.store: Store | None = None
        self._batch: list[ArticleItem] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        assert crawler.stats is not None
        gazetteer = Gazetteer.load(crawler.settings.get("NEWSMON_ENTITIES_FILE"))
        return cls(crawler, crawler.stats, crawler.settings.getint("NEWSMON_BATCH_SIZE", 50),
                   SimilarityMatcher(gazetteer))

    def open_spider(self) -> None:
        assert self.crawler.spider is not None
        self.store = store_for(self.crawler, self.crawler.spider)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            self._batch.append(item)
            if len(self._batch) >= self.batch_size:
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
            if not self.stats.get_value("newsmon/first_error"):
                self.stats.set_value("newsmon/first_error", f"database write failed: {exc}")
            logger.error("could not store %d articles: %s", len(batch), exc)
            return
        for outcome in outcomes:
            self.stats.inc_value(f"newsmon/{outcome.value}")

    def close_spider(self) -> None:
        self.flush()
