"""Scrapy settings built from newsmon's validated Settings, and the Store a crawl writes to."""

from __future__ import annotations

import resource
import sys
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler

from config.loader import warn_placeholder_contact
from config.schema import Settings
from storage.store import Store


def process_peak_mb() -> int:
    """The most resident memory this process has used so far, in MiB (Scrapy's measure)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux counts kilobytes, macOS bytes.
    return int(peak / (1024 * 1024 if sys.platform == "darwin" else 1024))


def scrapy_settings(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings for a crawl under ``settings``; ``overrides`` win."""
    warn_placeholder_contact(settings)
    crawl = settings.crawl
    values: dict[str, Any] = {
        "BOT_NAME": "newsmon",
        "USER_AGENT": settings.effective_user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.per_domain_concurrency,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 1.0),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.per_domain_concurrency),
        # Scrapy's defaults (180 s, 1 GiB) are far too generous for news pages.
        "DOWNLOAD_TIMEOUT": crawl.download_timeout.total_seconds(),
        "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
        "DOWNLOAD_WARNSIZE": crawl.max_response_bytes // 2,
        "RETRY_TIMES": crawl.retries,
        "REDIRECT_MAX_TIMES": 5,
        "CLOSESPIDER_TIMEOUT": crawl.source_timeout.total_seconds(),
        # Scrapy compares the process's peak RSS with this: the limit is what the crawl may
        # add to the process it runs in, so a crawl in a process that was already big once
        # (a long-lived worker, a test run) is not closed before it starts.
        "MEMUSAGE_LIMIT_MB": crawl.memory_limit_mb + process_peak_mb(),
        "TELNETCONSOLE_ENABLED": False,
        "LOG_FORMATTER": "crawler.logformatter.QuietLogFormatter",
        "LOG_LEVEL": "WARNING",
        # Logging belongs to the program that runs the crawl (the CLI, the service).
        "LOG_INSTALL_ROOT_HANDLER": False,
        "NEWSMON_MAX_ARTICLES_PER_RUN": crawl.max_articles_per_run,
        "NEWSMON_MAX_LINKS_PER_PAGE": crawl.max_links_per_page,
        "NEWSMON_DATABASE_URL": settings.database_url,
        # Which source an article several sources lead to is credited to (Store.credit).
        "NEWSMON_SOURCE_ORDER": [s.name for s in settings.sources],
        "NEWSMON_TOPICS_FILE": settings.topics_file,
        "NEWSMON_ENTITIES_FILE": settings.entities_file,
        # Evaluated by the StoragePipeline after each batch's commit (alerts.evaluate).
        "NEWSMON_WATCHLISTS": [w.model_dump() for w in settings.watchlists],
        # A 429 or 503 that says Retry-After is retried after that long, if at most this.
        "NEWSMON_RETRY_AFTER_MAX": crawl.retry_after_max.total_seconds(),
        # Buffered articles are written at least this often, so a killed crawl loses little.
        "NEWSMON_BATCH_SECONDS": 2.0,
        # Batches being written (in the database thread) before further items wait for one.
        "NEWSMON_WRITE_QUEUE": 2,
        # A refused page (crawler.fallback) is tried again after this many seconds, twice as
        # long after each failed try up to the longest, this many tries in all.
        "NEWSMON_PAGE_RETRY_FIRST": crawl.page_retry.first.total_seconds(),
        "NEWSMON_PAGE_RETRY_LONGEST": crawl.page_retry.longest.total_seconds(),
        "NEWSMON_PAGE_RETRY_TRIES": crawl.page_retry.tries,
        # Refused pages tried again per run and source (the longest-waiting first).
        "NEWSMON_PAGE_RETRIES_PER_RUN": crawl.page_retry.per_run,
        # How long the end of a run keeps trying to record itself while the database is away.
        "NEWSMON_RUN_RECORD_WAIT": 30.0,
        # robots.txt cached per host in the database (crawler/hosts.py), seconds; 0: never.
        "NEWSMON_ROBOTS_TTL": crawl.robots_cache.total_seconds(),
        # The per-host delay kept across processes through the database; 0: per process only.
        "NEWSMON_HOST_DELAY": crawl.download_delay if crawl.shared_host_delay else 0.0,
        # Requests in flight to one host across every process on this database
        # (crawler/host_slots.py); 0: per process only (CONCURRENT_REQUESTS_PER_DOMAIN).
        "NEWSMON_HOST_CONCURRENCY": (crawl.per_domain_concurrency
                                     if crawl.shared_host_concurrency else 0),
        # A slot held by a process that stopped renewing it (it died) is free after this.
        "NEWSMON_HOST_LEASE_TTL": 30.0,
        # The longest a request waits for its slot's write (then it goes, and the next ones
        # for a while: crawler/host_slots.py), so a stalled database holds downloads little.
        "NEWSMON_HOST_LEASE_WAIT": 0.5,
        # The longest a request waits for the database's word on its host (then it goes).
        "NEWSMON_HOST_DB_WAIT": 2.0,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.hosts.CachedRobotsTxtMiddleware": 100,
            # Its process_response sees every 429/503 before RetryAfter (550) retries it ...
            "crawler.hosts.HostPauseMiddleware": 560,
            # ... this one only the final answers.
            "crawler.hosts.BlockedPagesMiddleware": 540,
            # Before DefaultHeaders (400) and UserAgent (500): a source's own values win.
            "crawler.middlewares.SourceHeadersMiddleware": 350,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.retry.RetryAfterMiddleware": 550,
            # Sees a redirect before Scrapy's RedirectMiddleware (600) follows it.
            "crawler.middlewares.RedirectSchemeMiddleware": 610,
            "crawler.middlewares.FetchTimeMiddleware": 950,
            # Last before the download, first after it: a host slot is held around the
            # download alone, and given back before a retry or redirect copies the request.
            "crawler.host_slots.HostSlotsMiddleware": 960,
        },
        "ITEM_PIPELINES": {
            "crawler.pipelines.extract.ExtractionPipeline": 50,
            "crawler.pipelines.pending.PendingPagesPipeline": 90,
            "crawler.pipelines.validate.ValidationPipeline": 100,
            "crawler.pipelines.classify.ClassifyPipeline": 500,
            "crawler.pipelines.storage.StoragePipeline": 800,
        },
        "EXTENSIONS": {"crawler.extensions.runs.RunRecorder": 500},
    }
    values.update(overrides)
    return values


def store_for(crawler: Crawler, spider: Spider) -> Store:
    """The Store this crawl writes to: the spider's (passed in by the runner; Scrapy copies
    settings, so a Store cannot travel in them), else one per database URL and process."""
    injected = getattr(spider, "store", None)
    if isinstance(injected, Store):
        return injected
    url = crawler.settings.get("NEWSMON_DATABASE_URL")
    if not url:
        raise RuntimeError("pass store= to the spider or set NEWSMON_DATABASE_URL")
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = Store.from_url(url)
    return store


_stores: dict[str, Store] = {}
