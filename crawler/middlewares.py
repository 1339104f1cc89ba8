"""Downloader middlewares: stamp each response with its arrival time; refuse redirects to
anything but http(s).

FetchTimeMiddleware: relative times on a page ("2 hours ago") count back from the moment the
response arrived, not from the moment a callback happens to run.

RedirectSchemeMiddleware: a ``Location`` pointing at ``ftp:``, ``file:``, ``mailto:`` or
``javascript:`` is answered by a :class:`RedirectRefused` that says so, where Scrapy would
leave the 3xx as an unexplained HTTP error or fail to build the request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
FOLLOWED_SCHEMES = frozenset({"http", "https"})


class FetchTimeMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        request.meta["fetched_at"] = datetime.now(UTC)
        return response


def fetched_at(response: Response) -> datetime:
    """When ``response`` arrived (now, for a response built by hand)."""
    value = response.meta.get("fetched_at") if response.request is not None else None
    return value if isinstance(value, datetime) else datetime.now(UTC)


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
