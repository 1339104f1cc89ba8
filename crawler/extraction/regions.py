"""Where on a page an element sits: the article's own header and byline, or a block about other
articles (trending strips, latest and most-read lists, "also read" teasers, comments, tickers).

A time found in a block about other articles is never this article's time; :func:`elsewhere`
says why an element is in such a block, or None. The climb from the element stops at the first
ancestor that holds the article's heading (``<h1>``): a sidebar never contains the headline.
A class word ("related", "sidebar", …) counts only on a block that links to at least two other
articles and holds less than half of the page's text, so a layout wrapper such as
``<div class="layoutTwoColumnsRightSidebar">`` around the whole story, or a side column of the
article's own details, does not count; comment blocks count without links. An entry that links
to this article itself (its link text is the headline) is the article's own.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from crawler.extraction.document import element_text

# Class and id words of blocks about other articles. Matched against whole class tokens split
# at "-", "_" and camelCase, so "mostRead", "most-read" and "most_read" all match.
_OTHER_WORDS = (
    "related", "trending", "popular", "mostread", "mostviewed", "mostpopular", "latest",
    "recommended", "recommend", "alsoread", "readalso", "readmore", "morestories",
    "morenews", "morefrom", "sidebar", "widget", "ticker", "comment", "comments", "rail",
    "topstories", "topheadlines", "outbrain", "taboola", "promo", "breaking", "livefeed",
    "newsfeed", "headlines",
)
# Words of comment blocks: these count without links to other articles.
_COMMENT_WORDS = frozenset({"comment", "comments", "commentlist", "discussion", "disqus"})
_OTHER_TAGS = frozenset({"aside", "nav"})
_LEAD_IN = re.compile(r"^\W*(also read|read also|also see|see also|read more|related|"
                      r"more from|recommended|trending|most read|latest)\b", re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPLIT = re.compile(r"[-_\s]+")
# A teaser link carries a headline: at least this many words besides any time inside it.
_TEASER_WORDS = 4
# A block this short that holds a teaser link is that teaser (headline + time + source).
_TEASER_BLOCK_WORDS = 30
_MAX_CLIMB = 12


def _words(el: HtmlElement) -> set[str]:
    """The class and id of ``el`` as lower-case words, and each token's words joined."""
    out: set[str] = set()
    for token in f"{el.get('class') or ''} {el.get('id') or ''}".split():
        parts = [p.lower() for p in _SPLIT.split(_CAMEL.sub("-", token)) if p]
        out.update(parts)
        for i in range(len(parts) - 1):  # "most-read" -> "mostread"
            out.add(parts[i] + parts[i + 1])
    return out


# A link into one of these folders goes to a writer's page, not to another article: a
# byline's author link beside the article's own time is no teaser.
_AUTHOR_PATH = re.compile(
    r"(?:^|/)(?:authors?|autor(?:es|en)?|auteurs?|autor[ei]|writers?|journalists?|"
    r"reporters?|columnists?|profiles?|staff)/", re.IGNORECASE)


def _is_link(a: HtmlElement) -> bool:
    """``a`` leads to another page that may be another article."""
    href = (a.get("href") or "").strip().lower()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return False
    rel = (a.get("rel") or "").lower().split()
    if "bookmark" in rel or "author" in rel:
        return False
    return not _AUTHOR_PATH.search(urlsplit(href).path)


class Texts:
    """The visible text of the elements of one page, each computed once: a page's candidate
    times climb through the same ancestors, and a wrapper's text is the whole page."""

    def __init__(self) -> None:
        self._texts: dict[HtmlElement, str] = {}

    def __call__(self, el: HtmlElement) -> str:
        text = self._texts.get(el)
        if text is None:
            text = self._texts[el] = element_text(el)
        return text


def _teaser_links(el: HtmlElement, own_text: str, title: str = "",
                  limit: int = 10**6, texts: Texts | None = None) -> int:
    """How many links under ``el`` (``el`` itself included) carry a headline of their own,
    other than ``title`` (this article's headline); counting stops at ``limit``."""
    text_of = texts or element_text
    found = 0
    links = [el] if el.tag == "a" else []
    links += list(el.iter("a"))
    for a in links:
        if not _is_link(a):
            continue
        text = text_of(a).replace(own_text, " ") if own_text else text_of(a)
        if len(text.split()) >= _TEASER_WORDS and not (title and _norm(text) == title):
            found += 1
            if found >= limit:
                break
    return found


def _few_words(text: str, most: int) -> bool:
    """``text`` has at most ``most`` words (without splitting all of a long text)."""
    return len(text.split(None, most)) <= most


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold().strip(" \"'“”„«»")


def elsewhere(el: HtmlElement, heading: HtmlElement | None, own_text: str = "",
              texts: Texts | None = None) -> str | None:
    """Why ``el`` (holding the time text ``own_text``) belongs to a block about other
    articles, or None when nothing says so. ``texts`` shares the elements' texts between
    the calls for one page."""
    texts = texts or Texts()
    node: HtmlElement | None = el
    title = _norm(texts(heading)) if heading is not None else ""
    page_chars = 0
    for _ in range(_MAX_CLIMB):
        if node is None or node.tag in ("body", "html"):
            return None
        if heading is not None and _contains(node, heading):
            return None  # the article's own header and story: no sidebar holds the headline
        if node.tag in _OTHER_TAGS:
            return f"in <{node.tag}>, a block of links to other pages"
        text = texts(node)
        if title and _few_words(text, _TEASER_BLOCK_WORDS) and title in _norm(text):
            return None  # an entry for this very article (its headline), in a list or not
        words = _words(node)
        hit = words & _COMMENT_WORDS
        if not hit and words & set(_OTHER_WORDS):
            if not page_chars:
                body = node.getroottree().getroot().find("body")
                page_chars = len(texts(body)) if body is not None else 1
            if len(text) * 2 < page_chars and \
                    _teaser_links(node, own_text, title, 2, texts) >= 2:
                hit = words & set(_OTHER_WORDS)
        if hit:
            return f"in a block of links to other articles ({node.tag}.{sorted(hit)[0]})"
        if node.tag == "a" and _teaser_links(node, own_text, title, texts=texts):
            return "inside a link to another article"
        if node.tag in ("li", "p", "div", "article", "section", "span") and \
                _few_words(text, _TEASER_BLOCK_WORDS) and \
                _teaser_links(node, own_text, title, texts=texts):
            if _LEAD_IN.match(text):
                return "in an 'also read' teaser, a link to another article"
            parent = node.getparent()
            if parent is not None and any(
                    sib is not node and isinstance(sib, HtmlElement)
                    and _teaser_links(sib, "", title, 1, texts) for sib in parent):
                return "in a list of links to other articles"
        node = node.getparent()
    return None


def _contains(node: HtmlElement, other: HtmlElement) -> bool:
    return node is other or any(anc is node for anc in other.iterancestors())


def heading_of(tree: HtmlElement) -> HtmlElement | None:
    """The article's heading: the first ``<h1>`` in the body."""
    found = tree.find(".//body//h1")
    return found if isinstance(found, HtmlElement) else None
