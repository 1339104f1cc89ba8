"""The result type of :func:`crawler.timeparse.parse`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Precision(enum.StrEnum):
    """How much of the time the text stated: "2 hours ago" is precise to the hour."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class TimeResult:
    """A timestamp found in a text.

    ``dt`` is aware and in UTC; ``span`` is the (start, end) of the matched part of
    ``text``; ``rule`` names the pattern that matched; ``modified`` is the second
    time when the text holds two ("... | Updated 01:30 pm IST"), else None.
    ``local_date`` is the calendar day the text means where it was written: in the zone or
    offset it names, else the site's zone ("2022-05-03T20:36:00-04:00" is 3 May although
    ``dt`` falls on 4 May in UTC). ``yearless``: the text named no year ("18. Nov"), so the
    latest such day up to now was taken.
    """

    dt: datetime
    precision: Precision
    span: tuple[int, int]
    rule: str
    modified: datetime | None = None
    modified_span: tuple[int, int] | None = None
    text: str = field(default="", repr=False, compare=False)
    local_date: date | None = field(default=None, compare=False)
    yearless: bool = field(default=False, compare=False)

    @property
    def raw(self) -> str:
        """The matched part of the text."""
        return self.text[self.span[0]:self.span[1]]
