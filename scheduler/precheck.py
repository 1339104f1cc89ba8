"""The conditional-GET pre-check: is a source's crawl worth a crawl process?

A scheduled run of a source whose feeds, sitemaps and listing pages all answer
``304 Not Modified`` finds nothing to do, yet a crawl child costs seconds of CPU to learn that
(Python, Scrapy, the extractors, migrations, a reactor). :class:`PreCheck` asks the same
question from the service (or worker) process itself, with the stdlib's ``http.client``:

- each configured URL of the source is requested with the ETag / Last-Modified the spiders
  saved for it (``http_validators``, :meth:`crawler.spiders.base.SourceSpider.closed`), with the
  User-Agent, the source's own headers and cookies a crawl would send;
- only when *every* URL answers 304 is the run *unchanged*: the caller records it (a short
  ``ok`` run, ``requests`` = the URLs asked) without starting a crawl;
- in every other case — a URL without validators, any other status, a redirect, a network
  error, robots.txt unknown or disallowing the URL — the verdict is *crawl*, and the child
  runs as before, so every failure is met, retried and recorded where it always was. The
  pre-check stops at the first URL that says so; it never records an error itself.

Politeness: robots.txt is obeyed as the crawl obeys it (``crawl.obey_robots``; Protego, the
parser Scrapy uses), fetched by this process once per host and kept ``ROBOTS_TTL`` seconds; a
robots.txt that cannot be read (a network error, a 5xx, a redirect) means "unsure" and the
pre-check leaves that host to the crawl. Requests to one host from the pre-check are at least
``crawl.download_delay`` apart.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from protego import Protego

from config.schema import Settings, Source

if TYPE_CHECKING:
    from storage.scheduler_store import SchedulerStore

logger = logging.getLogger(__name__)

#: How long a host's robots.txt is kept (seconds); an unreadable one is asked again sooner.
ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 600.0
#: Bytes of a robots.txt read at most (Google reads 500 KiB).
ROBOTS_MAX_BYTES = 512 * 1024
#: A pre-check request waits at most this long (or ``crawl.download_timeout``, if shorter):
#: a slow server is the crawl's to meet, under its own timeout, and a service that is
#: stopping is not held up by a hung pre-check for long.
MAX_TIMEOUT = 10.0

Validators = Callable[[Sequence[str]], dict[str, tuple[str | None, str | None]]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the pre-check found: ``unchanged`` (every URL answered 304) or why to crawl."""

    unchanged: bool
    reason: str
    requests: int = 0
    bytes: int = 0


@dataclass(slots=True)
class _Robots:
    checked: float
    rules: Protego | None  # None: unsure (unreadable); allow-all is an empty Protego


def pages_due(store: SchedulerStore, source: Source, now: datetime) -> bool:
    """Whether ``source`` must be crawled whatever its feeds answer: it has refused pages due
    to be tried again, or articles due for a re-fetch (``refetch_within``/``refetch_every``).
    A 304 on the feed says nothing about those pages."""
    if not source.fetch_articles:
        return False
    young = now - source.refetch_within if source.refetch_within is not None else None
    return store.pages_due(source.name, now, young_since=young,
                           checked_before=now - source.refetch_every)


class PreCheck:
    """Conditional GETs of sources' entry URLs from this process; thread-safe.

    ``validators`` maps URLs to their kept (ETag, Last-Modified), e.g.
    :meth:`storage.scheduler_store.SchedulerStore.validators_of`."""

    def __init__(self, settings: Settings, validators: Validators, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.validators = validators
        self.clock = clock
        self.timeout = min(settings.crawl.download_timeout.total_seconds(), MAX_TIMEOUT)
        self.delay = settings.crawl.download_delay
        self.obey_robots = settings.crawl.obey_robots
        self._robots: dict[str, _Robots] = {}
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    # -- the verdict -------------------------------------------------------------------

    def check(self, source: Source, stop: Callable[[], bool] = lambda: False) -> Verdict:
        """Ask each of ``source``'s URLs whether it changed; never raises for the network.
        ``stop`` is asked before each request: once it says so, the verdict is "crawl" (whose
        child then meets the stop as every crawl does)."""
        urls = [str(u) for u in source.urls]
        kept = self.validators(urls)
        headers = self._headers(source)
        requests = 0
        for url in urls:
            if stop():
                return Verdict(False, "stopping", requests)
            etag, last_modified = kept.get(url, (None, None))
            if not etag and not last_modified:
                return Verdict(False, f"{url}: no validators kept", requests)
            if self.obey_robots:
                allowed = self._robots_allow(url, headers)
                if allowed is None:
                    return Verdict(False, f"{url}: robots.txt unknown", requests)
                if not allowed:
                    return Verdict(False, f"{url}: disallowed by robots.txt", requests)
            conditional = dict(headers)
            if etag:
                conditional["If-None-Match"] = etag
            if last_modified:
                conditional["If-Modified-Since"] = last_modified
            requests += 1
            try:
                status, _body = self._get(url, conditional, read_body=False)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                return Verdict(False, f"{url}: {type(exc).__name__}: {exc}", requests)
            if status != 304:
                return Verdict(False, f"{url}: HTTP {status}", requests)
        return Verdict(True, "not modified", requests)

    def _headers(self, source: Source) -> dict[str, str]:
        headers = {"User-Agent": self.settings.effective_user_agent,
                   "Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Connection": "close"}
        lower = {k.lower(): k for k in headers}
        for name, value in source.headers.items():
            headers.pop(lower.get(name.lower(), name), None)
            headers[name] = value
        if source.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in source.cookies.items())
        return headers

    # -- robots.txt --------------------------------------------------------------------

    def _robots_allow(self, url: str, headers: dict[str, str]) -> bool | None:
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        now = self.clock()
        with self._lock:
            entry = self._robots.get(host)
        ttl = ROBOTS_TTL if entry is not None and entry.rules is not None else ROBOTS_RETRY
        if entry is None or now - entry.checked >= ttl:
            entry = _Robots(now, self._fetch_robots(host, headers))
            with self._lock:
                self._robots[host] = entry
        if entry.rules is None:
            return None
        agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), "")
        return bool(entry.rules.can_fetch(url, agent))

    def _fetch_robots(self, host: str, headers: dict[str, str]) -> Protego | None:
        plain = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        try:
            status, body = self._get(f"{host}/robots.txt", plain, read_body=True)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.info("pre-check: %s/robots.txt unreadable (%s); leaving the host to crawls",
                        host, exc)
            return None
        if 200 <= status < 300:
            return Protego.parse(body.decode("utf-8", errors="replace"))
        if 400 <= status < 500:
            return Protego.parse("")  # no robots.txt: everything allowed, as in Scrapy
        logger.info("pre-check: %s/robots.txt answered %d; leaving the host to crawls",
                    host, status)
        return None

    # -- HTTP --------------------------------------------------------------------------

    def _pace(self, netloc: str) -> None:
        """Keep this process's requests to one host ``download_delay`` apart."""
        if self.delay <= 0:
            return
        while True:
            with self._lock:
                now = self.clock()
                last = self._last_request.get(netloc)
                if last is None or now - last >= self.delay:
                    self._last_request[netloc] = now
                    return
                wait = self.delay - (now - last)
            time.sleep(wait)

    def _get(self, url: str, headers: dict[str, str], *, read_body: bool) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an HTTP URL: {url}")
        self._pace(parts.netloc)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            conn = http.client.HTTPSConnection(parts.hostname, parts.port,
                                               timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read(ROBOTS_MAX_BYTES) if read_body else b""
            return response.status, body
        finally:
            conn.close()
