"""Properties of crawler.timeparse.parse: no exceptions, no future, exact relative spans."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.timeparse import Precision, TimeResult, parse

ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Europe/Berlin",
         "Asia/Jerusalem", "Europe/Dublin", "Australia/Sydney", "America/Los_Angeles"]

REAL = [
    "Published on Jun 16, 2024 09:49 AM IST", "Updated - November 17, 2021 04:44 am IST",
    "April 17, 2024 01:21 am | Updated 01:30 pm IST", "Updated: Jun 3, 2025, 19:06 IST",
    "Apr 29, 2026, 04:07 PM IST", "Updated: November 24, 2026 11:02 pm IST", "Aug. 24, 2023",
    "6:17 a.m. EST", "Published On: 24 Nov 2026, 11:02 pm", "Tue, 24 Nov 2026 10:02:00 +0530",
    "2026-11-24T04:32:00.123Z", "Monday, October 5, 2026 7:15 AM ET", "03.10.2026, 18:45 Uhr",
    "21/10/2026 18:45", "Sept. 5", "Yesterday at 4:10 PM", "Today, 8:20 AM", "11:05 AM IST",
    "2 hours, 15 minutes ago", "· 2h", "vor 2 Stunden", "منذ ساعتين", "2 घंटे पहले",
    "Publié le 24 novembre 2026 à 18h45", "Tue 24 Nov 2026 23.02 GMT", "11/24/26 6:17 PM ET",
    "Posted On: 24 NOV 2026 11:02PM by PIB Delhi", "5 min read", "Rs 6,900 crore", "Su-57",
]

now_strategy = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2090, 12, 31),
    timezones=st.sampled_from([UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")]),
)


def assert_sane(result: TimeResult | None, text: str, now: datetime) -> None:
    if result is None:
        return
    limit = now.astimezone(UTC) + timedelta(days=1)
    assert result.dt.tzinfo is UTC
    assert result.dt <= limit
    assert result.modified is None or result.modified <= limit
    start, end = result.span
    assert 0 <= start < end <= len(text)
    assert result.raw == text[start:end]
    assert isinstance(result.precision, Precision)


@settings(max_examples=600, deadline=None)
@given(text=st.text(max_size=80), now=now_strategy, tz=st.sampled_from(ZONES))
def test_any_text_is_safe(text: str, now: datetime, tz: str) -> None:
    assert_sane(parse(text, now, tz), text, now)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real timestamp with characters inserted, deleted or replaced."""
    text = draw(st.sampled_from(REAL))
    alphabet = st.sampled_from("0123456789 :.,/-+|()APMapmISTGMTZ年月日ـ\u202fवेरीकृ")
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "case"]))
        char = draw(alphabet)
        if action == "insert":
            text = text[:pos] + char + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + 1:]
        elif action == "replace":
            text = text[:pos] + char + text[pos + 1:]
        else:
            text = text.swapcase()
    return text


@settings(max_examples=600, deadline=None)
@given(text=mutated(), now=now_strategy, tz=st.sampled_from(ZONES))
def test_mutated_real_strings_are_safe(text: str, now: datetime, tz: str) -> None:
    assert_sane(parse(text, now, tz), text, now)


@settings(max_examples=200, deadline=None)
@given(text=st.sampled_from(REAL), now=now_strategy, tz=st.sampled_from(ZONES),
       before=st.sampled_from(["", "Updated: ", "By PTI | ", "New Delhi, ", "· ", "("]),
       after=st.sampled_from(["", " | 3 min read", ")", " by Staff Reporter", " · World"]))
def test_real_strings_in_context_are_safe(text: str, now: datetime, tz: str, before: str,
                                          after: str) -> None:
    full = before + text + after
    assert_sane(parse(full, now, tz), full, now)


SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
SPELLINGS = {
    "second": ["second", "seconds", "sec", "secs"],
    "minute": ["minute", "minutes", "min", "mins"],
    "hour": ["hour", "hours", "hr", "hrs", "h"],
    "day": ["day", "days"],
    "week": ["week", "weeks", "wk"],
    "month": ["month", "months"],
    "year": ["year", "years", "yr"],
}


def months_back(now: datetime, months: int) -> datetime:
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


@settings(max_examples=500, deadline=None)
@given(
    n=st.integers(1, 400),
    unit=st.sampled_from(list(SPELLINGS)),
    data=st.data(),
    now=now_strategy,
    tz=st.sampled_from(ZONES),
    upper=st.booleans(),
    label=st.sampled_from(["", "Updated ", "Published: ", "· ", "("]),
)
def test_n_units_ago_is_exactly_that(n: int, unit: str, data: st.DataObject, now: datetime,
                                     tz: str, upper: bool, label: str) -> None:
    spelling = data.draw(st.sampled_from(SPELLINGS[unit]))
    text = f"{label}{n} {spelling} ago"
    text = text.upper() if upper else text
    result = parse(text, now, tz)
    assert result is not None, text
    now_utc = now.astimezone(UTC)
    if unit in SECONDS:
        expected = now_utc - timedelta(seconds=n * SECONDS[unit])
    else:
        expected = months_back(now_utc, n * (12 if unit == "year" else 1))
    assert result.dt == expected
    assert result.precision == Precision(unit)


FOREIGN = {
    "hour": ["vor {n} Stunden", "hace {n} horas", "il y a {n} heures", "{n} घंटे पहले",
             "منذ {n} ساعات", "{n} ore fa", "há {n} horas", "{n} uur geleden"],
    "minute": ["vor {n} Minuten", "hace {n} minutos", "il y a {n} minutes", "{n} मिनट पहले",
               "منذ {n} دقائق", "{n} minuti fa"],
    "day": ["vor {n} Tagen", "hace {n} días", "il y a {n} jours", "{n} दिन पहले",
            "منذ {n} أيام"],
}


@settings(max_examples=300, deadline=None)
@given(n=st.integers(2, 99), unit=st.sampled_from(list(FOREIGN)), data=st.data(),
       now=now_strategy)
def test_relative_in_other_languages_is_exact(n: int, unit: str, data: st.DataObject,
                                              now: datetime) -> None:
    text = data.draw(st.sampled_from(FOREIGN[unit])).format(n=n)
    result = parse(text, now, "UTC")
    assert result is not None, text
    assert result.dt == now.astimezone(UTC) - timedelta(seconds=n * SECONDS[unit])


@settings(max_examples=300, deadline=None)
@given(when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2080, 1, 1)),
       ahead=st.timedeltas(min_value=timedelta(days=1, minutes=1),
                          max_value=timedelta(days=3000)))
def test_dates_more_than_a_day_ahead_are_none(when: datetime, ahead: timedelta) -> None:
    now = when.replace(tzinfo=UTC)
    future = now + ahead
    for text in (future.isoformat(), future.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                 future.strftime("%B %d, %Y %I:%M %p UTC")):
        assert parse(text, now) is None, text


@settings(max_examples=300, deadline=None)
@given(when=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2080, 1, 1)),
       back=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)))
def test_printed_times_round_trip(when: datetime, back: timedelta) -> None:
    now = when.replace(tzinfo=UTC)
    stamp = (now - back).replace(microsecond=0)
    for text in (stamp.isoformat(), stamp.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                 stamp.strftime("%B %d, %Y %I:%M:%S %p GMT"), stamp.strftime("%d.%m.%Y %H:%M:%S")):
        result = parse(text, now, "UTC")
        assert result is not None, text
        assert result.dt == stamp, text
