"""HostSlotsMiddleware: per-host concurrency and delay held across every crawl process on the
database (:mod:`storage.hosts`), not only within one crawl.

With ``NEWSMON_HOST_CONCURRENCY`` = n > 0, a request takes one of its host's n slots in
``host_leases`` before it is downloaded and gives it back when its answer (or its failure)
comes, so at most n requests are in flight to one host across all sources and processes
(Scrapy's ``CONCURRENT_REQUESTS_PER_DOMAIN`` holds it within one). A slot is a lease of
``NEWSMON_HOST_LEASE_TTL`` seconds that the crawl renews while it runs (every third of it);
a process that dies holding slots stops renewing them, and they come free within that
time. A crawl that ends gives back whatever it still holds. Each lease names the crawl's run
and process, so a crawl killed outright (``kill -9``) does not hold its hosts for that long:
its slots go when the next crawl closes its run as interrupted
(:meth:`storage.scheduler_store.SchedulerStore.end_run`), and any crawl on the machine takes
a slot whose process is gone (:meth:`storage.hosts.HostStore.lease`).

With ``NEWSMON_HOST_DELAY`` > 0 each request then reserves its host's next free moment in
``host_slots``, so two processes crawling one host keep the delay between them; taking the
slot first keeps requests that waited for one from starting together.

The middleware sits last before the downloader (process_request) and first after it
(process_response, process_exception), so a slot is held around the download alone, and
released before a retry or redirect copies the request. While no slot is free one request
per host and crawl asks the database again every ``NEWSMON_HOST_LEASE_POLL`` seconds; the
others wait in the process. These calls have a database thread of their own
(:func:`crawler.dbthread.in_hosts_thread`), so they do not queue behind batch writes. A
database that does not answer within ``NEWSMON_HOST_LEASE_WAIT`` (a single-row write: half a
second by default) lets the request go without a slot (as without shared state), with a
warning, and so do the requests of the next :data:`DB_BACKOFF` seconds without asking it (a
stalled database would otherwise hold every request that long).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import DeferredLock
from twisted.internet.task import LoopingCall

from crawler.dbthread import in_hosts_thread
from crawler.hosts import _bounded, _hosts
from storage.hosts import HostStore

logger = logging.getLogger(__name__)

#: The request meta key of the slot a request holds (its lease's holder name).
LEASE_META = "newsmon_host_lease"
#: Seconds requests go without shared state after the database failed to answer in time.
DB_BACKOFF = 10.0


class HostSlotsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.slots = settings.getint("NEWSMON_HOST_CONCURRENCY", 0)
        self.delay = timedelta(seconds=settings.getfloat("NEWSMON_HOST_DELAY", 0.0))
        self.ttl = timedelta(seconds=settings.getfloat("NEWSMON_HOST_LEASE_TTL", 30.0))
        self.poll = settings.getfloat("NEWSMON_HOST_LEASE_POLL", 0.1)
        self.db_wait = settings.getfloat("NEWSMON_HOST_LEASE_WAIT", 0.5)
        # Each lease's holder is "<this crawl>/<n>": renewed and released one by one, and
        # all of this crawl's at its end.
        self.name = f"{uuid.uuid4().hex[:20]}/"
        # Each lease also names this crawl's run and process: a run closed as interrupted
        # (its process was killed) gives its slots back, and so does a process found gone.
        self.pid = os.getpid()
        self._count = 0
        self._held: dict[str, tuple[str, int]] = {}  # holder -> (host, slot)
        self._asking: dict[str, DeferredLock] = {}  # one request per host asks the database
        self._renewal: LoopingCall | None = None
        self._no_db_until = 0.0  # time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostSlotsMiddleware:
        mw = cls(crawler)
        if mw.slots > 0:
            crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def _inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    # -- the crawl's leases ------------------------------------------------------------

    def spider_opened(self) -> None:
        self._renewal = LoopingCall(self._renew)
        self._renewal.start(self.ttl.total_seconds() / 3, now=False)

    def _renew(self) -> None:
        hosts = _hosts(self.crawler)
        if hosts is None or not self._held:
            return
        d = in_hosts_thread(hosts.renew, list(self._held), self.ttl)
        d.addErrback(lambda f: logger.warning("cannot renew the host slots held: %s", f.value))

    async def spider_closed(self) -> None:
        if self._renewal is not None and self._renewal.running:
            self._renewal.stop()
        hosts = _hosts(self.crawler)
        self._held.clear()
        if hosts is None:
            return
        try:
            await _bounded(in_hosts_thread(hosts.release_all, self.name), self.db_wait)
        except Exception as exc:  # they expire on their own
            logger.warning("cannot give back the host slots of this crawl: %s", exc)

    # -- requests ----------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        request.meta.pop(LEASE_META, None)
        host = urlparse_cached(request).hostname
        hosts = _hosts(self.crawler) if host else None
        if hosts is None or host is None or time.monotonic() < self._no_db_until:
            return None
        if self.slots > 0:
            holder = await self._take(hosts, host)
            if holder is not None:
                request.meta[LEASE_META] = holder
        if self.delay > timedelta(0):
            try:
                start = await _bounded(in_hosts_thread(hosts.reserve, host, self.delay),
                                       self.db_wait)
            except Exception as exc:
                self._database_away("cannot reserve the next moment of %s: %s", host, exc)
                return None
            wait = (start - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await sleep(wait)
        return None

    async def _take(self, hosts: HostStore, host: str) -> str | None:
        """The holder name of a slot of ``host`` taken for one request (waiting for one to
        come free), or None when the database does not answer."""
        lock = self._asking.setdefault(host, DeferredLock())
        await maybe_deferred_to_future(lock.acquire())
        try:
            waited = False
            while time.monotonic() >= self._no_db_until:
                self._count += 1
                holder = f"{self.name}{self._count}"
                try:
                    slot = await _bounded(in_hosts_thread(
                        hosts.lease, host, self.slots, holder, self.ttl,
                        run_id=self._run_id(), pid=self.pid), self.db_wait)
                except Exception as exc:
                    self._database_away("cannot take a slot of %s: %s", host, exc)
                    return None
                if slot is not None:
                    self._held[holder] = (host, slot)
                    return holder
                if not waited:
                    waited = True
                    self._inc("newsmon/host_slot_waits")
                await sleep(self.poll)
            return None
        finally:
            lock.release()

    def _run_id(self) -> int | None:
        """This crawl's crawl_runs row (opened by the RunRecorder before any request; None
        when the database was away then)."""
        assert self.crawler.stats is not None
        run_id = self.crawler.stats.get_value("newsmon/run_id")
        return int(run_id) if run_id else None

    def _database_away(self, message: str, host: str, exc: Exception) -> None:
        self._no_db_until = time.monotonic() + DB_BACKOFF
        self._inc("newsmon/host_db_away")
        logger.warning(message + f"; requests go without shared host limits for "
                       f"{DB_BACKOFF:g} s", host, exc)

    def _give_back(self, request: Request) -> None:
        holder = request.meta.pop(LEASE_META, None)
        held = self._held.pop(holder, None) if isinstance(holder, str) else None
        hosts = _hosts(self.crawler)
        if held is None or hosts is None:
            return
        d = in_hosts_thread(hosts.release, held[0], held[1], holder)
        d.addErrback(lambda f: logger.warning("cannot give back a slot of %s: %s", held[0],
                                              f.value))

    def process_response(self, request: Request, response: Response) -> Response:
        self._give_back(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> Any:
        self._give_back(request)
        return None
