"""newsmon sources: each configured source with its schedule, state and history summary."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, fail, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows, status_style

sources_app = typer.Typer(help="List the configured sources, or check them live.")
app.add_typer(sources_app, name="sources")


def _state(value: Any, row: Any) -> str:
    if value == "backed off" and row.get("backed_off_until") is not None:
        return f"backed off until {row['backed_off_until']:%Y-%m-%d %H:%M:%S} UTC"
    if value == "stale" and row.get("stale"):
        return f"stale: {row['stale']}"
    return str(value)


COLUMNS = (
    Column("name", "source"),
    Column("schedule"),
    Column("next_run", "next run"),
    Column("last_status", "last status", style=status_style),
    Column("last_success", "last success"),
    Column("articles", justify="right"),
    Column("consecutive_failures", "failures", justify="right"),
    Column("blocked", "blocked", justify="right"),
    Column("state", render=_state, style=status_style),
)


@sources_app.callback(invoke_without_command=True)
def sources_command(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE,
                    config: ConfigOption = None) -> None:
    """Show each configured source: its schedule, next run, last status, last success, stored
    articles and consecutive failures. An adaptive interval (min_interval / max_interval set)
    shows as it is now and why ("every 3h: 8 new articles/day over 7 days"). A source
    failing scheduler.failure_threshold times in a row is "backed off" (run less often) until
    it succeeds again; one whose runs succeed but store nothing new for much longer than
    usual is "stale". `newsmon sources check` tries the sources live.

    Example: newsmon sources --format csv > sources.csv
    """
    if ctx.invoked_subcommand is not None:
        return
    from scheduler.lock import service_state
    from scheduler.report import source_rows, unconfigured_note
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
    title = f"Sources (times in {tz.key})" + unconfigured_note(rows)
    if not live:
        title += " - no service running: next runs are as last scheduled"
    print_rows(rows, COLUMNS, fmt, title=title, tz=tz,
               empty="no sources configured: add some to the sources file")


CHECK_COLUMNS = (
    Column("source"),
    Column("verdict", style=status_style),
    Column("http"),
    Column("robots"),
    Column("entries", justify="right"),
    Column("newest"),
    Column("articles", "sample articles"),
    Column("change", "change to try"),
)


@sources_app.command("check")
def check_command(
    names: Annotated[list[str] | None, typer.Argument(
        metavar="[NAME]...", help="Sources to check (default: every configured source).")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Try each source live from this machine: DNS, HTTP status and redirects, robots.txt
    for newsmon's user agent, the entries found and the newest one's date, and up to three
    sample articles fetched and extracted (bot walls recognised). Each source gets a verdict
    (works, feed only, blocked, broken, stale) and the change to try; stale also when its
    newest entry is older than scheduler.stale_floor or the database shows it storing
    nothing new for long. Nothing is stored.

    Exit status: 1 if an enabled source is broken, 2 for an unknown source name.

    Example: newsmon sources check pib-defence --format json
    """
    settings = settings_from(config)
    for name in names or []:
        try:
            settings.source(name)
        except KeyError:
            known = ", ".join(s.name for s in settings.sources) or "none configured"
            fail(f"no source named {name!r} in the sources file (known: {known})", 2)
    from crawler.probe import BROKEN, check_sources, summary_row
    from storage.staleness import history_staleness

    checks = check_sources(settings, names or None, quiet=history_staleness(settings))
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps([c.to_dict() for c in checks], indent=2,
                                    ensure_ascii=False) + "\n")
    else:
        print_rows([summary_row(c) for c in checks], CHECK_COLUMNS, fmt,
                   title="Sources checked live", tz=ZoneInfo(settings.default_timezone),
                   empty="no sources configured: add some to the sources file")
    if any(c.enabled and c.verdict == BROKEN for c in checks):
        raise typer.Exit(1)
