"""The headline of a page: a heading that agrees with the page's metadata, else the metadata's
title without the site's or blog's name."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from crawler.extraction.document import element_text
from crawler.extraction.metadata import PageMeta, as_text, unentity


def _title_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—·»:~/]{1,2})\s+")
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")


def _agrees(key: str, references: list[str]) -> bool:
    return bool(key) and len(key) > 10 and any(
        key in ref or ref in key for ref in references if len(ref) > 10)


def _without_site(text: str, site: str, headings: list[str]) -> str:
    """``text`` ("Headline | Site", "Site - Headline") without the site's name: the part
    that is a heading of the page, else the part left after dropping the site's name or a
    domain, else the one part much longer than the others."""
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(text) if p.strip()]
    if len(parts) < 2:
        return text
    heading_keys = [_title_key(h) for h in headings]
    for part in parts:
        if _title_key(part) in heading_keys and len(part.split()) >= 2:
            return part
    site_key = _title_key(site) if site else ""
    kept = [p for p in parts if _title_key(p) != site_key and not _DOMAIN.match(p)]
    if len(kept) == 1:
        return kept[0]
    words = sorted(((len(p.split()), p) for p in parts), reverse=True)
    if words[0][0] >= 2 * words[1][0] + 1:
        return words[0][1]
    return text


def title(page: PageMeta, tree: HtmlElement) -> str | None:
    """The headline: a heading (<h1>, else <h2>/<h3>) that agrees with the metadata, else
    JSON-LD, OpenGraph or <title> without the site's name. An <h1> that is the site's or
    blog's name (the metadata's site name, or a heading that only the site part of the
    <title> matches) is not the headline."""
    meta_titles = [
        unentity(t)
        for t in (
            as_text(page.article_value("headline")),
            page.first("og:title"),
            page.first("twitter:title"),
        )
        if t
    ]
    title_el = tree.find(".//title")
    doc_title = element_text(title_el) if title_el is not None else ""
    site = page.first("og:site_name", "application-name") or ""
    site_key = _title_key(site)
    h1s = [t for t in (element_text(h) for h in tree.iter("h1")) if t and len(t) < 400]
    lower = [t for t in (element_text(h) for h in tree.iter("h2", "h3"))
             if t and len(t) < 400]
    references = [_title_key(t) for t in [*meta_titles, doc_title] if t]
    # The site's name in "Headline | Site" agrees too: a heading that is exactly a shorter
    # part of a title is that title's site part.
    site_parts: set[str] = set()
    for full in (doc_title, *meta_titles):
        parts = [_title_key(p) for p in _TITLE_SEPARATORS.split(full) if p.strip()]
        if len(parts) > 1:
            longest = max(len(p) for p in parts)
            site_parts.update(p for p in parts if len(p) < longest)
    # A heading the metadata contains ("Headline" of "Headline | Site") is the headline; a
    # heading that contains a metadata title and more ("Kicker Headline", "5 comments on
    # “Headline”") is the headline with page furniture: the metadata's words are kept.
    longer: str | None = None
    for heading in (*h1s, *lower):
        key = _title_key(heading)
        if key == site_key or key in site_parts:
            continue
        if _agrees(key, references):
            if any(key in ref for ref in references):
                return heading
            longer = longer or heading
    if longer is not None:
        inside = _title_key(longer)
        within = [t for t in (*meta_titles, *(_without_site(m, site, []) for m in meta_titles))
                  if len(_title_key(t)) > 10 and _title_key(t) in inside]
        return within[0] if within else longer
    if meta_titles:
        return _without_site(meta_titles[0], site, [*h1s, *lower])
    if h1s:
        return h1s[0]
    return _without_site(doc_title, site, lower) if doc_title else None
