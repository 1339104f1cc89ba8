"""Highlights ("Key points", "In short"…): bullet lists Indian outlets put above the body.

:func:`find_highlights` returns the bullets and the elements that hold them
(heading included) so the caller can remove those elements before the body is
extracted; it finds at most one block per page and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from crawler.extraction.document import element_text, select

HEADING_RE = re.compile(
    r"^(story\s+|key\s+|top\s+)?(highlights?|key\s*points|points|takeaways|key\s+takeaways"
    r"|in\s+short|at\s+a\s+glance|tl;?dr|summary\s+points)\s*[:\-–—]?$",
    re.IGNORECASE,
)
_CLASS_RE = re.compile(r"highlight|key-?points|keypoints|synopsis|takeaway|story-?summary", re.I)
_HEADING_TAGS = ("h2", "h3", "h4", "h5", "h6", "strong", "b", "p", "div", "span", "header")
_MAX_ITEMS = 10
_MIN_ITEM_CHARS = 12
_MAX_ITEM_CHARS = 500
# Text a highlights wrapper may hold besides heading and bullets ("Story highlights", "Show").
_WRAPPER_SLACK = 60


@dataclass
class Highlights:
    items: list[str] = field(default_factory=list)
    elements: list[HtmlElement] = field(default_factory=list)
    heading: str | None = None


def _items(list_el: HtmlElement) -> list[str]:
    return [t for t in (element_text(li) for li in list_el.iter("li")) if t]


def _plausible(items: list[str]) -> bool:
    return 0 < len(items) <= _MAX_ITEMS and all(
        _MIN_ITEM_CHARS <= len(t) <= _MAX_ITEM_CHARS for t in items
    )


def _next_list(heading: HtmlElement) -> tuple[HtmlElement, list[HtmlElement]] | None:
    """The ul/ol right after a heading: a following sibling (or inside one), climbing
    up to two levels when the heading is wrapped. Returns the list and extra wrappers."""
    node: HtmlElement | None = heading
    for _ in range(3):
        if node is None:
            return None
        sibling = node.getnext()
        for _step in range(2):
            if sibling is None:
                break
            if sibling.tag in ("ul", "ol"):
                return sibling, [node]
            inner = sibling.find(".//ul")
            if inner is None:
                inner = sibling.find(".//ol")
            if inner is not None and len(element_text(sibling)) <= len(element_text(inner)) + 40:
                return inner, [node, sibling]
            if element_text(sibling):
                break
            sibling = sibling.getnext()
        node = node.getparent()
    return None


_SHORT_HEADINGS = "//body//*[{tags}][string-length(normalize-space()) <= 30]".format(
    tags=" or ".join(f"self::{t}" for t in _HEADING_TAGS)
)


def _by_heading(tree: HtmlElement) -> Highlights | None:
    # XPath does the cheap length test in C; the regex runs on a handful of elements.
    for el in tree.xpath(_SHORT_HEADINGS):
        text = element_text(el)
        if not text or not HEADING_RE.match(text):
            continue
        found = _next_list(el)
        if found is None:
            continue
        list_el, wrappers = found
        items = _items(list_el)
        if _plausible(items):
            # Remove a wrapper only when it holds nothing but the heading (or the list).
            limit = len(text) + len(" ".join(items)) + _WRAPPER_SLACK
            doomed = [w for w in wrappers if len(element_text(w)) <= limit] or [el]
            if el not in doomed and not any(el in w.iter() for w in doomed):
                doomed.append(el)
            return Highlights(items, [*doomed, list_el], text)
    return None


def _by_class(tree: HtmlElement) -> Highlights | None:
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("html", "body", "article", "main"):
            continue
        if not _CLASS_RE.search(f"{el.get('class', '')} {el.get('id', '')}"):
            continue
        list_el = el if el.tag in ("ul", "ol") else el.find(".//ul")
        if list_el is None:
            list_el = el.find(".//ol")
        if list_el is None:
            continue
        items = _items(list_el)
        if _plausible(items):
            # A "highlight" class on a wrapper of the whole story must not take the story along.
            limit = len(" ".join(items)) + _WRAPPER_SLACK
            return Highlights(items, [el if len(element_text(el)) <= limit else list_el])
    return None


def from_selector(tree: HtmlElement, selector: str) -> Highlights:
    """Highlights given by a per-source selector: list items of matched lists, else texts."""
    items: list[str] = []
    elements: list[HtmlElement] = []
    for item in select(tree, selector):
        if isinstance(item, str):
            text = " ".join(item.split())
            if text:
                items.append(text)
            continue
        elements.append(item)
        lis = _items(item) if item.tag != "li" else []
        items.extend(lis or ([element_text(item)] if element_text(item) else []))
    return Highlights(items, elements)


def find_highlights(tree: HtmlElement) -> Highlights:
    return _by_heading(tree) or _by_class(tree) or Highlights()
