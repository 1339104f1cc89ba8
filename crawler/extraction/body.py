"""Main-text extraction: structural pre-clean, trafilatura, then a conservative line filter.

:func:`extract_body` **mutates** the tree it is given (junk elements are removed
before trafilatura sees it); pass a copy if the caller still needs the page.
It returns ``""`` as the body when trafilatura finds no article text.
:func:`render_blocks` turns an element chosen by a per-source selector into
paragraphs without any boilerplate detection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import trafilatura
from lxml.html import HtmlElement

from crawler.cleaning import clean_paragraphs, strip_page_furniture
from crawler.extraction.document import clean_text, text_pieces

logger = logging.getLogger(__name__)

_LIST_MARKERS = ("- ", "* ", "• ")
_WORD_RE = re.compile(r"\w+")
# A body needs one non-list line this long to count as an article.
_MIN_PROSE_WORDS = 8
# The fallback's text needs this many words in all (a section front's menu has fewer).
_MIN_FALLBACK_WORDS = 40


@dataclass(frozen=True)
class BodyOptions:
    """Knobs of the body pipeline; defaults are the settings measured best on the benchmark."""

    structural_clean: bool = True
    line_filter: bool = True
    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True


@dataclass(frozen=True)
class BodyResult:
    body: str
    paragraphs: list[str]


def _split_paragraphs(text: str) -> list[str]:
    """One trafilatura output line per paragraph; consecutive list items stay together."""
    paragraphs: list[str] = []
    in_list = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            in_list = False
            continue
        is_item = line.startswith(_LIST_MARKERS)
        if is_item and in_list and paragraphs:
            paragraphs[-1] += "\n" + line
        else:
            paragraphs.append(line)
        in_list = is_item
    return paragraphs


# Scripts written without spaces between words: a run of them is many words, not one.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")


def word_count(text: str) -> int:
    """Words in ``text``; in Chinese, Japanese and Thai, about one word per two characters."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(_WORD_RE.findall(text))
    spaced = len(_WORD_RE.findall(_UNSPACED.sub(" ", text)))
    return spaced + (unspaced + 1) // 2


def _is_prose(paragraph: str) -> bool:
    return any(
        not line.startswith(_LIST_MARKERS) and word_count(line) >= _MIN_PROSE_WORDS
        for line in paragraph.split("\n")
    )


def _key(text: str) -> str:
    return clean_text(text).casefold().lstrip("#-*• ").rstrip(" :")


def finish_paragraphs(
    paragraphs: Iterable[str],
    *,
    line_filter: bool,
    exclude: Iterable[str] = (),
    title: str | None = None,
    need_prose: bool = True,
) -> BodyResult:
    """Clean paragraphs, drop lines equal to an excluded text (e.g. highlights) and a
    leading repeat of the title, and join them with blank lines. With ``need_prose``, a text
    without one prose line (a link list, a teaser grid) is no body."""
    excluded = {_key(e) for e in exclude if e}
    cleaned = clean_paragraphs(paragraphs, line_filter=line_filter)
    kept: list[str] = []
    for para in cleaned:
        lines = [ln for ln in para.split("\n") if _key(ln) not in excluded]
        if lines:
            kept.append("\n".join(lines))
    if title and kept and _key(kept[0]) == _key(title):
        kept.pop(0)
    if need_prose and not any(_is_prose(p) for p in kept):
        # Link lists and teaser grids (section fronts) are not an article.
        return BodyResult("", [])
    return BodyResult("\n\n".join(kept), kept)


def extract_body(
    tree: HtmlElement,
    url: str | None,
    options: BodyOptions | None = None,
    *,
    exclude: Iterable[str] = (),
    title: str | None = None,
) -> BodyResult:
    """Main text of a page; lines equal to one of ``exclude`` (and a first paragraph
    repeating ``title``) are left out."""
    opts = options or BodyOptions()
    if opts.structural_clean:
        removed = strip_page_furniture(tree)
        logger.debug("removed %d furniture elements from %s", removed, url)
    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            favor_precision=opts.favor_precision,
            include_comments=opts.include_comments,
            include_tables=opts.include_tables,
            with_metadata=False,
        )
    except Exception:  # trafilatura bugs must not cost us the rest of the article
        logger.exception("trafilatura failed on %s", url)
        doc = None
    text = getattr(doc, "text", None) or ""
    return finish_paragraphs(
        _split_paragraphs(text), line_filter=opts.line_filter, exclude=exclude, title=title
    )


def fallback_body(tree: HtmlElement, url: str | None, *, exclude: Iterable[str] = (),
                  title: str | None = None) -> BodyResult:
    """The body where :func:`extract_body` found none: trafilatura alone, with its default
    settings, on the untouched page (``tree`` freshly parsed), without the pre-clean, the
    line filter or the prose test, so that newsmon is never empty where trafilatura finds
    text (pages of short lines or lists, a pre-clean that removed the article itself)."""
    try:
        doc = trafilatura.bare_extraction(tree, url=url, include_comments=False,
                                          with_metadata=False)
    except Exception:  # trafilatura bugs must not cost us the rest of the article
        logger.exception("trafilatura failed on %s", url)
        doc = None
    text = getattr(doc, "text", None) or ""
    if word_count(text) < _MIN_FALLBACK_WORDS:  # a menu or a teaser grid, not a text
        return BodyResult("", [])
    return finish_paragraphs(_split_paragraphs(text), line_filter=False, exclude=exclude,
                             title=title, need_prose=False)


_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "li",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "tr",
        "dd",
        "dt",
        "dl",
        "header",
        "br",
        "figure",
        "main",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "button", "svg", "form"})


# Marks a block's edge among an element's text pieces (never in page text: controls are
# stripped before parsing).
_BLOCK_EDGE = "\x00"


def render_blocks(elements: Iterable[HtmlElement]) -> list[str]:
    """Paragraphs of the given elements: every block-level element starts a new one."""
    paragraphs: list[str] = []
    for el in elements:
        parts: list[str] = []
        text_pieces(el, parts, skip=_SKIP_TAGS, breaks=_BLOCK_TAGS, mark=_BLOCK_EDGE)
        paragraphs.extend(t for t in (clean_text(p) for p in "".join(parts).split(_BLOCK_EDGE))
                          if t)
    return paragraphs
