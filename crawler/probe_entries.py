"""The entries of a start URL as ``newsmon sources check`` (:mod:`crawler.probe`) reads them:
RSS and Atom through feedparser, sitemaps (an index: its newest child) and listing pages by
the crawl's own link finder (:func:`crawler.spiders.links.find_links`). Each returns the
entries in document order, and why there are none (None when the document was
read)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
from lxml import etree

from config.schema import Source

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@dataclass
class Entry:
    url: str
    title: str | None = None
    published_at: datetime | None = None
    summary: str | None = None



def _text(markup: str | None) -> str | None:
    if not markup:
        return None
    from lxml.html import fromstring

    try:
        return " ".join(fromstring(f"<div>{markup}</div>").text_content().split()) or None
    except (etree.ParserError, ValueError):
        return markup.strip() or None


def feed_entries(body: bytes, base: str) -> tuple[list[Entry], str | None]:
    from urllib.parse import urljoin

    parsed = feedparser.parse(body)
    if not parsed.entries and not parsed.get("version"):
        return [], "no RSS or Atom found in the document"
    out = []
    for e in parsed.entries:
        link = e.get("link")
        if not link:
            continue
        when = None
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        if stamp:
            try:
                when = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
            except (ValueError, OverflowError, OSError):
                when = None
        out.append(Entry(urljoin(base, link.strip()), _text(e.get("title")), when,
                         _text(e.get("summary"))))
    return out, None


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def sitemap_entries(body: bytes, base: str, tz: str, get: Any) -> tuple[list[Entry], str | None]:
    from crawler.spiders.base import time_hint

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        return [], f"not XML ({exc})"
    now = datetime.now(UTC)
    if _local(root.tag) == "sitemapindex":
        children = sorted(((el.findtext("{*}lastmod") or "", el.findtext("{*}loc") or "")
                           for el in root if _local(el.tag) == "sitemap"), reverse=True)
        for _lastmod, loc in children[:1]:  # the newest child sitemap is enough for a probe
            child = get(loc.strip())
            if not child.ok:
                return [], f"child sitemap {loc.strip()} answered {child.status or child.error}"
            return sitemap_entries(child.body, loc, tz, get)
        return [], "an empty sitemap index"
    if _local(root.tag) != "urlset":
        return [], f"root element <{_local(root.tag)}>, not a sitemap"
    out = []
    for el in root:
        loc = el.findtext("{*}loc")
        if _local(el.tag) != "url" or not loc:
            continue
        raw = el.findtext(f"{{{_NEWS_NS}}}news/{{{_NEWS_NS}}}publication_date") or el.findtext(
            "{*}lastmod")
        when = time_hint(raw, now, tz, "sitemap").get("published_at")
        out.append(Entry(loc.strip(), el.findtext(f"{{{_NEWS_NS}}}news/{{{_NEWS_NS}}}title"),
                         when))
    return out, None


def listing_entries(body: bytes, base: str, source: Source) -> tuple[list[Entry], str | None]:
    from scrapy.http import HtmlResponse

    from crawler.spiders.base import time_hint
    from crawler.spiders.links import find_links

    now = datetime.now(UTC)

    def card_time(card: Any) -> dict[str, Any]:
        for value in card.xpath(".//time/@datetime | .//time/text()"):
            found = time_hint(str(value), now, source.timezone, "listing")
            if found:
                return found
        return {}

    response = HtmlResponse(base, body=body)
    found = find_links(response.selector, base, source.selectors.get("links"), 200, card_time)
    if not found.links:
        return [], "no article links found"
    return [Entry(link.url, link.title, link.time.get("published_at"))
            for link in found.links], None
