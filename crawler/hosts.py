"""Politeness per host, held in the database so that every source and every crawl process
(``newsmon crawl``, the service's children, workers on other machines) sees it
(:mod:`storage.hosts`):

- :class:`CachedRobotsTxtMiddleware` replaces Scrapy's robots.txt middleware: a host's
  robots.txt is read from the ``robots_txt`` table while fresh (its ``Cache-Control`` max-age,
  at most ``NEWSMON_ROBOTS_TTL`` seconds, 24 h as RFC 9309 advises), fetched and saved
  otherwise; judged exactly as Scrapy judges it.
- :class:`HostPauseMiddleware`: a 429 or 503 with ``Retry-After`` pauses its host in
  ``host_pauses`` for everyone; a request to a paused host waits out a short pause (at most
  ``crawl.retry_after_max``) and is dropped for this run during a longer one. The
  per-host concurrency and delay across processes are :mod:`crawler.host_slots`.
- :class:`BlockedPagesMiddleware` counts pages the site refused (401, 403, 429, 451) as
  ``newsmon/blocked``; bot walls are counted by the extraction step. Blocked is not an error.

Every database call runs in the crawl's database thread (:mod:`crawler.dbthread`). A request
waits for one at most ``NEWSMON_HOST_DB_WAIT`` seconds (then goes as if there were no shared
state), so that a slow database delays downloads only that long; a host's pause is read
once per crawl and then every few seconds while requests go on.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet import defer
from twisted.internet.defer import Deferred

from crawler.dbthread import in_db_thread
from crawler.retry import RETRY_AFTER_STATUSES, retry_after_seconds
from crawler.settings import store_for
from storage.hosts import HostStore

logger = logging.getLogger(__name__)

#: Statuses that say the site refused us (not that it failed).
REFUSED_STATUSES = frozenset({401, 402, 403, 429, 451})
_MAX_AGE = re.compile(rb"max-age\s*=\s*(\d+)")


#: A host's pause is read again after this many seconds (between, the last reading holds).
PAUSE_RECHECK = 5.0


async def _bounded(call: Deferred[Any], seconds: float) -> Any:
    """The result of a database call, or :class:`TimeoutError` after ``seconds``."""
    from twisted.internet import reactor

    call.addTimeout(seconds, reactor)
    try:
        return await maybe_deferred_to_future(call)
    except (defer.TimeoutError, defer.CancelledError) as exc:
        raise TimeoutError(f"no answer from the database within {seconds:g} s") from exc


def _hosts(crawler: Crawler) -> HostStore | None:
    spider = crawler.spider
    if spider is None:
        return None
    try:
        return HostStore(store_for(crawler, spider).engine)
    except RuntimeError:  # no database for this crawl (a bare Scrapy run)
        return None


def robots_ttl(response: Response, cap: float) -> float:
    """Seconds a robots.txt stays fresh: its ``Cache-Control`` max-age, at most ``cap``."""
    match = _MAX_AGE.search(response.headers.get(b"Cache-Control") or b"")
    return min(float(match.group(1)), cap) if match else cap


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.ttl = crawler.settings.getfloat("NEWSMON_ROBOTS_TTL", 86400.0)
        self.db_wait = crawler.settings.getfloat("NEWSMON_HOST_DB_WAIT", 2.0)

    async def robot_parser(self, request: Request) -> Any:
        url = urlparse_cached(request)
        netloc = url.netloc
        hosts = _hosts(self.crawler) if self.ttl > 0 else None
        if netloc not in self._parsers and hosts is not None:
            key = f"{url.scheme}://{netloc}"
            try:
                cached = await _bounded(in_db_thread(hosts.robots, key), self.db_wait)
            except Exception as exc:  # the database is away: fetch it as Scrapy would
                logger.warning("cannot read the cached robots.txt of %s: %s", key, exc)
                cached = None
            if netloc not in self._parsers and cached is not None:
                self._parsers[netloc] = build_from_crawler(
                    self._parserimpl, self.crawler, cached.body.encode("utf-8"))
                self._stats.inc_value("newsmon/robots_cached")
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        hosts = _hosts(self.crawler) if self.ttl > 0 else None
        if hosts is not None:
            now = datetime.now(UTC)
            expires = now + timedelta(seconds=robots_ttl(response, self.ttl))
            # Keyed by the host asked, even if its robots.txt redirected elsewhere.
            key = f"{urlparse_cached(request).scheme}://{netloc}"
            try:
                await maybe_deferred_to_future(in_db_thread(
                    hosts.save_robots, key, response.status,
                    response.body.decode("utf-8", "replace"), now, expires))
            except Exception as exc:
                logger.warning("cannot cache the robots.txt of %s: %s", key, exc)
        await super()._parse_robots(response, netloc, request)


class HostPauseMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NEWSMON_RETRY_AFTER_MAX", 30.0)
        self.db_wait = crawler.settings.getfloat("NEWSMON_HOST_DB_WAIT", 2.0)
        # host -> (its pause or None, when it was read: time.monotonic())
        self._pauses: dict[str, tuple[tuple[datetime, str] | None, float]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostPauseMiddleware:
        return cls(crawler)

    def _inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    async def process_request(self, request: Request) -> None:
        hosts = _hosts(self.crawler)
        host = urlparse_cached(request).hostname
        if hosts is None or not host:
            return None
        paused = await self._paused(hosts, host)
        if paused is not None:
            until, reason = paused
            left = (until - datetime.now(UTC)).total_seconds()
            if left > self.max_wait:
                self._inc("newsmon/host_paused")
                # The spider's error message names the URL already.
                raise IgnoreRequest(f"{host} is paused until "
                                    f"{until:%Y-%m-%d %H:%M:%S} UTC ({reason})")
            if left > 0:
                await sleep(left)
        return None

    async def _paused(self, hosts: HostStore, host: str) -> tuple[datetime, str] | None:
        known = self._pauses.get(host)
        now = time.monotonic()
        if known is not None and now - known[1] < PAUSE_RECHECK:
            return known[0]
        if known is not None:
            # Read it again in the background; this request goes by the last reading.
            self._pauses[host] = (known[0], now)
            d = in_db_thread(hosts.paused, host)
            d.addCallbacks(lambda found: self._pauses.__setitem__(host, (found, now)),
                           lambda f: logger.warning("cannot read the pause of %s: %s", host,
                                                    f.value))
            return known[0]
        found: tuple[datetime, str] | None
        try:
            found = await _bounded(in_db_thread(hosts.paused, host), self.db_wait)
        except Exception as exc:
            logger.warning("cannot read the pause of %s: %s", host, exc)
            found = None
        self._pauses[host] = (found, now)
        return found

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in RETRY_AFTER_STATUSES:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        host = urlparse_cached(request).hostname
        hosts = _hosts(self.crawler)
        if wait is None or wait <= 0 or not host or hosts is None:
            return response
        until = datetime.now(UTC) + timedelta(seconds=wait)
        reason = f"{response.status} with Retry-After {wait:.0f} s from {request.url}"
        known = self._pauses.get(host)
        if known is None or known[0] is None or known[0][0] < until:
            self._pauses[host] = ((until, reason), time.monotonic())
        try:
            await maybe_deferred_to_future(in_db_thread(hosts.pause, host, until, reason))
            self._inc("newsmon/host_pauses")
        except Exception as exc:
            logger.warning("cannot record the pause of %s: %s", host, exc)
        return response


class BlockedPagesMiddleware:
    """Counts final responses (after retries) that refuse us."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BlockedPagesMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in REFUSED_STATUSES and not request.meta.get("dont_obey_robotstxt"):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("newsmon/blocked")
        return response
