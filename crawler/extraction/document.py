"""HTML parsing and selector helpers shared by the extraction modules.

:func:`parse_html` turns ``str``/``bytes`` into an lxml HTML tree without ever
touching the network or resolving external entities; it never raises on bad
markup (an unparseable page gives an empty ``<html>`` element).
:func:`select` evaluates a per-source selector: CSS (Scrapy/parsel dialect,
``::text`` and ``::attr(name)`` allowed) or XPath when it starts with "/" or "(".
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from parsel.csstranslator import css2xpath
from w3lib.encoding import html_to_unicode

logger = logging.getLogger(__name__)

_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")


def _parser() -> lxml.html.HTMLParser:
    return lxml.html.HTMLParser(
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        collect_ids=False,
        default_doctype=False,
    )


def decode_html(html: str | bytes) -> str:
    """Decode bytes using BOM, then ``<meta charset>``, then UTF-8 (w3lib's rules)."""
    if isinstance(html, str):
        return html
    _encoding, text = html_to_unicode(None, html)
    return text


_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def parse_html(html: str | bytes) -> HtmlElement:
    """Parse a whole page; never raises for malformed or empty input."""
    # C0 controls (but tab and line breaks), U+FFFE/U+FFFF and lone surrogates: one of them
    # made lxml give up on the rest of the page.
    text = _CONTROL_RE.sub("", _XML_DECL_RE.sub("", decode_html(html), count=1))
    if not text.strip():
        return lxml.html.Element("html")
    try:
        root = lxml.html.document_fromstring(text, parser=_parser())
    except (lxml.etree.ParserError, ValueError) as exc:
        logger.debug("unparseable HTML: %s", exc)
        return lxml.html.Element("html")
    return root


def clean_text(text: str | None) -> str:
    """Collapse all whitespace runs (including NBSP) to single spaces and strip."""
    if not text:
        return ""
    return _WS_RE.sub(" ", text.replace("\u00a0", " ")).strip()


_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
_SPACED_TAGS = frozenset(
    {
        "br",
        "p",
        "div",
        "li",
        "td",
        "th",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "ul",
        "ol",
        "dd",
        "dt",
        "span",
        "time",
    }
)


def text_pieces(el: HtmlElement, parts: list[str], *, skip: frozenset[str],
                breaks: frozenset[str], mark: str) -> None:
    """Append the text of ``el`` to ``parts`` in document order, leaving out the elements
    whose tag is in ``skip`` and putting ``mark`` before and after those in ``breaks``."""
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in skip:
            spaced = child.tag in breaks
            if spaced:
                parts.append(mark)
            text_pieces(child, parts, skip=skip, breaks=breaks, mark=mark)
            if spaced:
                parts.append(mark)
        if child.tail:
            parts.append(child.tail)


def element_text(el: HtmlElement) -> str:
    """Visible text of an element, whitespace collapsed, scripts and styles skipped."""
    parts: list[str] = []
    text_pieces(el, parts, skip=_SKIP_TAGS, breaks=_SPACED_TAGS, mark=" ")
    return clean_text("".join(parts))


def is_xpath(selector: str) -> bool:
    return selector.lstrip().startswith(("/", "("))


@lru_cache(maxsize=256)
def _compile(selector: str) -> lxml.etree.XPath:
    expr = selector.strip() if is_xpath(selector) else css2xpath(selector.strip())
    return lxml.etree.XPath(expr)


def select(tree: HtmlElement, selector: str) -> list[HtmlElement | str]:
    """Evaluate a CSS or XPath selector; results are elements or strings (text/attributes).

    A selector that does not compile is logged and treated as matching nothing,
    so one bad source configuration cannot break extraction of the page.
    """
    try:
        result = _compile(selector)(tree)
    except (lxml.etree.XPathError, ValueError, SyntaxError) as exc:
        logger.warning("invalid selector %r: %s", selector, exc)
        return []
    if not isinstance(result, list):
        result = [str(result)] if result not in (None, "") else []
    out: list[HtmlElement | str] = []
    for item in result:
        if isinstance(item, HtmlElement):
            out.append(item)
        elif isinstance(item, str):
            out.append(str(item))
    return out


def select_texts(tree: HtmlElement, selector: str) -> list[str]:
    """Non-empty texts of everything a selector matches, in document order."""
    texts = []
    for item in select(tree, selector):
        text = clean_text(item) if isinstance(item, str) else element_text(item)
        if text:
            texts.append(text)
    return texts
