"""newsmon sources: each configured source with its schedule, state and history summary."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from newsmon.app import app
from newsmon.options import ConfigOption, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows, status_style


def _state(value: Any, row: Any) -> str:
    if value == "backed off" and row.get("backed_off_until") is not None:
        return f"backed off until {row['backed_off_until']:%Y-%m-%d %H:%M:%S} UTC"
    return str(value)


COLUMNS = (
    Column("name", "source"),
    Column("schedule"),
    Column("next_run", "next run"),
    Column("last_status", "last status", style=status_style),
    Column("last_success", "last success"),
    Column("articles", justify="right"),
    Column("consecutive_failures", "failures", justify="right"),
    Column("state", render=_state, style=status_style),
)


@app.command("sources")
def sources_command(fmt: FormatOption = OutputFormat.TABLE, config: ConfigOption = None) -> None:
    """Show each configured source: its schedule, next run, last status, last success, stored
    articles and consecutive failures. A source failing scheduler.failure_threshold times in a
    row is "backed off" (run less often) until it succeeds again.

    Example: newsmon sources --format csv > sources.csv
    """
    from scheduler.lock import service_state
    from scheduler.report import source_rows
    from storage.scheduler_store import SchedulerStore

    settings = settings_from(config)
    store = open_store(settings)
    try:
        sstore = SchedulerStore(store.engine)
        rows = source_rows(settings, sstore)
        live = service_state(sstore, settings.scheduler.stale_lock_after).alive
    finally:
        store.close()
    tz = ZoneInfo(settings.default_timezone)
    title = f"Sources (times in {tz.key})"
    if not live:
        title += " - no service running: next runs are as last scheduled"
    print_rows(rows, COLUMNS, fmt, title=title, tz=tz,
               empty="no sources configured: add some to the sources file")
