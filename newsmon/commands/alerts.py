"""newsmon alerts / newsmon watch: the delivery log, the watchlists, a dry run, a feed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, console, fail, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows, status_style

if TYPE_CHECKING:
    from config.schema import Settings
    from config.watchlists import Watchlist

watch_app = typer.Typer(help="Watchlists: list them, test one on the archive, its feed.",
                        no_args_is_help=True)
app.add_typer(watch_app, name="watch")

WatchlistOption = Annotated[str | None, typer.Option(
    "--watchlist", "-w", help="Only this watchlist's deliveries.")]

LOG_COLUMNS = (
    Column("id", justify="right"), Column("created"), Column("watchlist"), Column("event"),
    Column("story", justify="right"), Column("title", max_width=50), Column("target"),
    Column("status", style=status_style), Column("attempts", "tries", justify="right"),
    Column("sent"), Column("error", max_width=50),
)
LIST_COLUMNS = (
    Column("name"), Column("query", max_width=40), Column("min_sources", "min src",
                                                          justify="right"),
    Column("notify"), Column("day", "24 h", justify="right"),
    Column("week", "7 days", justify="right"), Column("last_delivery", "last delivery"),
    Column("pending", justify="right"), Column("failed", justify="right"),
)
TEST_COLUMNS = (
    Column("at"), Column("event"), Column("story", justify="right"),
    Column("sources", justify="right"), Column("source"), Column("title", max_width=60),
    Column("matched"),
)


def watchlist_named(settings: Settings, name: str) -> Watchlist:
    """The watchlist ``name``, or exit 2 naming the configured ones."""
    try:
        return settings.watchlist(name)
    except KeyError:
        known = ", ".join(w.name for w in settings.watchlists) or "none configured"
        fail(f"unknown watchlist {name!r} (watchlists: {known}); see 'newsmon watch list'", 2)


@app.command("alerts")
def alerts_command(
    watchlist: WatchlistOption = None,
    failed: Annotated[bool, typer.Option(
        "--failed", help="Only deliveries that failed at least once.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")
                     ] = 50,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Show the alert delivery log: each alert, the target it went to, whether it was sent
    (pending, sent, failed), after how many attempts, and the last error.

    Example: newsmon alerts --watchlist brahmos-exports --failed
    """
    from alerts.archive import delivery_log

    settings = settings_from(config)
    if watchlist is not None:
        watchlist_named(settings, watchlist)
    store = open_store(settings)
    try:
        rows = delivery_log(store, watchlist=watchlist, failed=failed, limit=limit)
    finally:
        store.close()
    tz = ZoneInfo(settings.default_timezone)
    print_rows(rows, LOG_COLUMNS, fmt, title=f"Alert deliveries (times in {tz.key})", tz=tz,
               empty="no failed deliveries" if failed else "no alerts delivered yet")


@watch_app.command("list")
def list_command(fmt: FormatOption = OutputFormat.TABLE, config: ConfigOption = None) -> None:
    """List the watchlists: query, threshold, targets, alerts in the last day and week, the
    last delivery and the deliveries pending or failed.

    Example: newsmon watch list --format json
    """
    from alerts.archive import watch_stats

    settings = settings_from(config)
    store = open_store(settings)
    try:
        stats = watch_stats(store, [w.name for w in settings.watchlists])
    finally:
        store.close()
    rows: list[dict[str, Any]] = [
        {"name": w.name, "query": w.query, "min_sources": w.min_sources,
         "notify": ", ".join(w.notify), **stats[w.name]} for w in settings.watchlists]
    tz = ZoneInfo(settings.default_timezone)
    print_rows(rows, LIST_COLUMNS, fmt, title="Watchlists", tz=tz,
               empty="no watchlists configured (watchlists: in the settings file)")


@watch_app.command("test")
def test_command(
    name: Annotated[str, typer.Argument(help="The watchlist's name.")],
    since: Annotated[str, typer.Option(
        "--since", help="Articles stored from this time: 24h, 7d, 30d, 2026-11-25.")] = "30d",
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Dry run: what watchlist NAME would have alerted on the articles stored since --since,
    story by story. Sends nothing and writes nothing.

    Example: newsmon watch test brahmos-exports --since 30d
    """
    from alerts.archive import dry_run
    from newsmon.timespec import TimeSpecError, parse_when

    settings = settings_from(config)
    wl = watchlist_named(settings, name)
    tz = ZoneInfo(settings.default_timezone)
    try:
        start = parse_when(since, now=datetime.now(UTC), tz=tz)
    except TimeSpecError as exc:
        fail(f"--since: {exc}", 2)
    store = open_store(settings)
    try:
        would = dry_run(store, wl, start)
    finally:
        store.close()
    rows = [{"at": w.at, "event": w.event, "story": w.story_id, "sources": w.sources_count,
             "source": w.source, "title": w.title, "url": w.url,
             "matched": ", ".join(w.matched)} for w in would]
    print_rows(rows, TEST_COLUMNS, fmt, tz=tz,
               title=f"Watchlist {name}: would have alerted (nothing sent)",
               empty=f"watchlist {name!r} would have alerted nothing since {since}")


@watch_app.command("feed")
def feed_command(
    name: Annotated[str, typer.Argument(help="The watchlist's name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The Atom file to write.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 100,
    config: ConfigOption = None,
) -> None:
    """Write watchlist NAME's alerts, newest first, as an Atom feed.

    Example: newsmon watch feed brahmos-exports --out /var/www/feeds/brahmos.xml
    """
    import os
    import tempfile

    from alerts.archive import atom_feed

    settings = settings_from(config)
    watchlist_named(settings, name)
    store = open_store(settings)
    try:
        xml = atom_feed(store, name, limit=limit)
    finally:
        store.close()
    target = out.resolve()
    if not target.parent.is_dir():
        fail(f"--out: folder {target.parent} does not exist", 2)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:  # whole or not at all
        fh.write(xml)
    os.replace(tmp, target)
    console.print(f"wrote {target}", highlight=False)
