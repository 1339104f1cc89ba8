"""One spider per source kind; ``spider_for`` picks the class for a configured source."""

from __future__ import annotations

from config.schema import Source
from crawler.spiders.base import SourceSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.google_news import GoogleNewsSpider
from crawler.spiders.listing import ListingSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS: tuple[type[SourceSpider], ...] = (FeedSpider, GoogleNewsSpider, SitemapSpider,
                                           ListingSpider)


def spider_for(source: Source) -> type[SourceSpider]:
    for cls in SPIDERS:
        if source.kind.value in cls.kinds:
            return cls
    raise KeyError(f"no spider for source kind {source.kind.value!r}")


__all__ = ["FeedSpider", "GoogleNewsSpider", "ListingSpider", "SitemapSpider", "SourceSpider",
           "spider_for"]
