"""ListingSpider: section pages that link to articles, by a configured selector or by heuristic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, ClassVar

from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.middlewares import generated_at
from crawler.spiders.base import Hint, SourceSpider, origin_of, time_hint
from crawler.spiders.links import find_links, looks_like_article, select

DEFAULT_MAX_LINKS = 2000


class ListingSpider(SourceSpider):
    kinds: ClassVar[tuple[str, ...]] = ("listing",)
    max_links = DEFAULT_MAX_LINKS

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ListingSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ListingSpider)
        spider.max_links = crawler.settings.getint("NEWSMON_MAX_LINKS_PER_PAGE",
                                                   DEFAULT_MAX_LINKS)
        return spider

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:
        if not isinstance(response, TextResponse):
            raise ValueError(f"{response.url}: a listing page must be HTML")
        now = generated_at(response)
        expr = self.source.selectors.get("links")
        found = find_links(response.selector, response.url, expr, self.max_links,
                           lambda card: self._card_time(card, now))
        self.count("links_over_cap", found.over_cap)
        if found.over_cap:
            # Not followed this run: the page's validators must not be saved either.
            self.entries.incomplete(origin_of(response), f"{found.over_cap} links past the "
                                    f"{self.max_links}-link cap (crawl.max_links_per_page) "
                                    "not examined")
        if not found.links:
            message = (f"{response.url}: no article links found"
                       + (f" with selector {expr!r}" if expr else ""))
            self.record_error(message)
            self.entries.incomplete(origin_of(response), message)
            return
        hints = [Hint(url=link.url, title=link.title, **link.time) for link in found.links]
        async for out in self.follow_articles(hints, origin_of(response)):
            yield out

    def _card_time(self, card: Any, now: datetime) -> dict[str, Any]:
        """A time label in one card (an lxml element): a machine-readable one, else a short
        text that is one."""
        tz = self.source.timezone
        for value in card.xpath(".//time/@datetime | .//@data-time | .//time/text()"):
            found = time_hint(str(value), now, tz, "listing")
            if found:
                return found
        for raw in card.xpath(".//*[not(self::a)]/text()"):
            text = str(raw).strip()
            if 2 <= len(text) <= 60:
                found = time_hint(text, now, tz, "listing")
                if found:
                    return found
        return {}


__all__ = ["ListingSpider", "looks_like_article", "select"]
