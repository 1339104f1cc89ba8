"""Which of an article's publication times to keep: the most trusted, refined by a more
precise one that agrees with it.

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
from datetime import datetime, timedelta

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
