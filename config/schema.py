"""Settings and source-list schema: validated once when loaded, then passed to the edges."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.watchlists import DeliverySettings, NotifyTarget, Watchlist

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
                 "w": 604800, None: 1}
SELECTOR_KEYS = frozenset({"title", "body", "time", "highlights", "authors", "image", "links"})
#: The contact URL shipped in settings.yaml; newsmon warns once while it is still this.
PLACEHOLDER_CONTACT_URL = "https://example.com/newsmon-contact"
# RFC 9110 5.1 (a field name is a token) and 5.5 (no CR, LF or NUL in a value).
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE_RE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
# RFC 6265 4.1.1 cookie-value: no whitespace, quotes, commas, semicolons or backslashes.
_COOKIE_VALUE_RE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
#: Request headers a source may not set, and why.
RESERVED_HEADERS = {
    "cookie": "give cookies under 'cookies', not as a header",
    "host": "it is taken from the URL",
    "content-length": "newsmon sets it",
    "transfer-encoding": "newsmon sets it",
    "connection": "newsmon sets it",
    "if-none-match": "newsmon sends it from the stored ETag",
    "if-modified-since": "newsmon sends it from the stored Last-Modified",
}


def parse_duration(value: Any) -> timedelta:
    """Read ``90``, ``"90s"``, ``"15m"``, ``"6h"``, ``"2d"`` or a timedelta as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 6h or 1d")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            unit = m.group(2).lower() if m.group(2) else None
            return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[unit])
    raise ValueError(f"{value!r} is not a duration such as 30s, 15m, 6h or 1d")


def _positive(td: timedelta) -> timedelta:
    if td <= timedelta(0):
        raise ValueError("must be longer than zero")
    return td


def _short(td: timedelta) -> str:
    """``5400s`` -> ``1h30m``: a duration as settings files write it."""
    total, parts = int(td.total_seconds()), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as "
                         "Asia/Kolkata, America/New_York or UTC)") from exc
    return name


def _check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not _TOKEN_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name (letters, digits and "
                             "!#$%&'*+-.^_`|~ only, no spaces or colons)")
        why = RESERVED_HEADERS.get(name.lower())
        if why:
            raise ValueError(f"header {name!r} cannot be set here: {why}")
        if name.lower() in seen:
            raise ValueError(f"header {name!r} is given twice (as {seen[name.lower()]!r})")
        seen[name.lower()] = name
        if not _FIELD_VALUE_RE.fullmatch(value):
            raise ValueError(f"header {name!r}: the value must not contain line breaks or "
                             "control characters")
    return headers


def _check_cookies(cookies: dict[str, str]) -> dict[str, str]:
    for name, value in cookies.items():
        if not _TOKEN_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not a cookie name (letters, digits and "
                             "!#$%&'*+-.^_`|~ only)")
        if not _COOKIE_VALUE_RE.fullmatch(value):
            raise ValueError(f"cookie {name!r}: the value must not contain spaces, quotes, "
                             "commas, semicolons, backslashes or control characters")
    return cookies


def _check_user_agent(value: str | None) -> str | None:
    if value is not None and (not value.strip() or not _FIELD_VALUE_RE.fullmatch(value)):
        raise ValueError("must be a non-empty line of text (no line breaks)")
    return value


def newsmon_version() -> str:
    """The installed package's version ("0" when run from a tree that is not installed)."""
    try:
        return version("newsmon")
    except PackageNotFoundError:
        return "0"


def default_user_agent(contact_url: str) -> str:
    """``Mozilla/5.0 (compatible; newsmon/VERSION; +URL)``: the form crawlers identify by."""
    return f"Mozilla/5.0 (compatible; newsmon/{newsmon_version()}; +{contact_url})"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
Headers = Annotated[dict[str, str], AfterValidator(_check_headers)]
Cookies = Annotated[dict[str, str], AfterValidator(_check_cookies)]


class SourceKind(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    SITEMAP = "sitemap"
    NEWS_SITEMAP = "news_sitemap"
    LISTING = "listing"
    # A Google News RSS search: feed-only, each item filed under its publisher (opt-in; its
    # robots.txt disallows /rss/search, so the source must say obey_robots: false).
    GOOGLE_NEWS = "google_news"


class Topic(StrEnum):
    DEFENCE = "defence"
    TRADE = "trade"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """When a source is crawled: every ``interval`` (with random ``jitter``) or by ``cron``.

    ``min_interval`` / ``max_interval`` let an interval follow the source's publishing rate
    (:mod:`scheduler.adaptive`) between the two; unset, each is ``interval`` itself (or the
    ``scheduler:`` default). A cron schedule takes neither: it runs exactly at its times."""

    interval: PositiveDuration | None = None
    jitter: Duration = timedelta(0)
    cron: str | None = None
    timezone: TimeZoneName = "UTC"
    min_interval: PositiveDuration | None = None
    max_interval: PositiveDuration | None = None

    @field_validator("min_interval", "max_interval")
    @classmethod
    def _bound_of_an_interval(cls, value: timedelta | None, info: ValidationInfo
                              ) -> timedelta | None:
        if value is None:
            return value
        if "interval" not in info.data:
            return value  # its own error is reported
        if info.data.get("cron") is not None:
            raise ValueError(f"{info.field_name} adapts an interval schedule; a cron "
                             "schedule runs exactly at its times (remove it, or give "
                             "'interval' instead of 'cron')")
        interval = info.data.get("interval")
        if interval is None:
            raise ValueError(f"{info.field_name} needs 'interval' (e.g. interval: 15m), the "
                             "interval the source starts from")
        lower = info.field_name == "min_interval"
        if (value > interval) if lower else (value < interval):
            raise ValueError(
                f"{info.field_name} ({_short(value)}) is {'longer' if lower else 'shorter'} "
                f"than interval ({_short(interval)}); it must be "
                f"{'at most' if lower else 'at least'} the interval")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 15m) or 'cron' "
                             "(e.g. '*/30 * * * *')")
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron, timezone=self.timezone)
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r} is not valid: {exc}") from exc
        return self


class Source(_Strict):
    """One configured news source."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    kind: SourceKind
    urls: list[HttpUrl] = Field(min_length=1)
    timezone: TimeZoneName = "UTC"
    schedule: Schedule = Schedule(interval=timedelta(minutes=30))
    selectors: dict[str, str] = Field(default_factory=dict)
    topic: Topic | None = None
    enabled: bool = True
    # Re-fetch stored articles first seen within this to pick up corrections (a conditional
    # GET: an unchanged page costs a 304), at most every ``refetch_every``; an article whose
    # sitemap lastmod or feed entry's updated time is later than its last fetch is re-fetched
    # at any age. None: re-fetch only on such a newer modified time.
    refetch_within: Duration | None = timedelta(days=2)
    refetch_every: PositiveDuration = timedelta(hours=4)
    max_articles: int | None = Field(default=None, ge=1)
    # False: store feed entries as they are, without fetching the article page (aggregators such
    # as Google News link to redirect pages that cannot be extracted).
    fetch_articles: bool = True
    timeout: PositiveDuration | None = None
    # Sent with every request of this source (its feed, robots.txt, article pages), after
    # the defaults: a source's User-Agent or Accept replaces newsmon's.
    headers: Headers = Field(default_factory=dict)
    # Set in this source's cookie jar before its first request (e.g. a consent cookie).
    cookies: Cookies = Field(default_factory=dict)
    # False: fetch this source's URLs whatever robots.txt says (None: crawl.obey_robots).
    obey_robots: bool | None = None

    @model_validator(mode="after")
    def _google_news_needs_robots_off(self) -> Source:
        if self.kind is SourceKind.GOOGLE_NEWS and self.obey_robots is not False:
            raise ValueError(
                "kind google_news needs 'obey_robots: false' on the source: news.google.com's "
                "robots.txt disallows /rss/search for every crawler, so set it only if you "
                "accept fetching against it")
        return self

    @field_validator("selectors")
    @classmethod
    def _known_selectors(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - SELECTOR_KEYS)
        if unknown:
            raise ValueError(f"unknown selector {', '.join(unknown)}; "
                             f"allowed: {', '.join(sorted(SELECTOR_KEYS))}")
        return value


class PageRetrySettings(_Strict):
    """When the page of an article kept from its entry (it was refused, crawler.fallback) is
    tried again: after ``first``, then twice as long after each failed try up to
    ``longest``, ``tries`` tries in all (the first fetch included); at most ``per_run`` such
    pages per run and source, the longest-waiting first."""

    first: Duration = timedelta(hours=1)
    longest: Duration = timedelta(days=2)
    tries: int = Field(default=5, ge=1, le=100)
    per_run: int = Field(default=50, ge=0)

    @model_validator(mode="after")
    def _longest_not_shorter(self) -> PageRetrySettings:
        if self.longest < self.first:
            raise ValueError(f"longest ({_duration_text(self.longest)}) is shorter than first "
                             f"({_duration_text(self.first)})")
        return self


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class CrawlSettings(_Strict):
    """Politeness and resource caps applied to every crawl."""

    concurrency: int = Field(default=8, ge=1, le=256)
    per_domain_concurrency: int = Field(default=2, ge=1, le=64)
    download_delay: float = Field(default=0.5, ge=0)
    download_timeout: PositiveDuration = timedelta(seconds=30)
    max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    autothrottle: bool = True
    obey_robots: bool = True
    # A host's robots.txt is kept in the database this long (less if its Cache-Control says
    # so) and read from there by every crawl; 0: fetched by every crawl.
    robots_cache: Duration = timedelta(hours=24)
    # download_delay holds per host across every process on this database (host_slots), not
    # only within one crawl.
    shared_host_delay: bool = True
    # per_domain_concurrency holds per host across every process on this database
    # (host_leases), not only within one crawl.
    shared_host_concurrency: bool = True
    retries: int = Field(default=2, ge=0, le=10)
    # A 429 or 503 whose Retry-After asks for at most this long is retried after that wait in
    # the same run; a longer one pauses its host past this run (its requests are dropped).
    retry_after_max: Duration = timedelta(seconds=30)
    # Refused article pages (kept from their entry) tried again in later runs.
    page_retry: PageRetrySettings = PageRetrySettings()
    # Hard wall-clock limit for one source's crawl run (the child process is killed after it).
    source_timeout: PositiveDuration = timedelta(minutes=10)
    # Memory one crawl may add to its process (its child under the service), in MiB.
    memory_limit_mb: int = Field(default=1024, ge=64)
    max_articles_per_run: int = Field(default=500, ge=1)
    # Article links read from one listing page; the rest are counted (links_over_cap), and
    # the page is read in full again next run.
    max_links_per_page: int = Field(default=2000, ge=1)


class SchedulerSettings(_Strict):
    """How ``newsmon run`` schedules, supervises and backs off crawls (the ``scheduler:`` block)."""

    # Crawl child processes running at once; a hanging source holds one slot until its timeout.
    max_parallel: int = Field(default=4, ge=1, le=64)
    # Ask a source's URLs with their kept ETag/Last-Modified from the service (or worker)
    # itself first, and start a crawl process only when one of them changed.
    precheck: bool = True
    # How a crawl process starts: forked from a fork server that has imported what a crawl
    # needs (scheduler.forkserver; far less CPU per crawl), or spawn: a fresh `python -m
    # scheduler.crawl_child` each time. The service falls back to spawn by itself if the
    # fork server cannot start.
    crawl_start: Literal["forkserver", "spawn"] = "forkserver"
    # How late a run may start and still count; default per source: its interval, at most 1 h.
    misfire_grace: PositiveDuration | None = None
    # After this many failed or timed-out runs in a row a source is backed off ...
    failure_threshold: int = Field(default=3, ge=1)
    # ... its next run delayed by interval x backoff_factor^k (k = 1, 2, ...), at most backoff_max.
    backoff_factor: float = Field(default=2.0, ge=1.0)
    backoff_max: PositiveDuration = timedelta(hours=24)
    # On SIGTERM/SIGINT running crawls get this long to finish before they are stopped.
    grace_period: PositiveDuration = timedelta(seconds=30)
    # A crawl process that ignores SIGTERM is killed (SIGKILL) this long after it.
    kill_after: PositiveDuration = timedelta(seconds=10)
    # The service's lock row is refreshed this often; one older than stale_lock_after is dead.
    heartbeat_interval: PositiveDuration = timedelta(seconds=5)
    stale_lock_after: PositiveDuration = timedelta(seconds=60)
    # Also log to this file (rotated at log_max_bytes, log_backups kept); relative to data_dir.
    log_file: str | None = None
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=4096)
    log_backups: int = Field(default=5, ge=0)
    # The service's log: info (the default), debug (with tracebacks of failed fetches),
    # warning (what `newsmon run --quiet` gives); text lines, or json (one object a line).
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    # The daily digest job ("HH:MM" in digest_timezone, default: default_timezone); none if unset.
    digest_time: str | None = Field(default=None, pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")
    digest_timezone: TimeZoneName | None = None
    # A source whose runs succeed but which stored nothing new for longer than stale_factor
    # times its usual gap between new articles (learned from its runs), and never less than
    # stale_floor, is "stale"; `sources check` calls a feed whose newest entry is older than
    # stale_floor stale too.
    stale_factor: float = Field(default=4.0, ge=1.0)
    stale_floor: PositiveDuration = timedelta(days=2)
    # Adaptive intervals (scheduler.adaptive): the default min_interval / max_interval of
    # every interval schedule that sets none. Unset (the default), a source's interval stays
    # exactly as configured; a default that would exclude a source's own interval is widened
    # to it, so a default never makes a source faster or slower than its interval on its own.
    min_interval: PositiveDuration | None = None
    max_interval: PositiveDuration | None = None

    @field_validator("max_interval")
    @classmethod
    def _max_not_below_min(cls, value: timedelta | None, info: ValidationInfo
                           ) -> timedelta | None:
        low = info.data.get("min_interval")
        if value is not None and low is not None and value < low:
            raise ValueError(f"max_interval ({_short(value)}) is shorter than min_interval "
                             f"({_short(low)})")
        return value


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class SmtpSettings(_Strict):
    """The mail server digests are sent through; no ``host``: digests are not emailed.

    The password is never read from the YAML: it comes from the environment variable named by
    ``password_env``."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    user: str | None = None
    password_env: str = Field(default="NEWSMON_SMTP_PASSWORD", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sender: str = "newsmon@localhost"
    timeout: PositiveDuration = timedelta(seconds=30)
    # A failed send is tried again this many times, retry_delay apart (doubling each time).
    retries: int = Field(default=3, ge=0, le=10)
    retry_delay: Duration = timedelta(seconds=30)

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError("do not put the SMTP password in the settings file: set the "
                             "environment variable named by 'password_env' "
                             "(default NEWSMON_SMTP_PASSWORD)")
        return data


class DigestSettings(_Strict):
    """The daily digest (the ``digest:`` block): where it is written, who gets it, and how.

    Its day is in ``scheduler.digest_timezone``, else ``default_timezone``."""

    recipients: list[str] = Field(default_factory=list)
    subject: str = "newsmon digest for {date}"
    # Default: <data_dir>/digests; relative paths are under data_dir.
    output_dir: str | None = None
    # A folder whose digest.html.j2 / digest.md.j2 / digest.txt.j2 replace the packaged ones.
    template_dir: str | None = None
    smtp: SmtpSettings = SmtpSettings()


def _check_redis_url(url: str | None) -> str | None:
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{url!r} is not a Redis URL (redis://[:password@]host:6379/0, "
                         "rediss://... or unix:///path/redis.sock)")
    return url


class DistributedSettings(_Strict):
    """Crawling on several machines (the ``distributed:`` block).

    With ``redis_url`` set, ``newsmon run`` puts one crawl task per due source on an RQ queue
    in that Redis and ``newsmon worker`` processes, on any machines, run them; unset,
    ``newsmon run`` crawls in its own child processes. ``$NEWSMON_REDIS_URL`` overrides it."""

    redis_url: Annotated[str | None, AfterValidator(_check_redis_url)] = None
    queue: str = Field(default="newsmon", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    # A task whose worker sent no heartbeat for this long is taken as abandoned (the worker
    # died) and run again by another worker; a source's crawl lock expires after as long.
    visibility_timeout: PositiveDuration = timedelta(seconds=60)
    # How often an abandoned task is run again before it counts as failed.
    max_retries: int = Field(default=2, ge=0, le=10)


class Settings(_Strict):
    """Everything newsmon reads from its settings file."""

    database_url: str = "sqlite:///data/newsmon.db"
    data_dir: str = "data"
    # Where site operators can read about this crawler and reach you; it goes into the
    # user agent, Mozilla/5.0 (compatible; newsmon/VERSION; +contact_url).
    contact_url: HttpUrl = PLACEHOLDER_CONTACT_URL
    # The whole User-Agent header instead of that form (None: the form above).
    user_agent: Annotated[str | None, AfterValidator(_check_user_agent)] = None
    default_timezone: TimeZoneName = "Asia/Kolkata"
    # Topic keywords and the entity gazetteer; None: the packaged config/*.yaml.
    topics_file: str | None = None
    entities_file: str | None = None
    crawl: CrawlSettings = CrawlSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    digest: DigestSettings = DigestSettings()
    distributed: DistributedSettings = DistributedSettings()
    sources: list[Source] = Field(default_factory=list)
    # Standing searches that alert (config/watchlists.py), the targets they name, retries.
    watchlists: list[Watchlist] = Field(default_factory=list)
    notify: dict[str, NotifyTarget] = Field(default_factory=dict)
    alerts: DeliverySettings = DeliverySettings()
    # The files these settings were read from (settings file, sources file): set by the loader.
    _files: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for src in value:
            if src.name in seen:
                raise ValueError(f"duplicate source name {src.name!r}")
            seen.add(src.name)
        return value

    @property
    def files(self) -> tuple[str, ...]:
        """The settings file and, if separate, the sources file these settings came from."""
        return self._files

    @property
    def effective_user_agent(self) -> str:
        """The User-Agent every request carries unless its source sets one."""
        return self.user_agent or default_user_agent(self.contact_url)

    @property
    def contact_url_is_placeholder(self) -> bool:
        return self.user_agent is None and self.contact_url == PLACEHOLDER_CONTACT_URL

    def enabled_sources(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def watchlist(self, name: str) -> Watchlist:
        for w in self.watchlists:
            if w.name == name:
                return w
        raise KeyError(name)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


