"""SourceSpider: what every newsmon spider shares — article requests, fetched pages, errors.

A spider crawls one configured source. Subclasses find article URLs (in a feed, a sitemap or
a listing page) and call :meth:`SourceSpider.follow_articles`; this base class skips URLs
already stored, fetches the rest and hands each page on as a
:class:`~crawler.extraction.page.FetchedPage`; extraction is the first item pipeline
(:class:`crawler.pipelines.extract.ExtractionPipeline`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import DeferredLock
from twisted.python.failure import Failure

from config.schema import Source
from crawler.dbthread import run_db
from crawler.extraction.page import FetchedPage
from crawler.fallback import RetryPolicy, refused
from crawler.middlewares import fetched_at, page_age
from crawler.spiders.encoding import response_text
from crawler.spiders.entries import EntryLedger, Verdict
from crawler.spiders.failures import database_reason, describe_failure
from crawler.timeparse import parse as parse_time
from crawler.urls import InvalidURL, url_key
from crawler.xmlsafe import UnsafeXML
from storage.article import ArticleRecord
from storage.models import Article
from storage.pending import Pending, PendingStore
from storage.store import Store

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Hint:
    """What a feed, sitemap or listing page said about an article before it was fetched."""

    url: str
    title: str | None = None
    published_at: datetime | None = None
    published_raw: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    modified_at: datetime | None = None
    summary: str | None = None
    body: str | None = None  # the entry's full text (content:encoded, Atom content)
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    publisher_url: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None


class UnreadableStart(ValueError):
    """A feed, sitemap or listing page that is not what the source's kind needs; the message
    starts with the URL and says what it is instead."""


class SourceSpider(Spider):
    """Base for the spiders of one source kind each."""

    kinds: ClassVar[tuple[str, ...]] = ()
    # False: the kind's entries are all there is (its links cannot be fetched).
    fetches_pages: ClassVar[bool] = True

    def __init__(self, source: Source, store: Store | None = None, **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.store = store
        self.max_articles = source.max_articles
        self._seen_keys: set[str] = set()
        self._settled: set[str] = set()  # seen keys deliberately skipped (already stored)
        # Re-fetches answered 304 Not Modified: key -> when (noted as fetched at close).
        self._not_modified: dict[str, datetime] = {}
        self._requested = 0
        self.first_error: str | None = None
        self.entries = EntryLedger()
        self._following = DeferredLock()
        # The sources file's order: an article several sources lead to is credited to the
        # first of them in it (Store.credit), whichever crawl stored it first.
        self.source_order: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, SourceSpider)
        if spider.max_articles is None:
            spider.max_articles = crawler.settings.getint("NEWSMON_MAX_ARTICLES_PER_RUN", 500)
        spider.source_order = crawler.settings.getlist("NEWSMON_SOURCE_ORDER")
        crawler.signals.connect(spider._item_passed, signal=signals.item_scraped)
        return spider

    def _item_passed(self, item: Any) -> None:
        if isinstance(item, ArticleRecord):
            self.entries.passed(item.url_key)

    # -- start -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for request in await self.page_retries():
            yield request
        for url in self.source.urls:
            yield await self.start_request(url)

    async def page_retries(self) -> list[Request]:
        """Requests for the pages of articles stored from their entry that are due to be
        tried again (:mod:`crawler.fallback`), and of pending entries due
        (:mod:`storage.pending`); a feed that lists them again does not fetch them twice.
        The stored articles' keys are settled for this run; a pending entry's is not (no
        article is stored for it until its try works)."""
        if self.store is None or not self.fetches_articles or self.crawler is None:
            return []
        limit = self.crawler.settings.getint("NEWSMON_PAGE_RETRIES_PER_RUN", 50)
        try:
            due = await run_db(self.store.page_retries_due, self.source.name,
                               datetime.now(UTC), limit)
        except SQLAlchemyError as exc:
            logger.warning("%s: cannot read the refused pages due again (%s)",
                           self.source.name, database_reason(exc))
            return []
        try:
            pending = await run_db(self._pending_due, self.store, limit - len(due))
        except SQLAlchemyError as exc:
            logger.warning("%s: cannot read the pending pages due again (%s)",
                           self.source.name, database_reason(exc))
            pending = []
        out = []
        for article in due:
            self._seen_keys.add(article.url_key)
            self._settled.add(article.url_key)
            self.count("page_retries")
            out.append(Request(article.url, callback=self.parse_article, errback=self.on_error,
                               dont_filter=True, meta=self.robots_meta(),
                               cb_kwargs={"hint": hint_of(article), "refetch": True,
                                          "failed_before": article.page_attempts}))
        for entry in pending:
            # No article yet: a try that works stores it as new. Not settled: a feed that
            # lists it again keeps its validators unless this try stores the article.
            self._seen_keys.add(entry.url_key)
            self.count("page_retries")
            out.append(Request(entry.url, callback=self.parse_article, errback=self.on_error,
                               dont_filter=True, meta=self.robots_meta(),
                               cb_kwargs={"hint": hint_from_entry(entry.url, entry.entry),
                                          "failed_before": entry.page_attempts}))
        return out

    def _pending_due(self, store: Store, limit: int) -> list[Pending]:
        """In the database thread: the pending entries due (:mod:`storage.pending`), after
        removing those stored as articles by now; each try counted before it is made."""
        pending = PendingStore(store.engine)
        pending.settle(self.source.name)
        if limit <= 0:
            return []
        now = datetime.now(UTC)
        assert self.crawler is not None
        policy = RetryPolicy.from_settings(self.crawler.settings)
        due = pending.due(self.source.name, now, limit)
        for entry in due:
            tries = entry.page_attempts + 1
            pending.postpone(entry.url_key, tries, policy.next_try(tries, now))
        return due

    async def start_request(self, url: str) -> Request:
        """A request for a feed, sitemap or listing URL, conditional when we saw it before."""
        headers: dict[str, str] = {}
        if self.store is not None:
            try:
                etag, last_modified = await run_db(self.store.validators, url)
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
                                    "handle_httpstatus_list": [304], **self.robots_meta()},
        )

    async def _parse_start(self, response: Response) -> AsyncIterator[Any]:
        self.count("start_pages")
        if response.status == 304:
            self.count("not_modified")
            return
        try:
            async for out in self.parse_start(response):
                yield out
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

    def parse_start(self, response: Response) -> AsyncIterator[Any]:
        """The requests (child sitemaps) and what :meth:`follow_articles` yields for the
        entries of a start response; an async generator in subclasses."""
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

    async def closed(self, reason: str) -> None:
        if self.store is not None and (self.stat("page_retries")
                                       or self.stat("pending_retries")):
            # Pending entries whose page worked this run are articles now (the last batch
            # is written before the spider closes).
            try:
                await run_db(PendingStore(self.store.engine).settle, self.source.name)
            except SQLAlchemyError as exc:
                logger.warning("%s: pending pages stored this run not cleared (%s)",
                               self.source.name, database_reason(exc))
        if self.store is not None and self._not_modified:
            try:
                await run_db(self.store.mark_fetched, dict(self._not_modified))
            except SQLAlchemyError as exc:
                logger.warning("%s: the re-fetches answered 304 not noted (%s)",
                               self.source.name, database_reason(exc))
        if self.store is None or not self.entries.pending:
            return
        if reason != "finished" or self.stat("store_failures"):
            # A timeout leaves entries unread; a failed batch cannot be told apart by entry.
            logger.info("%s: HTTP validators not saved (run %s%s)", self.source.name, reason,
                        ", a batch not stored" if self.stat("store_failures") else "")
            return
        try:
            verdicts = await run_db(self._save_validators, self.store)
        except SQLAlchemyError as exc:
            logger.warning("%s: HTTP validators not saved (%s)", self.source.name,
                           database_reason(exc))
            return
        for verdict in verdicts:
            if verdict.save:
                continue
            self.count("validators_held")
            why = verdict.incomplete or (
                f"{len(verdict.left)} of its entries not stored: "
                + ", ".join(verdict.left[:3]) + (", ..." if len(verdict.left) > 3 else ""))
            logger.info("%s: %s is read in full again next run (%s)", self.source.name,
                        verdict.url, why)

    def _save_validators(self, store: Store) -> list[Verdict]:
        """In the database thread, at close: each start URL's verdict, its validators saved
        where it says so (in order, until the database fails)."""
        verdicts = self.entries.verdicts(store.known_keys)
        for verdict in verdicts:
            if verdict.save:
                store.save_validators(verdict.url, verdict.etag, verdict.last_modified)
        return verdicts

    # -- articles ----------------------------------------------------------------------

    async def follow_articles(self, hints: Iterable[Hint], origin: str
                              ) -> AsyncIterator[Any]:
        """Request (or, for feed-only sources, hand on) the articles not yet stored; each entry
        is noted in the ledger under ``origin``, the start URL whose response listed it.

        One response's entries are decided at a time (a lock across the database lookup), so
        an entry two responses list has one fate, whichever listed it first, as before the
        lookup left the reactor."""
        await maybe_deferred_to_future(self._following.acquire())
        try:
            out = await self._decide(hints, origin)
        finally:
            self._following.release()
        for request_or_page in out:
            yield request_or_page

    async def _decide(self, hints: Iterable[Hint], origin: str) -> list[Any]:
        fresh: list[tuple[str, Hint]] = []
        refetch: dict[str, datetime] = {}
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
        pending: dict[str, int] = {}
        if self.store is not None and fresh:
            known, refetch, pending = await run_db(self._known, self.store, fresh)
            skip = known - refetch.keys()
            self._settled.update(skip)
            self.count("skipped_known", sum(1 for k, _ in fresh if k in skip))
            fresh = [(k, h) for k, h in fresh if k not in skip]
        out: list[Any] = []
        tried: dict[str, int] = {}  # pending entries whose page is tried again now
        for key, hint in fresh:
            self.entries.listed(origin, key)
            if self.max_articles is not None and self._requested >= self.max_articles:
                self.count("over_limit")
                continue
            self._requested += 1
            if self.fetches_articles:
                again = refetch.get(key)
                if again is not None:
                    self.count("refetches")
                kwargs: dict[str, Any] = {"hint": hint, "refetch": again is not None}
                if key in pending:
                    # A pending entry listed again: its page is tried again now.
                    self.count("pending_retries")
                    kwargs["failed_before"] = tried[key] = pending[key]
                out.append(Request(
                    hint.url, callback=self.parse_article, errback=self.on_error,
                    cb_kwargs=kwargs,
                    # A re-fetch asks for the page only if it changed since the last fetch.
                    headers={"If-Modified-Since": format_datetime(again, usegmt=True)}
                    if again is not None else None,
                    meta={"newsmon_origin": origin, **self.robots_meta(),
                          "handle_httpstatus_list": [304] if again is not None else []}))
            else:
                # A feed-only source: the entry is all there is.
                out.append(FetchedPage(hint=hint, fetched_at=datetime.now(UTC)))
        if tried and self.store is not None:
            try:
                await run_db(self._count_tries, self.store, tried)
            except SQLAlchemyError as exc:  # the try is made; its failure is kept as usual
                logger.warning("%s: the tries of pending pages not counted (%s)",
                               self.source.name, database_reason(exc))
        return out

    def _known(self, store: Store, entries: list[tuple[str, Hint]]
               ) -> tuple[set[str], dict[str, datetime], dict[str, int]]:
        """In the database thread: which of the entries' keys are stored, which of those
        are due for a re-fetch (first seen within the source's ``refetch_within``, or listed
        with a modified time later than their last fetch; not fetched within
        ``refetch_every``), each with the time of its last fetch, and which are pending
        entries (:mod:`storage.pending`), each with its page's tries so far: their page is
        tried again now. A pending entry whose tries are spent counts as known: it is done
        with."""
        known = store.known_keys(k for k, _ in entries)
        pending = (PendingStore(store.engine).tries(k for k, _ in entries if k not in known)
                   if self.fetches_articles else {})
        known |= {k for k, tries in pending.items() if tries is None}
        retried = {k: tries for k, tries in pending.items() if tries is not None}
        if not known:
            return known, {}, retried
        if self.source_order:  # listed here too: credited here if this source comes first
            store.credit(known, self.source.name, self.source_order)
        now = datetime.now(UTC)
        modified = {k: h.modified_at for k, h in entries if k in known and h.modified_at}
        young = (now - self.source.refetch_within if self.source.refetch_within is not None
                 else None)
        if young is None and not modified:
            return known, {}, retried
        due = store.refetch_due(known, modified, first_seen_since=young,
                                checked_before=now - self.source.refetch_every)
        return known, due, retried

    def _count_tries(self, store: Store, tried: dict[str, int]) -> None:
        """In the database thread: count the try of each pending page about to be fetched
        (key -> tries before it) before it is made, as for the ones due at the start."""
        assert self.crawler is not None
        policy = RetryPolicy.from_settings(self.crawler.settings)
        pending = PendingStore(store.engine)
        now = datetime.now(UTC)
        for key, before in tried.items():
            pending.postpone(key, before + 1, policy.next_try(before + 1, now))

    def parse_article(self, response: Response, hint: Hint, refetch: bool = False,
                      failed_before: int = 0) -> Iterator[FetchedPage]:
        """Hand the page at ``response`` on to extraction (the first item pipeline).
        ``refetch``: it is stored already and was fetched again to look for changes; the
        store compares what came back with what it has. ``failed_before``: it is stored
        from its entry and this is a try of its page after so many that failed."""
        self.count("article_pages")
        if response.status == 304:
            # A re-fetch of an unchanged page: the stored article stands.
            self.count("refetch_unchanged")
            self._not_modified[url_key(hint.url)] = fetched_at(response)
            return
        if not isinstance(response, TextResponse):
            self.count("dropped_not_text")
            return
        yield FetchedPage(hint=hint, fetched_at=fetched_at(response), url=response.url,
                          html=response_text(response), age=page_age(response),
                          refetch=refetch, failed_before=failed_before)

    @property
    def fetches_articles(self) -> bool:
        """Whether article pages are fetched (else the entries are stored as they are)."""
        return self.fetches_pages and self.source.fetch_articles

    def robots_meta(self) -> dict[str, Any]:
        """Request meta for a source with ``obey_robots: false``: robots.txt not asked."""
        return {"dont_obey_robotstxt": True} if self.source.obey_robots is False else {}

    # -- errors and counters -----------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[FetchedPage]:
        request = getattr(failure, "request", None)
        assert self.crawler is not None
        message = describe_failure(failure, self.crawler.settings)
        kwargs = request.cb_kwargs if request is not None else {}
        hint = kwargs.get("hint")
        failed_before = int(kwargs.get("failed_before", 0))
        if isinstance(hint, Hint) and refused(failure) and (
                failed_before or not kwargs.get("refetch")):
            # The page is refused: the article is kept from its entry, the page tried
            # again in a later run (crawler.fallback). A re-fetch of an article stored
            # from its page keeps what is stored, and the failure is an error as before.
            self.count("page_refused")
            if hint.title:
                logger.warning("%s: %s; the article is kept from its entry",
                               self.source.name, message)
            # Without a title it is kept as a pending page (crawler.pipelines.pending).
            yield FetchedPage(hint=hint, fetched_at=datetime.now(UTC), failure=message,
                              failed_before=failed_before, refetch=bool(kwargs.get("refetch")))
            return
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


def hint_of(article: Article) -> Hint:
    """What the entry of an article stored from its entry said, read back from its row."""
    return Hint(url=article.url, title=article.title, published_at=article.published_at,
                published_raw=article.published_raw,
                published_precision=article.published_precision,
                published_source=article.published_source, modified_at=article.modified_at,
                summary=article.summary, body=article.body, authors=list(article.authors),
                publisher=article.publisher, publisher_url=article.publisher_url,
                tags=list(article.tags), image_url=article.image_url)


def hint_from_entry(url: str, entry: dict[str, Any]) -> Hint:
    """A pending entry's :class:`Hint` read back (:func:`entry_of` wrote it)."""
    values = dict(entry)
    for name in ("published_at", "modified_at"):
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    known = {f.name for f in fields(Hint)} - {"url"}
    return Hint(url=url, **{k: v for k, v in values.items() if k in known})


def entry_of(values: dict[str, Any]) -> dict[str, Any]:
    """An entry's fields (:class:`Hint`'s names) as JSON for ``pending_pages``: times as ISO
    text, empty ones left out."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()
            if v not in (None, "", [])}


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


__all__ = ["Hint", "SourceSpider", "UnreadableStart", "entry_of", "hint_from_entry", "hint_of",
           "origin_of", "time_hint"]
