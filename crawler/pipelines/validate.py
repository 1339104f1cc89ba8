"""ValidationPipeline: keeps out what is not an article, and says why."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.extraction.pagetype import final
from storage.article import ArticleRecord
from storage.revisions import is_front_page
from storage.text import sanitise_record

logger = logging.getLogger(__name__)


class ValidationPipeline:
    """Sanitise and cap every text field (storage.text); drop items with no title, no
    article body (unless kept from the entry of a refused page), or an unusable URL (one
    over its cap), and articles that now redirect to the site's front page; count each
    reason. A re-fetch of a stored article is
    passed on whatever it is: the store compares it with the stored text and keeps a worse
    one as a rejected version (storage.revisions)."""

    def __init__(self, crawler: Crawler, stats: StatsCollector, min_body_chars: int = 200
                 ) -> None:
        self.crawler = crawler
        self.stats = stats
        self.min_body_chars = min_body_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidationPipeline:
        assert crawler.stats is not None
        return cls(crawler, crawler.stats,
                   crawler.settings.getint("NEWSMON_MIN_BODY_CHARS", 200))

    def _drop(self, reason: str, item: ArticleRecord) -> DropItem:
        self.stats.inc_value(f"newsmon/dropped/{reason}")
        self.stats.inc_value("newsmon/dropped")
        return DropItem(f"{reason}: {item.url}")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        # Text enters here, once: cleaned and capped the same for every database.
        unusable = sanitise_record(item)
        if unusable is not None:
            raise self._drop(unusable, item)
        if is_front_page(item.url_key):  # a feed entry that links to the site's home page
            raise self._drop("not an article URL", item)
        if item.refetch:
            return item
        if item.redirected_to is not None and is_front_page(item.redirected_to):
            raise self._drop("redirected to the front page", item)
        if item.not_article is not None:
            # Deliberately not stored: its feed's validators may be kept (crawler.spiders.entries).
            entries = getattr(self.crawler.spider, "entries", None)
            if entries is not None and final(item.not_article):
                entries.settled(item.url_key)
            logger.info("not an article, not stored: %s (%s)", item.url, item.not_article)
            raise self._drop("not an article page", item)
        if not item.title:
            raise self._drop("no title", item)
        source = getattr(self.crawler.spider, "source", None)
        # An entry's text (a feed-only source, a refused page) is what there is.
        from_entry = not getattr(source, "fetch_articles", True) or item.body_source == "feed"
        if not from_entry and len(item.body.strip()) < self.min_body_chars:
            raise self._drop("no article body", item)
        return item
