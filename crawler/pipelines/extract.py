"""ExtractionPipeline: turns each fetched page the spider hands on into an article item."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from config.schema import Source
from crawler.extraction.page import FetchedPage, article_from_page
from crawler.fallback import RetryPolicy
from crawler.urls import url_key


class ExtractionPipeline:
    """The first pipeline: a :class:`~crawler.extraction.page.FetchedPage` in, its
    :class:`~storage.article.ArticleRecord` out (:func:`crawler.extraction.page.article_from_page`),
    noted in the spider's entry ledger under the entry that listed it
    (:mod:`crawler.spiders.entries`); a refused page or a wall gives the entry's article,
    tried again as :class:`~crawler.fallback.RetryPolicy` says. An entry whose URL is
    unusable is dropped. Anything else passes through."""

    def __init__(self, crawler: Crawler, stats: StatsCollector) -> None:
        self.crawler = crawler
        self.stats = stats
        self.source = "unknown"
        self.site_tz = "UTC"
        self.selectors: dict[str, str] | None = None
        self.retry = RetryPolicy.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionPipeline:
        assert crawler.stats is not None
        return cls(crawler, crawler.stats)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        if isinstance(source, Source):
            self.source = source.name
            self.site_tz = source.timezone
            # 'links' picks article links on listing pages; the rest apply to article pages.
            self.selectors = {k: v for k, v in source.selectors.items() if k != "links"
                              } or None
        elif spider is not None:
            self.source = spider.name

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        article = article_from_page(item, source=self.source, site_tz=self.site_tz,
                                    selectors=self.selectors, next_try=self.retry.next_try)
        if article is None:
            # Not met in practice: the spider keyed the entry by this URL already.
            raise DropItem(f"invalid URL: {item.hint.url}")
        if article.wall or (item.html is not None and article.page_error is not None):
            # A wall page (kept as a rejected re-fetch, or replaced by the entry's article):
            # counted as blocked in the run.
            self.stats.inc_value("newsmon/walls")
        entries = getattr(self.crawler.spider, "entries", None)
        if entries is not None:
            entries.produced(url_key(item.hint.url), article.url_key)
        return article
