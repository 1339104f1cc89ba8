"""Refused pages: which failures keep an article from its entry, and when the page is tried again.

When an article page answers 401, 402, 403, 410, 451, 429 or 5xx after its retries, is
disallowed by robots.txt, or is a bot wall (:func:`crawler.extraction.walls.detect_wall`), the
article is stored from its feed or sitemap entry (``body_source`` "feed", the failure in
``page_error``; :func:`crawler.extraction.page.article_from_page`). Later runs try the page
again (:meth:`crawler.spiders.base.SourceSpider.start`) when ``page_retry_at`` is due, waiting
twice as long after each failed try, up to :attr:`RetryPolicy.tries` tries; a try that works
replaces the entry's text with the page's (the store's update path).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

#: Statuses that say the page is refused to us (or gone, or the server keeps failing) after
#: the run's retries; every 5xx counts too.
REFUSED_STATUSES = frozenset({401, 402, 403, 410, 451, 429})
ROBOTS_REFUSAL = "Forbidden by robots.txt"


def refused(failure: Failure) -> bool:
    """Whether ``failure`` (of an article request) is a refusal that keeps the entry."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return status in REFUSED_STATUSES or 500 <= status < 600
    return isinstance(exc, IgnoreRequest) and str(exc) == ROBOTS_REFUSAL


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Try a refused page again after ``first``, then twice as long each time (at most
    ``longest``), ``tries`` times in all (the first fetch included)."""

    first: timedelta = timedelta(hours=1)
    longest: timedelta = timedelta(days=2)
    tries: int = 5

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RetryPolicy:
        return cls(first=timedelta(seconds=settings.getfloat("NEWSMON_PAGE_RETRY_FIRST", 3600)),
                   longest=timedelta(seconds=settings.getfloat("NEWSMON_PAGE_RETRY_LONGEST",
                                                               172800)),
                   tries=settings.getint("NEWSMON_PAGE_RETRY_TRIES", 5))

    def next_try(self, failed: int, now: datetime) -> datetime | None:
        """When to try again after ``failed`` failed tries (None: no more)."""
        if failed >= self.tries:
            return None
        wait: timedelta = min(self.longest, self.first * 2 ** max(failed - 1, 0))
        return now + wait


__all__ = ["REFUSED_STATUSES", "ROBOTS_REFUSAL", "RetryPolicy", "refused"]
