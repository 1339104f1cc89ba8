"""Move the bundled site's dates by whole days, so that ``newsmon demo`` reads a sample dated
relative to the moment it runs (issue 22): as recent as it can be with no date in the future.
The files stay dated November 2026; the server rewrites full dates (a year, a month and a day)
as it serves them, in the forms the site prints, with the weekday recomputed, and reads dated
paths (``/2026/11/24/``) back to the files'."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

#: The latest time the fixtures print: the export-incentive notice, 10:12 IST on 25 November
#: (``expected.json``'s latest ``published_utc``; a test keeps the two equal).
FIXTURE_LATEST = datetime(2026, 11, 25, 4, 42, tzinfo=UTC)

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH = r"(?P<month>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*|" \
         r"JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
_WEEKDAY = r"(?:(?P<weekday>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*), )?"


def _iso(m: re.Match[str], new: date) -> str:
    sep = m["sep"]
    return f"{new:%Y}{sep}{new:%m}{sep}{new:%d}"


def _dotted(m: re.Match[str], new: date) -> str:
    return f"{new:%d}.{new:%m}.{new:%Y}"


def _month_first(m: re.Match[str], new: date) -> str:
    return f"{_weekday(m, new)}{_month(m, new)} {_day(m, new)}, {new.year}"


def _day_first(m: re.Match[str], new: date) -> str:
    return f"{_weekday(m, new)}{_day(m, new)} {_month(m, new)} {new.year}"


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date], str]], ...] = (
    (re.compile(r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/])(?P<mon>\d{2})(?P=sep)(?P<day>\d{2})"
                r"(?!\d)"), _iso),
    (re.compile(r"(?<![\d.])(?P<day>\d{2})\.(?P<mon>\d{2})\.(?P<year>\d{4})(?!\d)"), _dotted),
    (re.compile(_WEEKDAY + _MONTH + r" (?P<day>\d{1,2}), (?P<year>\d{4})\b"), _month_first),
    (re.compile(_WEEKDAY + r"(?<![\d.])(?P<day>\d{1,2}) " + _MONTH + r" (?P<year>\d{4})\b"),
     _day_first),
)


def _same_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def _name(names: tuple[str, ...], index: int, like: str) -> str:
    full = names[index]
    return _same_case(full if len(like) > 3 else full[:3], like)


def _weekday(m: re.Match[str], new: date) -> str:
    return f"{_name(_DAYS, new.weekday(), m['weekday'])}, " if m["weekday"] else ""


def _month(m: re.Match[str], new: date) -> str:
    return _name(_MONTHS, new.month - 1, m["month"])


def _day(m: re.Match[str], new: date) -> str:
    return f"{new.day:02d}" if m["day"].startswith("0") else str(new.day)


def _old_date(m: re.Match[str]) -> date | None:
    groups = m.groupdict()
    if groups.get("month"):
        month = next(i for i, name in enumerate(_MONTHS)
                     if name.startswith(groups["month"][:3].lower())) + 1
    else:
        month = int(groups["mon"])
    try:
        return date(int(groups["year"]), month, int(groups["day"]))
    except ValueError:
        return None


def _shifted(m: re.Match[str], days: int,
             render: Callable[[re.Match[str], date], str]) -> str:
    old = _old_date(m)
    return m.group(0) if old is None else render(m, old + timedelta(days=days))


def shift_dates(text: str, days: int) -> str:
    """``text`` with every full date moved by ``days`` (0: unchanged)."""
    if not days:
        return text
    for pattern, render in _PATTERNS:
        text = pattern.sub(partial(_shifted, days=days, render=render), text)
    return text


def shift_path(path: str, days: int) -> str:
    """A served path with its ``/YYYY/MM/DD/`` part moved by ``days`` (0: unchanged)."""
    if not days:
        return path
    pattern, render = _PATTERNS[0]
    return pattern.sub(partial(_shifted, days=days, render=render), path)


def days_before(now: datetime) -> int:
    """The largest shift in whole days that leaves every date the fixtures print at or before
    ``now``: the sample's latest article is then less than a day old, and none is dated ahead
    of the crawl (moving the fixtures' day to today's date would, before 10:12 in India)."""
    return (now - FIXTURE_LATEST) // timedelta(days=1)
