"""SourceSpider: what every newsmon spider shares — article requests, article parsing, errors.

A spider crawls one configured source. Subclasses find article URLs (in a feed, a sitemap or
a listing page) and call :meth:`SourceSpider.follow_articles`; this base class skips URLs
already stored, fetches the rest, extracts them and yields :class:`ArticleRecord` objects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from config.schema import Source
from crawler.dates import Evidence, choose_published
from crawler.extraction import extract_article
from crawler.extraction.pagetype import DECLARED
from crawler.extraction.walls import detect_wall
from crawler.middlewares import fetched_at, page_age
from crawler.spiders.encoding import response_text
from crawler.spiders.entries import EntryLedger
from crawler.spiders.failures import database_reason, describe_failure
from crawler.timeparse import parse as parse_time
from crawler.urls import InvalidURL, canonical_url, url_key
from crawler.xmlsafe import UnsafeXML
from storage.article import ArticleRecord
from storage.revisions import is_front_page
from storage.store import Store

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Hint:
    """What a feed, sitemap or listing page said about an article before it was fetched: the
    fields of :data:`storage.article.FEED_FIELDS`, typed as the model types them
    (``tests/test_article_model.py`` checks)."""

    url: str
    title: str | None = None
    published_at: datetime | None = None
    published_raw: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    modified_at: datetime | None = None
    summary: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None


class UnreadableStart(ValueError):
    """A feed, sitemap or listing page that is not what the source's kind needs; the message
    starts with the URL and says what it is instead."""


class SourceSpider(Spider):
    """Base for the spiders of one source kind each."""

    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, source: Source, store: Store | None = None, **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.store = store
        self.max_articles = source.max_articles
        self._seen_keys: set[str] = set()
        self._settled: set[str] = set()  # seen keys deliberately skipped (already stored)
        self._requested = 0
        self.first_error: str | None = None
        self.entries = EntryLedger()
        # 'links' picks article links on listing pages; the rest apply to article pages.
        self.article_selectors = {k: v for k, v in source.selectors.items() if k != "links"
                                  } or None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, SourceSpider)
        if spider.max_articles is None:
            spider.max_articles = crawler.settings.getint("NEWSMON_MAX_ARTICLES_PER_RUN", 500)
        crawler.signals.connect(spider._item_passed, signal=signals.item_scraped)
        return spider

    def _item_passed(self, item: Any) -> None:
        if isinstance(item, ArticleRecord):
            self.entries.passed(item.url_key)

    # -- start -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.urls:
            yield self.start_request(url)

    def start_request(self, url: str) -> Request:
        """A request for a feed, sitemap or listing URL, conditional when we saw it before."""
        headers: dict[str, str] = {}
        if self.store is not None:
            try:
                etag, last_modified = self.store.validators(url)
            except SQLAlchemyError as exc:
                # Fetch unconditionally; whether anything can be stored is decided later.
                logger.warning("%s: cannot read the validators of %s (%s)", self.source.name,
                               url, database_reason(exc))
                etag = last_modified = None
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
        return Request(
            url, callback=self._parse_start, errback=self.on_error, headers=headers,
            dont_filter=True, meta={"newsmon_start": True, "newsmon_origin": url,
                                    "handle_httpstatus_list": [304]},
        )

    def _parse_start(self, response: Response) -> Iterator[Any]:
        self.count("start_pages")
        if response.status == 304:
            self.count("not_modified")
            return
        try:
            yield from self.parse_start(response)
        except Exception as exc:  # a broken feed must not take the spider's other URLs down
            # Nothing (or not all) of what this URL lists was followed: it counts as failed.
            self.count("start_failures")
            if isinstance(exc, UnreadableStart | UnsafeXML):
                message = str(exc)
            elif isinstance(exc, SQLAlchemyError):
                message = (f"{response.url}: database unavailable, nothing from it stored "
                           f"({database_reason(exc)})")
            else:
                message = f"{response.url}: cannot read the {self.source.kind}: {exc}"
            self.record_error(message)
            return
        self.remember_validators(response)

    def parse_start(self, response: Response) -> Iterator[Any]:
        raise NotImplementedError

    def remember_validators(self, response: Response) -> None:
        """Note the validators of a start response read to the end; they are saved at close
        only if everything it listed was stored or deliberately skipped (see
        :mod:`crawler.spiders.entries`)."""
        if self.store is None:
            return
        etag = response.headers.get(b"ETag")
        last_modified = response.headers.get(b"Last-Modified")
        if etag or last_modified:
            self.entries.read(origin_of(response),
                              etag.decode("latin-1") if etag else None,
                              last_modified.decode("latin-1") if last_modified else None)

    def closed(self, reason: str) -> None:
        if self.store is None or not self.entries.pending:
            return
        if reason != "finished" or self.stat("store_failures"):
            # A timeout leaves entries unread; a failed batch cannot be told apart by entry.
            logger.info("%s: HTTP validators not saved (run %s%s)", self.source.name, reason,
                        ", a batch not stored" if self.stat("store_failures") else "")
            return
        try:
            for verdict in self.entries.verdicts(self.store.known_keys):
                if verdict.save:
                    self.store.save_validators(verdict.url, verdict.etag,
                                               verdict.last_modified)
                    continue
                self.count("validators_held")
                why = verdict.incomplete or (
                    f"{len(verdict.left)} of its entries not stored: "
                    + ", ".join(verdict.left[:3]) + (", ..." if len(verdict.left) > 3 else ""))
                logger.info("%s: %s is read in full again next run (%s)", self.source.name,
                            verdict.url, why)
        except SQLAlchemyError as exc:
            logger.warning("%s: HTTP validators not saved (%s)", self.source.name,
                           database_reason(exc))

    # -- articles ----------------------------------------------------------------------

    def follow_articles(self, hints: Iterable[Hint], origin: str) -> Iterator[Any]:
        """Request (or, for feed-only sources, emit) the articles not yet stored; each entry
        is noted in the ledger under ``origin``, the start URL whose response listed it."""
        fresh: list[tuple[str, Hint]] = []
        refetch: set[str] = set()
        for hint in hints:
            try:
                key = url_key(hint.url)
            except InvalidURL:
                self.count("invalid_urls")
                continue
            if key in self._seen_keys:
                # Listed twice (or by two responses): one fate, whichever listed it first.
                if key not in self._settled:
                    self.entries.listed(origin, key)
                continue
            self._seen_keys.add(key)
            fresh.append((key, hint))
        if self.store is not None and fresh:
            known = self.store.known_keys(k for k, _ in fresh)
            if self.source.refetch_within is not None and known:
                since = datetime.now(UTC) - self.source.refetch_within
                refetch = self.store.keys_first_seen_since(known, since)
            skip = known - refetch
            self._settled.update(skip)
            self.count("skipped_known", sum(1 for k, _ in fresh if k in skip))
            fresh = [(k, h) for k, h in fresh if k not in skip]
        for key, hint in fresh:
            self.entries.listed(origin, key)
            if self.max_articles is not None and self._requested >= self.max_articles:
                self.count("over_limit")
                continue
            self._requested += 1
            if self.source.fetch_articles:
                yield Request(hint.url, callback=self.parse_article, errback=self.on_error,
                              cb_kwargs={"hint": hint, "refetch": key in refetch},
                              meta={"newsmon_origin": origin})
            else:
                item = self.item_from_hint(hint)
                if item is not None:
                    self.entries.produced(key, item.url_key)
                    yield item

    def item_from_hint(self, hint: Hint) -> ArticleRecord | None:
        """A feed-only article: what the feed said is all there is."""
        try:
            canon = canonical_url(hint.url)
        except InvalidURL:
            return None
        now = datetime.now(UTC)
        return ArticleRecord(
            url_key=url_key(canon), canonical_url=canon, url=hint.url,
            source=self.source.name, title=hint.title or "", body=hint.summary or "",
            summary=hint.summary, fetched_at=now, authors=list(hint.authors),
            published_at=hint.published_at, published_raw=hint.published_raw,
            published_precision=hint.published_precision,
            published_date=self.local_date(hint.published_at, hint.published_raw),
            published_source=hint.published_source, modified_at=hint.modified_at,
            tags=list(hint.tags), image_url=hint.image_url,
        )

    def parse_article(self, response: Response, hint: Hint, refetch: bool = False
                      ) -> Iterator[ArticleRecord]:
        """The article at ``response``. ``refetch``: it is stored already and was fetched
        again to look for changes; the store compares what came back with what it has."""
        self.count("article_pages")
        if not isinstance(response, TextResponse):
            self.count("dropped_not_text")
            return
        when = fetched_at(response)
        html = response_text(response)
        # A cached copy was generated Age seconds before it arrived: "2 hours ago" on it
        # counts back from then (the article's fetched_at stays the arrival).
        age = page_age(response)
        art = extract_article(
            html, response.url, fetched_at=when - age, site_tz=self.source.timezone,
            selectors=self.article_selectors,
        )
        requested = url_key(hint.url)
        # Where the request ended, when that is another page (another key).
        redirected_to = response.url if url_key(response.url) != requested else None
        canon = canonical_url(response.url)
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
        key = requested if refetch and redirected_to else url_key(canon)
        aliases = sorted(k for k in {url_key(response.url), requested, url_key(canon)} - {key}
                         if not is_front_page(k))
        published = self._choose_published(art, hint)
        if age and published[0] is not None and published[1] and (
                published[1] == art.published_raw):
            published = (published[0], self._age_noted(published[1], published[0], when, age),
                         published[2], published[3])
        self.entries.produced(url_key(hint.url), key)
        wall = detect_wall(html, title=art.title, body=art.body)
        yield ArticleRecord(
            url_key=key, canonical_url=canon, url=response.url, source=self.source.name,
            title=art.title or hint.title or "", body=art.body or "",
            highlights=list(art.highlights), summary=art.summary or hint.summary,
            authors=list(art.authors) or list(hint.authors), fetched_at=when,
            published_at=published[0], published_raw=published[1],
            published_precision=published[2], published_source=published[3],
            published_date=self.local_date(
                published[0], published[1],
                art.published_date if published[0] == art.published_at else None),
            modified_at=art.modified_at or hint.modified_at, language=art.language,
            image_url=art.image_url or hint.image_url, section=art.section,
            tags=list(art.tags) or list(hint.tags), alias_keys=aliases, refetch=refetch,
            wall=wall,
            redirected_to=redirected_to,
            # A feed's or sitemap's date makes it an article unless its JSON-LD says not; a
            # bot wall is a wall, not a page that is no article.
            not_article=art.not_article if art.not_article is not None and wall is None and (
                hint.published_at is None or art.not_article.startswith(DECLARED)) else None,
        )

    def _choose_published(
        self, art: Any, hint: Hint
    ) -> tuple[datetime | None, str | None, str | None, str | None]:
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

    def local_date(self, at: datetime | None, raw: str | None,
                   page_date: date | None = None) -> date | None:
        """The calendar day a publication time means where it was written: the page's own
        reading when it chose this time, else the offset its raw text names, else the
        source's time zone."""
        if at is None:
            return None
        if page_date is not None:
            return page_date
        if raw:
            result = parse_time(raw, at + timedelta(days=1), self.source.timezone)
            if result is not None and result.dt == at and result.local_date is not None:
                return result.local_date
        try:
            return at.astimezone(ZoneInfo(self.source.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            return at.astimezone(UTC).date()

    def _age_noted(self, raw: str, at: datetime, fetched: datetime, age: timedelta) -> str:
        """``raw``, with the Age it was counted back from when that moved the time (a
        relative time); an absolute date is the same either way and stays as it is."""
        plain = parse_time(raw, fetched, self.source.timezone)
        if plain is not None and plain.dt == at:
            return raw
        return f"{raw} (Age: {int(age.total_seconds())} s)"

    # -- errors and counters -----------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        assert self.crawler is not None
        message = describe_failure(failure, self.crawler.settings)
        if request is not None and request.meta.get("newsmon_start"):
            self.count("start_failures")
        if request is not None and request.meta.get("newsmon_origin"):
            self.entries.incomplete(request.meta["newsmon_origin"], message)
        self.record_error(message)

    def record_error(self, message: str) -> None:
        """Count an error; the first of the run (from here, a pipeline or the run recorder,
        whichever came first) is what ``newsmon runs`` shows."""
        self.count("errors")
        if self.first_error is None:
            self.first_error = message
        if self.crawler is not None and self.crawler.stats is not None and not (
                self.crawler.stats.get_value("newsmon/first_error")):
            self.crawler.stats.set_value("newsmon/first_error", message)
        logger.warning("%s: %s", self.source.name, message)

    def count(self, key: str, n: int = 1) -> None:
        if n and self.crawler is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"newsmon/{key}", n)

    def stat(self, key: str) -> int:
        if self.crawler is None or self.crawler.stats is None:
            return 0
        return int(self.crawler.stats.get_value(f"newsmon/{key}", 0))


def origin_of(response: Response) -> str:
    """The configured start URL whose response led to ``response`` (its own URL if none)."""
    origin = response.meta.get("newsmon_origin") if response.request is not None else None
    return origin if isinstance(origin, str) else response.url


def time_hint(raw: str | None, now: datetime, tz: str, origin: str) -> dict[str, Any]:
    """Parse a date string from a feed, sitemap or listing into Hint fields (empty if none)."""
    if not raw:
        return {}
    result = parse_time(raw, now, tz)
    if result is None:
        return {}
    return {"published_at": result.dt, "published_raw": raw.strip(),
            "published_precision": str(result.precision.value if hasattr(
                result.precision, "value") else result.precision),
            "published_source": origin}


__all__ = ["Hint", "SourceSpider", "UnreadableStart", "origin_of", "time_hint"]
