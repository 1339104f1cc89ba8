"""Article links on a listing page, found in time linear in the page's size.

Each article link is looked at once; its time label is looked for only in its own card (an
ancestor, up to three levels up, that holds no link to another article), so no element is
scanned for more than one article, and a label is never taken from a neighbour's card. At
most ``cap`` distinct links per page are kept (``crawl.max_links_per_page``); the rest are
counted, not followed, so a 50,000-link page costs a bounded time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

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
CARD_LEVELS = 3
_SHARED = object()  # an ancestor that holds links to more than one article


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


@dataclass(slots=True)
class Link:
    """An article link: its absolute URL, the ``<a>`` element, its card's time label as
    Hint fields."""

    url: str
    anchor: Any
    time: dict[str, Any]

    @property
    def title(self) -> str | None:
        return " ".join(" ".join(self.anchor.xpath(".//text()")).split()) or None


@dataclass(slots=True)
class Found:
    links: list[Link]
    over_cap: int  # links on the page past the cap, not examined
    scanned: int  # elements searched for a time label (at most CARD_LEVELS per link kept)


def _selected(sel: Selector, expr: str) -> Iterator[Any]:
    """The ``<a href>`` elements a configured selector picks (or the first inside each)."""
    for el in select(sel, expr):
        root = el.root
        if not isinstance(getattr(root, "tag", None), str):
            continue
        if root.tag == "a":
            if root.get("href"):
                yield root
            continue
        for a in root.iter("a"):  # the first link inside; lxml's iterator stops there
            if a.get("href"):
                yield a
                break


def _heuristic(sel: Selector) -> Iterator[Any]:
    yield from sel.root.xpath(f"//body//a[@href][not({_CHROME})]")


def find_links(sel: Selector, base: str, expr: str | None, cap: int,
               card_time: Callable[[Any], dict[str, Any]]) -> Found:
    """The article links of the listing page ``sel`` at ``base``: by the configured selector
    ``expr``, else by heuristics; the first ``cap`` distinct URLs in page order, each with
    ``card_time(card)`` of its nearest own card that gives one (``card``: an lxml element).

    Links are examined in page order until ``cap`` are kept (one more, so the last card's
    ownership is right), or ``10 * cap`` were examined; the rest are counted, not examined.
    """
    site = None
    if not expr:
        try:
            site = url_key(base).split("/", 1)[0]
        except InvalidURL:
            return Found([], 0, 0)
    anchors = list(_selected(sel, expr) if expr else _heuristic(sel))
    first: dict[str, Any] = {}
    owner: dict[Any, object] = {}  # ancestor element -> the one URL it links to, or _SHARED
    examined = 0
    for a in anchors:
        if len(first) > cap or examined >= 10 * cap:
            break
        examined += 1
        url = urljoin(base, a.get("href", "").strip())
        if site is not None:
            text = " ".join(a.xpath(".//text()")).strip()
            try:
                if len(text) < 15 or not looks_like_article(url, site):
                    continue
            except InvalidURL:
                continue
        first.setdefault(url, a)
        el = a
        for _ in range(CARD_LEVELS):
            el = el.getparent()
            if el is None:
                break
            seen = owner.get(el)
            if seen is None:
                owner[el] = url
            elif seen != url:
                owner[el] = _SHARED
    links, scanned = [], 0
    for url, a in list(first.items())[:cap]:
        el, found = a, {}
        for _ in range(CARD_LEVELS):
            el = el.getparent()
            if el is None or owner.get(el) is _SHARED:
                break
            scanned += 1
            found = card_time(el)
            if found:
                break
        links.append(Link(url, a, found))
    over = len(anchors) - examined + max(0, len(first) - cap)
    return Found(links, over, scanned)


__all__ = ["CARD_LEVELS", "Found", "Link", "find_links", "looks_like_article", "select"]
