"""newsmon status: is a service running on this database, and when did each source last run."""

from __future__ import annotations

import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, console, open_store, settings_from
from newsmon.output import (
    Column,
    FormatOption,
    OutputFormat,
    cell,
    counted,
    plain,
    print_rows,
    status_style,
)

#: Exit status when no live service holds this database's lock.
EXIT_NOT_RUNNING = 3

COLUMNS = (
    Column("name", "source"),
    Column("last_run", "last run"),
    Column("last_status", "last status", style=status_style),
    Column("blocked", "blocked", justify="right"),
    Column("next_run", "next run"),
    Column("state", style=status_style),
)


@app.command("status")
def status_command(fmt: FormatOption = OutputFormat.TABLE, config: ConfigOption = None) -> None:
    """Tell whether a newsmon service is running on this database (by its heartbeat) and when
    each source last ran.

    Exit status: 0 if a live service holds the database, 3 if none does (as for an LSB
    init script's "status"), 1 or 2 if the database or configuration cannot be read.

    Example: newsmon status || systemctl start newsmon
    """
    from scheduler.lock import service_state
    from scheduler.report import source_rows, unconfigured_note
    from storage import search_index
    from storage.scheduler_store import SchedulerStore

    settings = settings_from(config)
    store = open_store(settings)
    try:
        sstore = SchedulerStore(store.engine)
        state = service_state(sstore, settings.scheduler.stale_lock_after)
        rows = source_rows(settings, sstore)
        waiting = search_index.pending(store.engine)
    finally:
        store.close()
    holder = state.holder
    if fmt is not OutputFormat.TABLE:
        doc: dict[str, Any] = {
            "running": state.alive,
            "holder": None if holder is None else {
                "host": holder.host, "pid": holder.pid, "started": plain(holder.started_at),
                "heartbeat": plain(holder.heartbeat_at),
                "heartbeat_age_s": round(state.age.total_seconds(), 1) if state.age else 0.0},
            "search_index_pending": waiting,
            "sources": [{k: plain(v) for k, v in r.items()} for r in rows],
        }
        if fmt is OutputFormat.JSON:
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            print_rows(rows, COLUMNS, fmt)
    else:
        if state.alive and holder is not None and state.age is not None:
            console.print(f"[green]running[/]: pid {holder.pid} on host {holder.host}, "
                          f"since {cell(holder.started_at, ZoneInfo(settings.default_timezone))} "
                          f"{settings.default_timezone}, heartbeat "
                          f"{state.age.total_seconds():.0f} s ago", highlight=False)
        elif holder is not None and state.age is not None:
            console.print(f"[red]not running[/]: the last service (pid {holder.pid} on host "
                          f"{holder.host}) stopped sending heartbeats "
                          f"{state.age.total_seconds():.0f} s ago", highlight=False)
        else:
            console.print("[red]not running[/]: no newsmon service holds this database",
                          highlight=False)
        if waiting:
            console.print(f"search index: {counted(waiting, 'article')} waiting to be indexed "
                          "(newsmon db index)", highlight=False)
        tz = ZoneInfo(settings.default_timezone)
        print_rows(rows, COLUMNS, fmt, title=f"Sources (times in {tz.key})"
                   + unconfigured_note(rows), tz=tz,
                   empty="no sources configured")
    if not state.alive:
        raise typer.Exit(EXIT_NOT_RUNNING)
