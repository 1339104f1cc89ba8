"""newsmon runs: the crawl run history, newest first."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows, status_style

COLUMNS = (
    Column("id", justify="right"),
    Column("source"),
    Column("started"),
    Column("seconds", "secs", justify="right"),
    Column("status", style=status_style),
    Column("requests", "reqs", justify="right"),
    Column("bytes", justify="right"),
    Column("new", justify="right"),
    Column("updated", "upd", justify="right"),
    Column("unchanged", "same", justify="right"),
    Column("dropped", "drop", justify="right"),
    Column("errors", "err", justify="right"),
    Column("blocked", "blocked", justify="right"),
    Column("pending", "pend", justify="right"),
    Column("first_error", "first error", max_width=60),
)


@app.command("runs")
def runs_command(
    source: Annotated[str | None, typer.Option(
        "--source", "-s", help="Only this source's runs.")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=1, help="How many runs, newest first.")] = 20,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Show the crawl run history: when each run started and ended, how (ok, partial, failed,
    timeout, interrupted, or still running), what it fetched and stored, and its first error.

    Example: newsmon runs --source defensenews --limit 5 --format json
    """
    from storage.scheduler_store import SchedulerStore

    settings = settings_from(config)
    store = open_store(settings)
    try:
        runs = SchedulerStore(store.engine).runs(source, limit)
    finally:
        store.close()
    rows: list[dict[str, Any]] = []
    for run in runs:
        row = asdict(run)
        row["seconds"] = run.seconds
        rows.append(row)
    tz = ZoneInfo(settings.default_timezone)
    empty = (f"no runs recorded for source {source!r}" if source else "no runs recorded yet")
    print_rows(rows, COLUMNS, fmt, title=f"Crawl runs (times in {tz.key})", tz=tz, empty=empty)
