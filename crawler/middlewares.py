"""Downloader middlewares: stamp each response with its arrival time; refuse redirects to
anything but http(s); send a source's own headers and cookies.

FetchTimeMiddleware: relative times on a page ("2 hours ago") count back from the moment the
response arrived, not from the moment a callback happens to run; a cached copy's ``Age``
moves that moment back to when the page was generated (:func:`generated_at`).

RedirectSchemeMiddleware: a ``Location`` pointing at ``ftp:``, ``file:``, ``mailto:`` or
``javascript:`` is answered by a :class:`RedirectRefused` that says so, where Scrapy would
leave the 3xx as an unexplained HTTP error or fail to build the request.

SourceHeadersMiddleware: the ``headers`` and ``cookies`` of the crawled source's
configuration go on each of its requests (feed, robots.txt, article pages). A crawler crawls
one source, so they never reach another source's requests; cookies go through Scrapy's
CookiesMiddleware into this crawler's jar, which also keeps what the site sets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from config.schema import Source

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http.request import VerboseCookie

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
FOLLOWED_SCHEMES = frozenset({"http", "https"})
#: A cached copy older than this is taken as this old (an Age of years is a broken cache).
MAX_AGE = timedelta(days=7)
_DELTA_SECONDS = re.compile(rb"\s*(\d{1,12})\s*")


class FetchTimeMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        request.meta["fetched_at"] = datetime.now(UTC)
        return response


def fetched_at(response: Response) -> datetime:
    """When ``response`` arrived (now, for a response built by hand)."""
    value = response.meta.get("fetched_at") if response.request is not None else None
    return value if isinstance(value, datetime) else datetime.now(UTC)


def page_age(response: Response) -> timedelta:
    """How long a cache had held ``response`` (its ``Age`` header, RFC 9111 5.1): a single
    non-negative integer of seconds, at most :data:`MAX_AGE`; zero when absent or junk."""
    values = response.headers.getlist(b"Age")
    if len(values) != 1:
        return timedelta(0)
    match = _DELTA_SECONDS.fullmatch(values[0])
    if match is None:
        return timedelta(0)
    return min(timedelta(seconds=int(match.group(1))), MAX_AGE)


def generated_at(response: Response) -> datetime:
    """When the page in ``response`` was generated: its arrival less its ``Age``. Relative
    times printed on it ("2 hours ago") count back from here."""
    return fetched_at(response) - page_age(response)


class RedirectRefused(IgnoreRequest):
    """A redirect to a URL that is not http(s); the message names both URLs."""

    def __init__(self, url: str, target: str) -> None:
        self.url = url
        self.target = target
        super().__init__(f"{url}: redirected to {target}, which was not followed (newsmon "
                         "follows redirects to http and https URLs only)")


class RedirectSchemeMiddleware:
    """Runs before Scrapy's RedirectMiddleware (give it a higher order than 600)."""

    def process_response(self, request: Request, response: Response) -> Response:
        raw = response.headers.get(b"Location")
        if (response.status not in REDIRECT_STATUSES or not raw
                or request.meta.get("dont_redirect")
                or response.status in request.meta.get("handle_httpstatus_list", ())
                or request.meta.get("handle_httpstatus_all")):
            return response
        target = urljoin(request.url, raw.decode("latin-1").strip())
        if urlsplit(target).scheme.lower() not in FOLLOWED_SCHEMES:
            raise RedirectRefused(request.url, target)
        return response


class SourceHeadersMiddleware:
    """Give it an order below DefaultHeadersMiddleware (400) and UserAgentMiddleware (500),
    which only fill in headers a request lacks, and below CookiesMiddleware (700). A header
    or cookie the request already carries (a spider's ``If-None-Match``) is left alone."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceHeadersMiddleware:
        mw = cls()
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Spider) -> None:
        source = getattr(spider, "source", None)
        if isinstance(source, Source):
            self.headers = dict(source.headers)
            self.cookies = dict(source.cookies)

    def process_request(self, request: Request) -> None:
        for name, value in self.headers.items():
            request.headers.setdefault(name, value)
        if not self.cookies:
            return
        own = request.cookies
        cookies: list[VerboseCookie] = (
            [{"name": n, "value": v} for n, v in own.items()] if isinstance(own, dict)
            else list(own))
        have = {c.get("name") for c in cookies}
        # Path "/": without it each page's folder would get a copy of the cookie, and a page
        # deeper down would send it twice.
        cookies.extend({"name": n, "value": v, "path": "/"}
                       for n, v in self.cookies.items() if n not in have)
        request.cookies = cookies
