"""What ``newsmon sources`` and ``newsmon status`` report: each configured source with its
schedule, next run, last status, last success, article count and failure streak, and whether
it is stale (its runs succeed, nothing new is stored: :mod:`storage.staleness`).

The run history (``crawl_runs``) is the truth for the last run, the last success and the
failure streak, so manual ``newsmon crawl`` runs count too; ``source_state`` adds what only the
service knows (the next run time, a back-off in force).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.schema import Settings
from scheduler.jobs import describe
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
    """One row per configured source, in configuration order."""
    states = store.states()
    threshold = settings.scheduler.failure_threshold
    now = datetime.now(UTC)
    names = [source.name for source in settings.sources]
    histories = store.histories(names)
    quiets = staleness_of(store.engine, names, factor=settings.scheduler.stale_factor,
                          floor=settings.scheduler.stale_floor, now=now)
    rows = []
    for source in settings.sources:
        history = histories[source.name]
        state = states.get(source.name)
        failures = history.consecutive_failures
        quiet = quiets[source.name]
        stale = quiet is not None and quiet.stale
        label = source_state_label(source.enabled, failures, threshold, history.last_status,
                                   stale)
        backed_off_until = (state.backed_off_until if state is not None and label == "backed off"
                            else None)
        rows.append({
            "name": source.name,
            "kind": source.kind.value,
            "enabled": source.enabled,
            "schedule": describe(source.schedule),
            "state": label,
            "next_run": state.next_run_at if state is not None and source.enabled else None,
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
