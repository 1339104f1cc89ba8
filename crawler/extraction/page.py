"""From a fetched page to an article item: main text, metadata, the time choice, identity.

The spider hands on a :class:`FetchedPage` (the page as it arrived, with what the feed,
sitemap or listing said about it); :func:`article_from_page` turns it into the
:class:`~storage.article.ArticleRecord` the pipelines validate, enrich and store. It runs as the
first item pipeline (:class:`crawler.pipelines.extract.ExtractionPipeline`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from crawler.extraction.extractor import extract_article
from crawler.extraction.model import ExtractedArticle
from crawler.extraction.pagetype import DECLARED
from crawler.extraction.published import Evidence, age_noted, choose_published, local_date
from crawler.extraction.walls import detect_wall
from crawler.urls import InvalidURL, canonical_url, url_key
from storage.article import ArticleRecord
from storage.revisions import is_front_page, words

#: When to try a refused page again after so many failed tries (None: not again); the
#: crawl's is :meth:`crawler.fallback.RetryPolicy.next_try`.
NextTry = Callable[[int, datetime], "datetime | None"]
# The feed's full text is the page's article (not another text) when it holds at least this
# share of the page body's word 3-grams.
FEED_AGREES = 0.5
# ... and has more of it: this many times the page body's words (a feed's own boilerplate,
# "The post … appeared first on …", is not more of the article).
FEED_MORE = 1.1


class EntryHint(Protocol):
    """What a feed, sitemap or listing page said about an article before it was fetched
    (the spiders' ``Hint``)."""

    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def published_raw(self) -> str | None: ...
    @property
    def published_precision(self) -> str | None: ...
    @property
    def published_source(self) -> str | None: ...
    @property
    def modified_at(self) -> datetime | None: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def authors(self) -> list[str]: ...
    @property
    def publisher(self) -> str | None: ...
    @property
    def publisher_url(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def image_url(self) -> str | None: ...


@dataclass(slots=True)
class FetchedPage:
    """What a spider hands on for one entry: the entry (``hint``) and, unless the source is
    feed-only (``html`` None: the entry is all there is), the page fetched for it.

    ``url`` is where the fetch ended (after redirects); ``fetched_at`` when the page arrived
    (for a feed-only entry, when it was read); ``age`` the response's ``Age`` (a cached copy
    was generated that long before it arrived); ``refetch``: the article is stored already
    and was fetched again to look for changes. ``failure``: why the page could not be had
    (the article is kept from its entry, ``html`` None); ``failed_before``: how many tries of
    the page failed before this one (it is tried again, :mod:`crawler.fallback`).
    """

    hint: EntryHint
    fetched_at: datetime
    url: str | None = None
    html: str | None = field(default=None, repr=False)
    age: timedelta = timedelta(0)
    refetch: bool = False
    failure: str | None = None
    failed_before: int = 0


def article_from_page(page: FetchedPage, *, source: str, site_tz: str = "UTC",
                      selectors: Mapping[str, str] | None = None,
                      next_try: NextTry | None = None) -> ArticleRecord | None:
    """The article item for ``page`` of ``source`` (its name); None when the entry's URL is
    not usable. ``site_tz`` and ``selectors`` are the source's (see
    :func:`crawler.extraction.extract_article`).

    A page that failed (``page.failure``) or is a bot wall gives the entry's article (its
    text never stored), with the failure and, by ``next_try``, when to try the page again;
    except on a re-fetch of an article stored from its page, which the store judges as it
    is (:func:`storage.revisions.judge` keeps the stored text). The entry's full text
    (``content:encoded``, Atom ``content``) is the body when it has more of the page's
    text than the page gave."""
    if page.html is None or page.url is None:
        rec = _from_entry(page.hint, page.fetched_at, source, site_tz)
        if rec is None or page.failure is None:
            return rec
        return _failed(rec, page, page.failure, next_try)
    rec = _from_html(page, page.url, page.html, source, site_tz, selectors)
    if rec.wall is None or (page.refetch and not page.failed_before):
        return rec
    entry = _from_entry(page.hint, page.fetched_at, source, site_tz)
    if entry is None:
        return rec
    entry.url_key, entry.alias_keys = rec.url_key, rec.alias_keys
    return _failed(entry, page, f"{page.url}: {rec.wall}", next_try)


def _failed(rec: ArticleRecord, page: FetchedPage, why: str, next_try: NextTry | None
            ) -> ArticleRecord:
    failed = page.failed_before + 1
    return replace(rec, page_error=why, page_attempts=failed, refetch=page.refetch,
                   page_retry_at=next_try(failed, page.fetched_at) if next_try else None)


def entry_body(hint: EntryHint) -> str:
    """The entry's text: its full text (``content:encoded``) unless its summary says more."""
    full, summary = hint.body or "", hint.summary or ""
    return full if full and len(words(full)) >= len(words(summary)) else summary


def feed_has_more(feed: str | None, page: str) -> bool:
    """Whether the entry's full text ``feed`` is the page's article with more of it: a tenth
    more words or more, and most of the page body's word 3-grams in it (a page body too
    short to tell agrees)."""
    if not feed:
        return False
    theirs, ours = words(feed), words(page)
    if len(theirs) <= FEED_MORE * len(ours):
        return False
    grams = {tuple(ours[i:i + 3]) for i in range(len(ours) - 2)}
    if len(grams) < 5:
        return True
    have = {tuple(theirs[i:i + 3]) for i in range(len(theirs) - 2)}
    return len(grams & have) >= FEED_AGREES * len(grams)


def _from_entry(hint: EntryHint, when: datetime, source: str, site_tz: str
                ) -> ArticleRecord | None:
    """A feed-only article: what the feed said is all there is."""
    try:
        canon = canonical_url(hint.url)
    except InvalidURL:
        return None
    return ArticleRecord(
        url_key=url_key(canon), canonical_url=canon, url=hint.url,
        source=source, title=hint.title or "", body=entry_body(hint), body_source="feed",
        summary=hint.summary, fetched_at=when, authors=list(hint.authors),
        publisher=hint.publisher, publisher_url=hint.publisher_url,
        published_at=hint.published_at, published_raw=hint.published_raw,
        published_precision=hint.published_precision,
        published_date=local_date(hint.published_at, hint.published_raw, site_tz),
        published_source=hint.published_source, modified_at=hint.modified_at,
        tags=list(hint.tags), image_url=hint.image_url,
    )


def _from_html(page: FetchedPage, url: str, html: str, source: str, site_tz: str,
               selectors: Mapping[str, str] | None) -> ArticleRecord:
    hint, when, age = page.hint, page.fetched_at, page.age
    # A cached copy was generated Age seconds before it arrived: "2 hours ago" on it
    # counts back from then (the article's fetched_at stays the arrival).
    art = extract_article(html, url, fetched_at=when - age, site_tz=site_tz,
                          selectors=selectors)
    requested = url_key(hint.url)
    # Where the request ended, when that is another page (another key).
    redirected_to = url if url_key(url) != requested else None
    canon = canonical_url(url)
    if art.canonical_url:
        try:
            declared = canonical_url(art.canonical_url)
            # Trust rel=canonical within the site only: a cross-site canonical (syndicated
            # copy) or one pointing at the home page would merge unrelated articles.
            if (url_key(declared).split("/", 1)[0] == url_key(canon).split("/", 1)[0]
                    and not is_front_page(declared)):
                canon = declared
        except InvalidURL:
            pass
    if is_front_page(canon):
        # Not an article (the article now redirects home): never its identity or an
        # alias, or every later article that redirects home would be taken for it.
        canon = canonical_url(hint.url)
    # A re-fetch is compared with the article stored under the key it was asked for.
    key = requested if page.refetch and redirected_to else url_key(canon)
    aliases = sorted(k for k in {url_key(url), requested, url_key(canon)} - {key}
                     if not is_front_page(k))
    published = _choose_published(art, hint)
    if age and published[0] is not None and published[1] and (
            published[1] == art.published_raw):
        published = (published[0], age_noted(published[1], published[0], when, age, site_tz),
                     published[2], published[3])
    wall = detect_wall(html, title=art.title, body=art.body)
    body, body_source = art.body or "", "page"
    if wall is None and feed_has_more(hint.body, body):
        body, body_source = hint.body or "", "feed"
    return ArticleRecord(
        url_key=key, canonical_url=canon, url=url, source=source,
        title=art.title or hint.title or "", body=body, body_source=body_source,
        highlights=list(art.highlights), summary=art.summary or hint.summary,
        authors=list(art.authors) or list(hint.authors), fetched_at=when,
        publisher=hint.publisher, publisher_url=hint.publisher_url,
        published_at=published[0], published_raw=published[1],
        published_precision=published[2], published_source=published[3],
        published_date=local_date(
            published[0], published[1], site_tz,
            art.published_date if published[0] == art.published_at else None),
        modified_at=art.modified_at or hint.modified_at, language=art.language,
        image_url=art.image_url or hint.image_url, section=art.section,
        tags=list(art.tags) or list(hint.tags), alias_keys=aliases, refetch=page.refetch,
        wall=wall,
        redirected_to=redirected_to,
        # A feed's or sitemap's date makes it an article unless its JSON-LD says not; a
        # bot wall is a wall, not a page that is no article.
        not_article=art.not_article if art.not_article is not None and wall is None and (
            hint.published_at is None or art.not_article.startswith(DECLARED)) else None,
    )


def _choose_published(
    art: ExtractedArticle, hint: EntryHint
) -> tuple[datetime | None, str | None, str | None, str | None]:
    """The page's time against the entry's (:mod:`crawler.extraction.published`)."""
    options = []
    if art.published_at is not None:
        options.append(Evidence(art.published_at, art.published_raw,
                                art.published_precision, art.published_source or "text"))
    if hint.published_at is not None:
        options.append(Evidence(hint.published_at, hint.published_raw,
                                hint.published_precision, hint.published_source or "feed"))
    chosen = choose_published(options)
    if chosen is None:
        return None, None, None, None
    return chosen.at, chosen.raw, chosen.precision, chosen.source


__all__ = ["EntryHint", "FetchedPage", "NextTry", "article_from_page", "entry_body",
           "feed_has_more"]
