"""Times as people type them on the command line: ``24h``, ``7d``, ``today``, a date, an ISO time.

Contract: :func:`parse_when` returns an aware datetime or raises :class:`TimeSpecError`, whose
message shows the forms it accepts. A relative span counts back from ``now``; a date is local
midnight in ``tz`` (with ``end=True``, the midnight after it, so ``--until 2026-11-25`` includes
that day); an ISO time without an offset is read in ``tz``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_SPAN = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class TimeSpecError(ValueError):
    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"{text!r} is not a time: use a span such as 30m, 24h, 7d or 2w, "
                         "today, yesterday, a date such as 2026-11-25, or an ISO time such as "
                         "2026-11-25T09:00+05:30")


def parse_day(text: str, *, now: datetime, tz: tzinfo) -> date:
    """``today``, ``yesterday`` or ``YYYY-MM-DD``, as a local date."""
    word = text.strip().lower()
    today = now.astimezone(tz).date()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise TimeSpecError(text) from None


def parse_when(text: str, *, now: datetime, tz: tzinfo, end: bool = False) -> datetime:
    """The moment ``text`` names; see the module docstring."""
    m = _SPAN.match(text)
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
    try:
        day = parse_day(text, now=now, tz=tz)
    except TimeSpecError:
        pass
    else:
        start = datetime.combine(day + timedelta(days=1) if end else day, time(0), tz)
        return start
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeSpecError(text) from None
    return when if when.tzinfo else when.replace(tzinfo=tz)
