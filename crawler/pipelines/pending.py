"""PendingPagesPipeline: a refused page whose entry gives no article is kept, not lost.

When an article page is refused (or is a bot wall) the article is stored from its entry
(:mod:`crawler.fallback`); but an entry without a title (a sitemap ``<url>`` with no
``news:title``) is no article to store. Rather than dropping it, this pipeline keeps it in
``pending_pages`` (:mod:`storage.pending`) with what the entry said, the page's failure and
when the page is tried again; later runs try it (:meth:`SourceSpider.page_retries`) and a
try that works stores the article as new. It is counted as ``pending`` in the run
(``newsmon runs``) and said in the log. Its entry is not done with: no article is stored
for it, so the validators of the feed or sitemap that listed it are not saved, the next run
reads it in full again and tries the page again (:mod:`crawler.spiders.entries`); it is
done with once its tries are spent. Other items pass through.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError

from crawler.dbthread import run_db
from crawler.settings import store_for
from crawler.spiders.base import Hint, entry_of
from crawler.spiders.failures import database_reason
from storage.article import ArticleRecord
from storage.pending import PendingStore

logger = logging.getLogger(__name__)

#: The entry's fields an article item carries (body aside: the entry's text is its summary
#: or its full text, and neither is there without a title in practice).
_ENTRY_FIELDS = tuple(f.name for f in fields(Hint) if f.name not in ("url", "title"))


class PendingPagesPipeline:
    def __init__(self, crawler: Crawler, stats: StatsCollector) -> None:
        self.crawler = crawler
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PendingPagesPipeline:
        assert crawler.stats is not None
        return cls(crawler, crawler.stats)

    async def process_item(self, item: Any) -> Any:
        if (not isinstance(item, ArticleRecord) or item.page_error is None or item.refetch
                or item.title.strip()):
            return item
        spider = self.crawler.spider
        assert spider is not None
        store = store_for(self.crawler, spider)
        values = {name: getattr(item, name, None) for name in _ENTRY_FIELDS}
        values["body"] = None
        try:
            await run_db(PendingStore(store.engine).keep, item.source, item.url_key, item.url,
                         entry_of(values), item.page_error, item.page_attempts,
                         item.page_retry_at)
        except SQLAlchemyError as exc:
            # Not kept: the entry is met again when its feed is read in full next run.
            self.stats.inc_value("newsmon/pending_failures")
            logger.warning("%s: %s has no title in its entry and could not be kept as a "
                           "pending page (%s)", item.source, item.url, database_reason(exc))
            raise DropItem(f"no title in its entry, not kept: {item.url}") from exc
        self.stats.inc_value("newsmon/pending")
        when = (f"tried again from {item.page_retry_at:%Y-%m-%d %H:%M} UTC"
                if item.page_retry_at is not None
                else f"not tried again ({item.page_attempts} tries spent)")
        logger.warning("%s: %s: its entry has no title, so no article is stored yet; kept as a "
                       "pending page, %s", item.source, item.url, when)
        raise DropItem(f"kept as a pending page (no title in its entry): {item.url}")
