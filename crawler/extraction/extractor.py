"""``extract_article``: one HTML page in, one :class:`ExtractedArticle` out (a pure function).

Per-source ``selectors`` (CSS, or XPath when they start with "/" or "(") win
over automatic extraction for the fields they name: "title", "body", "time",
"highlights", "authors", "image". A selector that matches nothing falls back
to automatic extraction, except "body", which then gives an empty body (the
source's layout changed; the pipeline should drop the item and count it).
Nothing is fetched; malformed HTML gives an article with empty fields, never
an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urljoin

from lxml.html import HtmlElement

from crawler.cleaning import strip_page_furniture
from crawler.extraction import metadata as meta
from crawler.extraction.body import (
    BodyOptions,
    extract_body,
    fallback_body,
    finish_paragraphs,
    render_blocks,
)
from crawler.extraction.dates import choose, collect_candidates
from crawler.extraction.document import parse_html, select, select_texts
from crawler.extraction.highlights import Highlights, find_highlights, from_selector
from crawler.extraction.model import ExtractedArticle
from crawler.extraction.pagetype import not_an_article
from crawler.extraction.titles import title as headline

logger = logging.getLogger(__name__)

SELECTOR_KEYS = frozenset({"title", "body", "time", "highlights", "authors", "image"})
# Heading words that must never survive as a body line on their own.
_HEADING_WORDS = (
    "highlights",
    "key highlights",
    "key points",
    "key takeaways",
    "in short",
    "story highlights",
    "takeaways",
)


def _selected_image(tree: HtmlElement, selector: str, url: str) -> str | None:
    for item in select(tree, selector):
        if isinstance(item, str):
            value: str | None = item.strip()
        else:
            value = next(
                (item.get(a) for a in ("content", "src", "data-src", "href") if item.get(a)),
                None,
            )
        if value:
            return urljoin(url, value.strip())
    return None


def _highlights(work: HtmlElement, selector: str | None) -> Highlights:
    found = from_selector(work, selector) if selector else find_highlights(work)
    for el in found.elements:
        if el.getparent() is not None:
            el.drop_tree()
    return found


def extract_article(
    html: str | bytes,
    url: str,
    *,
    fetched_at: datetime,
    site_tz: str = "UTC",
    selectors: Mapping[str, str] | None = None,
    body_options: BodyOptions | None = None,
) -> ExtractedArticle:
    """Extract an article from one page.

    ``fetched_at`` anchors relative dates ("2 hours ago"); a naive value is taken
    as UTC. ``site_tz`` is the IANA zone for dates printed without an offset.
    ``body_options`` exposes the body pipeline's knobs (for the benchmark).
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    sel = {k: v for k, v in (selectors or {}).items() if v and v.strip()}
    unknown = set(sel) - SELECTOR_KEYS
    if unknown:
        logger.warning("ignoring unknown selector keys for %s: %s", url, sorted(unknown))

    tree = parse_html(html)
    page = meta.read_page_meta(tree, url)
    article = ExtractedArticle(url=url)
    article.canonical_url = meta.canonical_url(page, url)
    titles = select_texts(tree, sel["title"]) if "title" in sel else []
    article.title = titles[0] if titles else headline(page, tree)
    article.summary = meta.summary(page)
    article.language = meta.language(page)
    image = _selected_image(tree, sel["image"], url) if "image" in sel else None
    article.image_url = image or meta.image_url(page, url)
    article.section = meta.section(page)
    article.tags = meta.tags(page)
    names = meta.normalise_authors(select_texts(tree, sel["authors"])) if "authors" in sel else []
    article.authors = names or meta.authors(page, tree)

    candidates = collect_candidates(
        tree, page, now=fetched_at, site_tz=site_tz, selector=sel.get("time"), url=url
    )
    published, article.modified_at = choose(candidates)
    article.date_candidates = candidates
    if published is not None:
        article.published_at = published.parsed
        article.published_raw = published.raw
        article.published_precision = published.precision
        article.published_date = published.local_date
        # An "updated" time standing in for a missing publication time says so.
        article.published_source = (published.source if published.kind == "published"
                                     else "updated")

    # From here on the tree is cut up (highlights, page furniture): metadata comes first.
    work = tree
    found = _highlights(work, sel.get("highlights"))
    article.highlights = found.items
    exclude = [*found.items, *_HEADING_WORDS, *([found.heading] if found.heading else [])]
    if "body" in sel:
        elements = [e for e in select(work, sel["body"]) if isinstance(e, HtmlElement)]
        for el in elements:
            strip_page_furniture(el)
        article.body = finish_paragraphs(
            render_blocks(elements), line_filter=True, exclude=exclude, title=article.title
        ).body
    else:
        article.body = extract_body(
            work, url, body_options or BodyOptions(), exclude=exclude, title=article.title
        ).body
        if not article.body:
            article.body = fallback_body(parse_html(html), url, exclude=exclude,
                                         title=article.title).body
    article.not_article = not_an_article(page, url, body=article.body,
                                         has_date=article.published_at is not None,
                                         has_byline=bool(article.authors))
    return article
