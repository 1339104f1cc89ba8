"""Turn the timestamps news pages print into UTC datetimes, counted from the fetch time.

Contract of :func:`parse`:

- ``parse(text, now, site_tz)`` returns a :class:`TimeResult` for the first timestamp in
  ``text`` or None when there is none; it never raises for any ``str`` ``text`` and does
  no I/O. Only an unknown ``site_tz`` name raises (ValueError): that is a caller's bug.
- Relative times ("2 hours ago", "2h", "vor 2 Stunden", "منذ ساعتين") count back from
  ``now`` (naive means UTC), exactly: months and years are calendar steps with the day
  clamped. "today", "yesterday" and dates without a time are the site's calendar day
  (local midnight, precision day).
- A time printed without a zone is in ``site_tz``; IST is India unless the site is in
  Israel or Ireland; ET/PT/CT/MT follow daylight saving on that date; EST, EDT and other
  explicit abbreviations are fixed offsets. Numeric dates are month first only for US
  sites, and only when the digits do not decide.
- A date without a year is the most recent such date not after today; a bare clock time
  is today unless that is still ahead of ``now``, then yesterday.
- With two timestamps ("April 17, 2024 01:21 am | Updated 01:30 pm IST") the first is
  ``dt`` and the second ``modified``; a clock-only second one takes the first one's date,
  and the first takes the second one's zone when it prints none.
- Nothing more than a day after ``now`` is returned: such a text gives None.
- Comment counts, "5 min read", model numbers, prices, lone years and phone numbers give
  None: a wrong timestamp is worse than none.
- Patterns are compiled at import; the only state is a memo of site-zone lookups. Only the
  first 1,000 characters are read: pass the label, not the page.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from crawler.timeparse._model import Precision, TimeResult
from crawler.timeparse._scan import Stamp, find_stamps, fold
from crawler.timeparse._zones import site_zone, zone_for

__all__ = ["Precision", "TimeResult", "parse"]

# Labels are short; a page-sized text would only cost time. Spans stay valid because the
# text is cut at the end.
_MAX_CHARS = 1000
_FUTURE_SLACK = timedelta(days=1)
_PRECISIONS = {p.value: p for p in Precision}
_LAST_NOW = datetime.max.replace(tzinfo=UTC) - _FUTURE_SLACK


def parse(text: str, now: datetime, site_tz: str | tzinfo = "UTC") -> TimeResult | None:
    """The first timestamp in ``text`` as a UTC time, read at ``now`` on a site in ``site_tz``.

    >>> now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    >>> parse("Updated: Nov 24, 2026, 11:02 pm IST", now).dt.isoformat()
    '2026-11-24T17:32:00+00:00'
    >>> parse("2 hours ago", now).dt.isoformat()
    '2026-11-25T10:00:00+00:00'
    """
    site = site_zone(site_tz)
    if not isinstance(text, str) or not text:
        return None
    now = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC)
    folded = fold(text[:_MAX_CHARS])
    stamps = find_stamps(folded, site.month_first)
    if not stamps:
        return None
    first = stamps[0]
    if first.rule == "clock" and _YEAR_ELSEWHERE.search(folded[:first.start] + " "
                                                        + folded[first.end:]):
        # A clock beside a year that did not read as a date ("Tue, 31 Nov 2026 10:00",
        # a month name we do not know): the date is impossible or unread, and the clock
        # alone would be put on today.
        return None
    if len(stamps) > 1:
        stamps = [_range_start(first, stamps[1], folded), *stamps[1:]]
    return _result(stamps, text, now, site.tz, site.key)


_YEAR_ELSEWHERE: Final = re.compile(r"(?<![\d:.])(?:1[89]|20)\d\d(?![\d:])")
_RANGE_GAP: Final = re.compile(r"\s*(?:-|–|—|to|till|until|through|bis|au|al|a|tot|do|по|"
                               r"до)\s*", re.IGNORECASE)


def _range_start(first: Stamp, second: Stamp, text: str) -> Stamp:
    """In a range ("vom 24. April bis 2. Oktober 2017") the first date takes its year from
    the second (the year before when its month comes later)."""
    if (first.ymd is None or first.ymd[0] is not None or second.ymd is None
            or second.ymd[0] is None or not _RANGE_GAP.fullmatch(text, first.end,
                                                                  second.start)):
        return first
    _, month, day = first.ymd
    year = second.ymd[0] - (1 if month > second.ymd[1] else 0)
    return dataclasses.replace(first, ymd=(year, month, day))


def _result(
    stamps: list[Stamp], text: str, now: datetime, site_tz: tzinfo, site_key: str
) -> TimeResult | None:
    first, *rest = stamps
    inherited = None
    if first.zone is None and not first.relative and rest and rest[0].zone is not None:
        inherited = rest[0].zone
    when = _when(first, now, site_tz, site_key, inherited, None)
    latest = now + _FUTURE_SLACK if now < _LAST_NOW else now
    if when is None or when > latest:
        return None
    modified = modified_span = None
    if rest:
        second = rest[0]
        context = when if first.ymd is not None or first.days_back is not None else None
        later = _when(second, now, site_tz, site_key, None, context)
        if later is not None and later <= latest:
            modified, modified_span = later, (second.start, second.end)
    zone_text = None if first.delta is not None else first.zone or inherited
    zone = site_tz if zone_text is None else zone_for(zone_text, site_key) or site_tz
    return TimeResult(
        local_date=when.astimezone(zone).date(),
        yearless=first.ymd is not None and first.ymd[0] is None,
        dt=when,
        precision=_PRECISIONS[first.precision],
        span=(first.start, first.end),
        rule=first.rule,
        modified=modified,
        modified_span=modified_span,
        text=text,
    )


def _when(
    stamp: Stamp,
    now: datetime,
    site_tz: tzinfo,
    site_key: str,
    inherited_zone: str | None,
    context: datetime | None,
) -> datetime | None:
    """The UTC time ``stamp`` stands for, or None when it names no real time."""
    try:
        if stamp.delta is not None:
            return _months_back(now - stamp.delta, stamp.months_back)
        zone_text = stamp.zone or inherited_zone
        tz = site_tz if zone_text is None else zone_for(zone_text, site_key)
        if tz is None:
            return None
        local_now = now.astimezone(tz)
        hour, minute, second, micro = stamp.clock or (0, 0, 0, 0)
        if stamp.ymd is not None:
            day = _infer_year(stamp.ymd, local_now.date())
            if day is None:
                return None
        elif stamp.days_back is not None:
            day = local_now.date() - timedelta(days=stamp.days_back)
        elif context is not None:
            day = context.astimezone(tz).date()
            when = _utc(day, hour, minute, second, micro, tz)
            # "... 11:21 pm | Updated 01:30 am": the update came after midnight.
            return when + timedelta(days=1) if when < context else when
        else:
            day = local_now.date()
            when = _utc(day, hour, minute, second, micro, tz)
            return when - timedelta(days=1) if when > now else when
        return _utc(day, hour, minute, second, micro, tz)
    except (ValueError, OverflowError):
        return None


def _utc(day: date, hour: int, minute: int, second: int, micro: int, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro,
                    tzinfo=tz).astimezone(UTC)


def _infer_year(ymd: tuple[int | None, int, int], today: date) -> date | None:
    year, month, day = ymd
    if year is not None:
        return date(year, month, day)
    year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    for candidate in range(year, year - 8, -1):
        try:
            return date(candidate, month, day)
        except ValueError:  # 29 February looks back to the last leap year
            continue
    return None


def _months_back(when: datetime, months: int) -> datetime:
    if not months:
        return when
    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(when.day, last))
