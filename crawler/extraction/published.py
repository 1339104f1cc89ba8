"""Which of an article's publication times to keep (the page's against the feed's): the most
trusted, refined by a more precise one that agrees with it; and the calendar day it means.

Evidence, most trusted first: a per-source selector (the operator's own statement); the
publisher's structured data (JSON-LD, meta tags, ``<time datetime>``, the feed, the news
sitemap); visible text on the article page; a label on a listing page. The most trusted
value wins. A more precise value from any other evidence replaces it only when it falls
inside the trusted value's own uncertainty (a feed's "10:02 +0530" refines a JSON-LD
"2026-11-24"; a "Nov 23" label never overrides it), so corroboration adds precision and
contradiction never wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.timeparse import parse as parse_time

# "updated": a page's modification time standing in for a publication time it lacks.
TRUST = {"selector": 0, "jsonld": 1, "meta": 1, "url": 1, "time": 2, "feed": 3, "sitemap": 3,
         "text": 4, "listing": 5, "updated": 6}
# How far the true time may lie from a value of each precision. Dates (day, week, month)
# are the start of a local period; clock readings and relative times are points.
_SPAN = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1),
         "hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7),
         "month": timedelta(days=31), "year": timedelta(days=366)}
_PERIODS = frozenset({"day", "week", "month", "year"})
_RANK = {p: i for i, p in enumerate(_SPAN)}


@dataclass(frozen=True, slots=True)
class Evidence:
    at: datetime
    raw: str | None
    precision: str | None
    source: str

    @property
    def trust(self) -> int:
        return TRUST.get(self.source, len(TRUST))

    @property
    def rank(self) -> int:
        return _RANK.get(self.precision or "", len(_RANK))

    def admits(self, other: Evidence) -> bool:
        """Whether ``other`` lies within this value's uncertainty."""
        span = _SPAN.get(self.precision or "", timedelta(0))
        if self.precision in _PERIODS:
            return self.at <= other.at < self.at + span
        return abs(other.at - self.at) <= span


def choose_published(options: list[Evidence]) -> Evidence | None:
    """The publication time to store (see the module docstring); None if there is none."""
    if not options:
        return None
    best = min(options, key=lambda e: (e.trust, e.rank))
    refinements = [e for e in options if e.rank < best.rank and best.admits(e)]
    if refinements:
        return min(refinements, key=lambda e: (e.trust, e.rank))
    return best


def local_date(at: datetime | None, raw: str | None, site_tz: str,
               page_date: date | None = None) -> date | None:
    """The calendar day a publication time means where it was written: the page's own
    reading when it chose this time, else the offset its raw text names, else the
    source's time zone ``site_tz``."""
    if at is None:
        return None
    if page_date is not None:
        return page_date
    if raw:
        result = parse_time(raw, at + timedelta(days=1), site_tz)
        if result is not None and result.dt == at and result.local_date is not None:
            return result.local_date
    try:
        return at.astimezone(ZoneInfo(site_tz)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return at.astimezone(UTC).date()


def age_noted(raw: str, at: datetime, fetched: datetime, age: timedelta, site_tz: str) -> str:
    """``raw``, with the Age it was counted back from when that moved the time (a
    relative time); an absolute date is the same either way and stays as it is."""
    plain = parse_time(raw, fetched, site_tz)
    if plain is not None and plain.dt == at:
        return raw
    return f"{raw} (Age: {int(age.total_seconds())} s)"
