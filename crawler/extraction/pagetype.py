"""Is this page an article? About, contact, tag, author, section and search pages, live-blog
indexes and a video with a one-line caption are listed in sitemaps and feeds too.

:func:`not_an_article` gives the reason a page is not an article, or None. The evidence, from
strongest: the page's own JSON-LD type (an article object makes it an article; an AboutPage,
ContactPage, ProfilePage, CollectionPage, SearchResultsPage or FAQPage without one makes it
not); the address's shape (``/about``, ``/contact``, ``/tag/…``, ``/author/…``) where the page
shows no publication date; and a text too short for an article with neither a byline nor a
date. A page that has a date, a byline and some text is kept whatever its address says.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.extraction.metadata import ARTICLE_TYPES, PageMeta, jsonld_types

_NOT_ARTICLE_TYPES = {t.lower(): t for t in (
    "AboutPage", "ContactPage", "ProfilePage", "CollectionPage", "SearchResultsPage",
    "FAQPage", "CheckoutPage", "RealEstateListing")}
# The last segment, or a segment followed by more, that names a page about the site or an index.
_SITE_PAGE = re.compile(
    r"/(?:about|about-us|ueber-uns|uber-uns|qui-sommes-nous|chi-siamo|quienes-somos|contact|"
    r"contact-us|kontakt|contacto|contatti|impressum|imprint|legal|privacy|privacy-policy|"
    r"datenschutz|terms|terms-of-use|cookies?|cookie-policy|faq|help|jobs|careers|karriere|"
    r"subscribe|newsletter|login|register|search|suche)(?:\.[a-z]{2,5})?/?$", re.IGNORECASE)
_INDEX_PAGE = re.compile(
    r"/(?:tag|tags|topic|topics|author|authors|autor|auteur|category|categories|kategorie|"
    r"section|sections|archive|archives|page|ressort|thema|themen|live|liveblog)"
    r"(?:/[^/]*)?/?$", re.IGNORECASE)
#: Reasons that start so come from the page's own declared type: they stand even where a feed
#: or sitemap dated the entry.
DECLARED = "its JSON-LD says"
# An article has at least this many words of text when it shows no byline and no date (a
# video page with a one-line caption has fewer).
_MIN_UNDATED_WORDS = 40


def not_an_article(page: PageMeta, url: str, *, body: str, has_date: bool,
                   has_byline: bool) -> str | None:
    """Why the page at ``url`` is not an article, or None when nothing says so."""
    types = {t for obj in page.jsonld_pages for t in jsonld_types(obj)}
    if not page.jsonld:  # no article object
        odd = sorted(types & _NOT_ARTICLE_TYPES.keys())
        if odd:
            return f"{DECLARED} it is a {_NOT_ARTICLE_TYPES[odd[0]]}"
        og_type = (page.first("og:type") or "").lower()
        if og_type in ("profile", "video.other", "video.movie", "music.song"):
            if len(body.split()) < _MIN_UNDATED_WORDS:
                return f"its og:type is {og_type}, with a caption rather than a text"
    path = urlsplit(url).path
    if not has_date and (_SITE_PAGE.search(path) or _INDEX_PAGE.search(path)):
        return f"its address ({path}) is that of a page about the site or an index"
    words = len(body.split())
    if words < _MIN_UNDATED_WORDS and not has_date and not has_byline and not page.jsonld:
        return f"{words} words of text, with no byline and no date{_UNSURE}"
    return None


_UNSURE = " (perhaps a page that failed to load)"


def final(reason: str) -> bool:
    """Whether a page dropped for ``reason`` is done with (its entry need not be met again): a
    declared type or an address says so; a short text alone may be a page that failed."""
    return not reason.endswith(_UNSURE)


__all__ = ["ARTICLE_TYPES", "DECLARED", "final", "not_an_article"]
