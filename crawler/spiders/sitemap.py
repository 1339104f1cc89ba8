"""SitemapSpider: sitemap indexes, urlsets (plain or gzip) and Google News sitemaps.

Scrapy's own sitemap reader keeps only direct children of ``<url>``, so the news extension's
``news:publication_date`` and ``news:title`` would be lost; this one reads them with lxml.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from lxml import etree
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.gz import gunzip

from crawler.middlewares import generated_at
from crawler.spiders.base import Hint, SourceSpider, UnreadableStart, origin_of, time_hint
from crawler.spiders.failures import size_text
from crawler.xmlsafe import UnsafeXML, parse_xml

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(el: etree._Element, name: str, ns: str | None = None) -> str | None:
    """Text of the first element ``name`` below ``el``: a direct child unless ``ns`` is given
    (extension elements such as ``news:news/news:title`` sit one level deeper)."""
    for child in (el.iter() if ns else el):
        if child is el or not isinstance(child.tag, str):
            continue
        q = etree.QName(child.tag)
        if q.localname == name and (ns is None or q.namespace == ns):
            text = (child.text or "").strip()
            return text or None
    return None


class NotASitemap(UnreadableStart):
    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: not a sitemap ({detail})")


class SitemapSpider(SourceSpider):
    kinds: ClassVar[tuple[str, ...]] = ("sitemap", "news_sitemap")
    max_depth = 3

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:
        async for out in self._parse_sitemap(response, depth=0):
            yield out

    async def _parse_child(self, response: Response, depth: int) -> AsyncIterator[Any]:
        try:
            async for out in self._parse_sitemap(response, depth):
                yield out
        except Exception as exc:
            message = (str(exc) if isinstance(exc, NotASitemap | UnsafeXML)
                       else f"{response.url}: cannot read the sitemap: {exc}")
            self.record_error(message)
            self.entries.incomplete(origin_of(response), message)

    async def _parse_sitemap(self, response: Response, depth: int) -> AsyncIterator[Any]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE") if self.crawler else 0
            max_size = max_size or 50 * 1024 * 1024
            try:
                body = gunzip(body, max_size=max_size)
            except ValueError as exc:  # too big (a gzip bomb) or not gzip after all
                if "exceeded" in str(exc):
                    raise NotASitemap(response.url, f"gzip content expands beyond the "
                                      f"{size_text(max_size)} cap (DOWNLOAD_MAXSIZE)") from exc
                raise NotASitemap(response.url, f"broken gzip: {exc}") from exc
        root = parse_xml(body, response.url)
        if root is None:
            raise NotASitemap(response.url, "not XML")
        kind = _local(root.tag)
        if kind == "sitemapindex":
            if depth >= self.max_depth:
                raise NotASitemap(response.url, f"sitemap indexes nested deeper than {depth}")
            children = []
            for sm in root:
                if _local(sm.tag) != "sitemap":
                    continue
                loc = _child_text(sm, "loc")
                lastmod = _child_text(sm, "lastmod") or ""
                if loc:
                    children.append((lastmod, loc))
            # Newest first: with an article cap the recent ones matter most.
            for _lastmod, loc in sorted(children, reverse=True):
                yield Request(loc, callback=self._parse_child, errback=self.on_error,
                              cb_kwargs={"depth": depth + 1},
                              meta={"newsmon_origin": origin_of(response),
                                    **self.robots_meta()})
            return
        if kind != "urlset":
            raise NotASitemap(response.url, f"root element <{kind}>")
        now = generated_at(response)
        hints = []
        for url_el in root:
            if _local(url_el.tag) != "url":
                continue
            loc = _child_text(url_el, "loc")
            if not loc:
                continue
            news_date = _child_text(url_el, "publication_date", _NEWS_NS)
            when = time_hint(news_date, now, self.source.timezone, "sitemap")
            modified: datetime | None = None
            url_lastmod = _child_text(url_el, "lastmod")
            if url_lastmod:
                modified = time_hint(url_lastmod, now, self.source.timezone, "sitemap").get(
                    "published_at")
            keywords = _child_text(url_el, "keywords", _NEWS_NS)
            hints.append(Hint(
                url=loc, title=_child_text(url_el, "title", _NEWS_NS), modified_at=modified,
                tags=[k.strip() for k in keywords.split(",") if k.strip()] if keywords else [],
                image_url=_child_text(url_el, "loc", _IMAGE_NS), **when,
            ))
        # Newest first (publication date, else lastmod), so a cap keeps the recent ones.
        hints.sort(key=lambda h: (h.published_at or h.modified_at or _EPOCH), reverse=True)
        async for out in self.follow_articles(hints, origin_of(response)):
            yield out

