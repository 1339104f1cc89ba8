"""Adaptive intervals: a source's interval follows its publishing rate, within its bounds.

The rule is Miniflux's ``entry_frequency`` scheduler as it stands now: over the articles the
source published in the last :data:`WINDOW` (their published time, else when newsmon first
saw them), the mean gap between two of them, ``(newest - oldest) / (n - 1)``, is the
interval, rounded to whole minutes and clamped to ``[min_interval, max_interval]``; fewer
than two articles in the window give ``max_interval``. Using the span of the articles rather
than their count over the whole window is what lets a source added yesterday, whose feed
shows only its last day, start at its real rate. When all of them carry one time (a feed of
dates without times, or a first crawl of undated entries) the span says nothing, and the
count does: ``WINDOW / n``.

The bounds come from the schedule, else from the ``scheduler:`` defaults widened to include
the schedule's own interval, else the interval itself: with nothing set a source runs at its
configured interval exactly, as before. A cron schedule is never adapted. Until a source
has a successful run its configured interval stands (its history says nothing yet).

Pure functions of the settings, what the store read and ``now``; the service calls
:func:`cadence` after each run and reschedules the source's job when the interval changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config.schema import Schedule, SchedulerSettings
from scheduler.jobs import describe
from storage.scheduler_store import Publishing, SchedulerStore

#: How far back the publishing rate is read (Miniflux's week).
WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Cadence:
    """A source's effective schedule and why it is what it is (None: as configured)."""

    schedule: Schedule
    reason: str | None = None

    @property
    def interval(self) -> timedelta | None:
        return self.schedule.interval

    def describe(self) -> str:
        """``every 20m +2m``, or ``every 3h: 8 new articles/day over 7 days``."""
        text = describe(self.schedule)
        return f"{text}: {self.reason}" if self.reason else text


def bounds(schedule: Schedule, conf: SchedulerSettings) -> tuple[timedelta, timedelta] | None:
    """``(min_interval, max_interval)`` of an adaptive schedule; None: a fixed one (a cron
    schedule, or an interval with no bound other than itself)."""
    interval = schedule.interval
    if interval is None:
        return None
    low = schedule.min_interval or (min(conf.min_interval, interval) if conf.min_interval
                                    else interval)
    high = schedule.max_interval or (max(conf.max_interval, interval) if conf.max_interval
                                     else interval)
    if low == high == interval:
        return None
    return low, high


def _per_day(gap: timedelta) -> str:
    rate = timedelta(days=1) / gap
    text = f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}".removesuffix(".0")
    return "<0.1" if text == "0" else text


def _days(span: timedelta) -> str:
    days = span / timedelta(days=1)
    if days >= 1:
        return f"{days:.0f} days" if round(days) != 1 else "1 day"
    hours = span / timedelta(hours=1)
    return f"{hours:.0f} hours" if round(hours) != 1 else "1 hour"


def mean_gap(published: Publishing) -> timedelta | None:
    """The mean time between two of the window's articles; None: fewer than two."""
    if published.count < 2:
        return None
    assert published.oldest is not None and published.newest is not None
    span = published.newest - published.oldest
    if span > timedelta(0):
        return span / (published.count - 1)
    return WINDOW / published.count


def _rounded(gap: timedelta) -> timedelta:
    seconds = gap.total_seconds()
    if seconds >= 60:
        return timedelta(minutes=round(seconds / 60))
    return timedelta(seconds=max(1, round(seconds)))


def cadence(schedule: Schedule, conf: SchedulerSettings, published: Publishing | None,
            now: datetime) -> Cadence:
    """The interval ``schedule`` runs at now, given what the source ``published`` in the last
    :data:`WINDOW` (None: it has no successful run yet); see the module docstring."""
    limits = bounds(schedule, conf)
    if limits is None:
        return Cadence(schedule)
    low, high = limits
    if published is None:
        return Cadence(schedule, "interval, no successful run yet")
    gap = mean_gap(published)
    if gap is None:
        if published.count == 1:
            why = f"1 new article in {_days(WINDOW)}"
        elif published.last is not None:
            why = f"nothing new in {_days(now - published.last)}"
        else:
            why = "nothing stored yet"
        return Cadence(schedule.model_copy(update={"interval": high}), f"max_interval, {why}")
    rate = f"{_per_day(gap)} new articles/day over {_days(WINDOW)}"
    interval = _rounded(gap)
    if interval < low:
        return Cadence(schedule.model_copy(update={"interval": low}), f"min_interval; {rate}")
    if interval > high:
        return Cadence(schedule.model_copy(update={"interval": high}), f"max_interval; {rate}")
    return Cadence(schedule.model_copy(update={"interval": interval}), rate)


def read_cadence(name: str, schedule: Schedule, conf: SchedulerSettings,
                 store: SchedulerStore, now: datetime) -> Cadence:
    """:func:`cadence` of source ``name`` from the database (no query for a fixed schedule).

    Raises SQLAlchemyError when the database cannot be read."""
    if bounds(schedule, conf) is None:
        return Cadence(schedule)
    return cadence(schedule, conf, store.publishing(name, now - WINDOW, now), now)
