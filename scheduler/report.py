"""What ``newsmon sources`` and ``newsmon status`` report: each configured source with its
schedule (an adaptive interval as it is now, and why: :mod:`scheduler.adaptive`), next run,
last status, last success, article count and failure streak, and whether it is stale (its
runs succeed, nothing new is stored: :mod:`storage.staleness`).

The run history (``crawl_runs``) is the truth for the last run, the last success and the
failure streak, so manual ``newsmon crawl`` runs count too; ``source_state`` adds what only the
service knows (the next run time, a back-off in force).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.schema import Settings, Source
from scheduler.adaptive import read_cadence
from scheduler.jobs import format_duration
from storage.scheduler_store import SchedulerStore
from storage.staleness import staleness_of


def source_state_label(enabled: bool, failures: int, threshold: int,
                       last_status: str | None, stale: bool = False) -> str:
    """disabled, backed off (streak at the threshold), failing, new (never ran), stale (its
    runs succeed, nothing new stored for long) or ok."""
    if not enabled:
        return "disabled"
    if failures >= threshold:
        return "backed off"
    if failures:
        return "failing"
    if last_status is None:
        return "new"
    return "stale" if stale else "ok"


def source_rows(settings: Settings, store: SchedulerStore) -> list[dict[str, Any]]:
    """One row per configured source, in configuration order; ``configured`` is True.

    On a database none of the configured sources has run on while others have (the demo's,
    opened with the default settings), one row per source it records instead, by name, with
    ``configured`` False and no kind or schedule: what the database holds, not a list of
    configured sources that never ran there."""
    states = store.states()
    threshold = settings.scheduler.failure_threshold
    now = datetime.now(UTC)
    listed: list[tuple[str, str | None, bool, Source | None]] = [
        (s.name, s.kind.value, s.enabled, s) for s in settings.sources]
    recorded = store.recorded_sources()
    configured = True
    if recorded and not set(recorded) & {name for name, *_ in listed}:
        listed, configured = [(name, None, True, None) for name in recorded], False
    names = [name for name, *_ in listed]
    histories = store.histories(names)
    quiets = staleness_of(store.engine, names, factor=settings.scheduler.stale_factor,
                          floor=settings.scheduler.stale_floor, now=now)
    rows = []
    for name, kind, enabled, source in listed:
        history = histories[name]
        state = states.get(name)
        failures = history.consecutive_failures
        quiet = quiets[name]
        stale = quiet is not None and quiet.stale
        label = source_state_label(enabled, failures, threshold, history.last_status, stale)
        backed_off_until = (state.backed_off_until if state is not None and label == "backed off"
                            else None)
        cadence = (read_cadence(name, source.schedule, settings.scheduler, store, now)
                   if source is not None else None)
        rows.append({
            "name": name,
            "configured": configured,
            "kind": kind,
            "enabled": enabled,
            "schedule": cadence.describe() if cadence is not None else None,
            "interval": (format_duration(cadence.interval)
                         if cadence is not None and cadence.interval else None),
            "state": label,
            "next_run": state.next_run_at if state is not None and enabled else None,
            "last_run": history.last_run_at,
            "last_status": history.last_status,
            "last_success": history.last_success_at,
            "articles": history.articles,
            "blocked": history.blocked,
            "consecutive_failures": failures,
            "backed_off_until": backed_off_until,
            "stale": quiet.describe(now) if quiet is not None and stale else None,
        })
    return rows


def unconfigured_note(rows: list[dict[str, Any]]) -> str:
    """What a table title adds when :func:`source_rows` listed the database's own sources."""
    if rows and not rows[0]["configured"]:
        return (" - the sources this database records; none of them is in the sources file "
                "(give the settings that crawled it: --config)")
    return ""
