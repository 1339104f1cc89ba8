"""ListingSpider: section pages that link to articles, by a configured selector or by heuristic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import Response, TextResponse

from crawler.middlewares import fetched_at
from crawler.spiders.base import Hint, SourceSpider, time_hint
from crawler.urls import InvalidURL, url_key

# Paths that are navigation, not articles.
_NOT_ARTICLE = re.compile(
    r"/(?:tags?|topics?|category|categories|section|author|authors|page|search|about|"
    r"about-us|contact|contact-us|privacy|privacy-policy|terms|login|register|subscribe|"
    r"newsletter|feed|rss|sitemap|careers|advertise)(?:/|$)|/page/\d+|[?&]page=",
    re.IGNORECASE,
)
_SLUG_WORDS = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+){3,}", re.IGNORECASE)
_LONG_ID = re.compile(r"\d{5,}")
_CHROME = "ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside"


def _is_xpath(expr: str) -> bool:
    return expr.lstrip().startswith(("/", "("))


def select(sel: Selector, expr: str) -> Any:
    """Apply a configured selector: XPath when it starts with / or (, CSS otherwise."""
    return sel.xpath(expr) if _is_xpath(expr) else sel.css(expr)


def looks_like_article(url: str, site_host: str) -> bool:
    parts = urlsplit(url)
    host = url_key(url).split("/", 1)[0]
    if host != site_host or parts.path in ("", "/") or _NOT_ARTICLE.search(url):
        return False
    last = [p for p in parts.path.split("/") if p]
    if not last:
        return False
    return bool(_SLUG_WORDS.search(last[-1]) or _LONG_ID.search(parts.path))


class ListingSpider(SourceSpider):
    kinds: ClassVar[tuple[str, ...]] = ("listing",)

    def parse_start(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            raise ValueError(f"{response.url}: a listing page must be HTML")
        now = fetched_at(response)
        expr = self.source.selectors.get("links")
        if expr:
            hints = self._by_selector(response, expr, now)
        else:
            hints = self._by_heuristic(response, now)
        if not hints:
            self.record_error(f"{response.url}: no article links found"
                              + (f" with selector {expr!r}" if expr else ""))
            return
        yield from self.follow_articles(hints)

    def _by_selector(self, response: TextResponse, expr: str, now: datetime) -> list[Hint]:
        hints = []
        for el in select(response.selector, expr):
            anchor = el if el.root.tag == "a" else el.css("a[href]")[:1]
            href = anchor.attrib.get("href") if anchor else None
            if href:
                hints.append(self._hint(response, anchor, href, now))
        return hints

    def _by_heuristic(self, response: TextResponse, now: datetime) -> list[Hint]:
        try:
            site = url_key(response.url).split("/", 1)[0]
        except InvalidURL:
            return []
        hints = []
        for a in response.xpath(f"//body//a[@href][not({_CHROME})]"):
            href = a.attrib["href"]
            url = urljoin(response.url, href.strip())
            text = " ".join(a.xpath(".//text()").getall()).strip()
            try:
                if len(text) < 15 or not looks_like_article(url, site):
                    continue
            except InvalidURL:
                continue
            hints.append(self._hint(response, a, href, now))
        return hints

    def _hint(self, response: TextResponse, anchor: Any, href: str, now: datetime) -> Hint:
        url = urljoin(response.url, href.strip())
        title = " ".join(anchor.xpath(".//text()").getall()).split() if anchor else []
        return Hint(url=url, title=" ".join(title) or None,
                    **self._card_time(anchor, now))

    def _card_time(self, anchor: Any, now: datetime) -> dict[str, Any]:
        """A time label in the article's card: the nearest ancestor that has one."""
        tz = self.source.timezone
        for level in range(1, 4):
            card = anchor.xpath(f"ancestor::*[{level}]")
            if not card:
                break
            for value in card.xpath(".//time/@datetime | .//@data-time | .//time/text()"
                                    ).getall():
                found = time_hint(value, now, tz, "listing")
                if found:
                    return found
            for text in card.xpath(".//*[not(self::a)]/text()").getall():
                text = text.strip()
                if 2 <= len(text) <= 60:
                    found = time_hint(text, now, tz, "listing")
                    if found:
                        return found
        return {}
