"""Job triggers from the configuration: one per source (interval with jitter, or cron in a
zone), the daily digest, and the arithmetic of first runs, misfire grace and back-off.

Pure functions of the validated settings, the persisted state and ``now``; nothing here touches
the database or the clock, so the service's timing decisions are tested without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.schema import Schedule, SchedulerSettings, Settings
from storage.scheduler_store import SourceStateView

#: Job id of the daily digest; sources' job ids are their names, which cannot contain ':'.
DIGEST_JOB_ID = "newsmon:digest"
MAX_MISFIRE_GRACE = timedelta(hours=1)


def format_duration(td: timedelta) -> str:
    """``90s`` -> ``1m30s``, ``7200s`` -> ``2h``: compact, exact to the second."""
    total = int(round(td.total_seconds()))
    if total <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def build_trigger(schedule: Schedule) -> BaseTrigger:
    """The APScheduler trigger for a source's schedule."""
    jitter = schedule.jitter.total_seconds() or None
    if schedule.interval is not None:
        return IntervalTrigger(seconds=schedule.interval.total_seconds(), jitter=jitter,
                               timezone=ZoneInfo(schedule.timezone))
    assert schedule.cron is not None  # the schema guarantees one of the two
    minute, hour, day, month, day_of_week = schedule.cron.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=day_of_week, timezone=ZoneInfo(schedule.timezone),
                       jitter=jitter)


def describe(schedule: Schedule) -> str:
    """How ``newsmon sources`` prints a schedule: ``every 20m +2m`` or ``cron … (zone)``."""
    jitter = f" +{format_duration(schedule.jitter)}" if schedule.jitter else ""
    if schedule.interval is not None:
        return f"every {format_duration(schedule.interval)}{jitter}"
    return f"cron {schedule.cron} ({schedule.timezone}){jitter}"


def schedule_key(schedule: Schedule) -> str:
    """A fingerprint of a schedule: a persisted next run time counts only under the same one."""
    if schedule.interval is not None:
        key = (f"interval:{schedule.interval.total_seconds():g}:"
               f"{schedule.jitter.total_seconds():g}")
        if schedule.min_interval is not None or schedule.max_interval is not None:
            # Only when set, so that the key of a schedule without bounds stays as it was.
            low, high = schedule.min_interval, schedule.max_interval
            key += (f":{low.total_seconds() if low else 0:g}:"
                    f"{high.total_seconds() if high else 0:g}")
        return key
    return f"cron:{schedule.cron}:{schedule.timezone}:{schedule.jitter.total_seconds():g}"


def nominal_period(schedule: Schedule, now: datetime) -> timedelta:
    """The interval, or for cron the gap between its next two fire times (at least 1 min)."""
    if schedule.interval is not None:
        return schedule.interval
    trigger = build_trigger(schedule.model_copy(update={"jitter": timedelta(0)}))
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return timedelta(days=1)
    gap: timedelta = second - first
    return max(gap, timedelta(minutes=1))


def misfire_grace(schedule: Schedule, settings: SchedulerSettings, now: datetime) -> int:
    """Seconds a run may start late and still run: configured, else the period up to 1 h.

    APScheduler's default of one second would drop a run whenever every worker was busy for
    a moment; a grace longer than the period would let a late run pile onto the next one.
    """
    if settings.misfire_grace is not None:
        return max(1, int(settings.misfire_grace.total_seconds()))
    grace = min(nominal_period(schedule, now), MAX_MISFIRE_GRACE)
    return max(1, int(grace.total_seconds()))


def first_run_time(
    schedule: Schedule, state: SourceStateView | None, now: datetime,
    rand: Callable[[float, float], float] = random.uniform,
) -> datetime:
    """When a source runs first after a (re)start.

    The persisted next run time wins if it was computed from the same schedule (a restart
    keeps the timetable, back-off included); if it passed while the service was down, the
    missed runs coalesce into one, now. A new or changed interval schedule runs now (plus
    jitter, so many sources do not start at one instant); a cron schedule at its next time.
    """
    if state is not None and state.next_run_at is not None and (
            state.schedule_key == schedule_key(schedule)):
        return max(state.next_run_at, now)
    jitter = schedule.jitter.total_seconds()
    if schedule.interval is not None:
        return now + timedelta(seconds=rand(0, jitter) if jitter else 0)
    fire = build_trigger(schedule).get_next_fire_time(None, now)
    return fire if fire is not None else now + nominal_period(schedule, now)


def backoff_delay(
    period: timedelta, failures: int, settings: SchedulerSettings
) -> timedelta | None:
    """How long to hold a source back after ``failures`` failed runs in a row; None: not at all.

    From the ``failure_threshold``-th failure on: period × factor^k, k = 1, 2, …, capped at
    ``backoff_max`` (and never shorter than the period itself).
    """
    if failures < settings.failure_threshold:
        return None
    k = failures - settings.failure_threshold + 1
    seconds = period.total_seconds() * float(settings.backoff_factor) ** min(k, 64)
    capped = timedelta(seconds=min(seconds, settings.backoff_max.total_seconds()))
    return max(period, capped)


def digest_trigger(settings: Settings) -> CronTrigger | None:
    """A daily cron trigger at ``scheduler.digest_time``, or None when no digest is set."""
    at = settings.scheduler.digest_time
    if at is None:
        return None
    hour, minute = at.split(":")
    zone = settings.scheduler.digest_timezone or settings.default_timezone
    return CronTrigger(hour=int(hour), minute=int(minute), timezone=ZoneInfo(zone))
