"""RetryAfterMiddleware: Scrapy's retries, waiting as long as a 429 or 503 asks, within a cap.

Scrapy retries a 429 or 503 at once, which is what the server asked us not to do. Here a
``Retry-After`` (seconds or an HTTP date) of at most ``NEWSMON_RETRY_AFTER_MAX`` seconds
(``crawl.retry_after_max``) is waited out before the retry goes back to the scheduler; a
longer one is not retried in this
run at all (the response fails, and the request's meta says why in
``newsmon_retry_after_refused``). The wait holds one of the downloader's concurrent slots, which
is why it is capped. Responses without ``Retry-After`` and network errors behave exactly as in
Scrapy's :class:`~scrapy.downloadermiddlewares.retry.RetryMiddleware`, which this replaces.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

#: Statuses whose Retry-After is honoured (RFC 9110 section 10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` value, or None if absent or unreadable."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("NEWSMON_RETRY_AFTER_MAX", 30.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        mw = cls(crawler.settings)
        mw.crawler = crawler
        return mw

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if (request.meta.get("dont_retry", False)
                or response.status not in self.retry_http_codes):
            return response
        wait = None
        if response.status in RETRY_AFTER_STATUSES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.max_wait:
            request.meta["newsmon_retry_after_refused"] = wait
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("newsmon/retry_after_refused")
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if wait:
            await sleep(wait)
        return retry


__all__ = ["RETRY_AFTER_STATUSES", "RetryAfterMiddleware", "retry_after_seconds"]
