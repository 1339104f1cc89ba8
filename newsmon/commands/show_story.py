"""newsmon show --story: a story's timeline (storage.timeline); no command of its own."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.text import Text

from newsmon.options import console, fail
from newsmon.output import Column, OutputFormat, plain, print_rows

if TYPE_CHECKING:  # the database is imported by the command that runs, not by --help
    from storage.store import Store
    from storage.timeline import StoryTimeline

ENTRY_COLUMNS = (
    Column("id", justify="right"),
    Column("dated_at", "when"),
    Column("lag", "after first", justify="right"),
    Column("source"),
    Column("kind"),
    Column("revisions", "rev.", justify="right"),
    Column("title", max_width=50),
    Column("reason", "linked because", max_width=60),
)
PICKUP_COLUMNS = (
    Column("source"),
    Column("at", "picked up"),
    Column("lag", "after first", justify="right"),
    Column("articles", justify="right"),
)


def lag(value: timedelta) -> str:
    """``0:00``, ``2:35``, ``1d 3:05``: hours and minutes after the first report."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    text = f"{minutes // 60}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _jsonable(t: StoryTimeline) -> dict[str, Any]:
    data = asdict(t)
    data.update(copies=t.copies, independent=t.independent)
    for row in data["entries"] + data["pickups"]:
        row["lag_seconds"] = int(row.pop("lag").total_seconds())
    return {k: ([{kk: plain(vv) for kk, vv in r.items()} for r in v] if isinstance(v, list)
                else plain(v)) for k, v in data.items()}


def show_story(store: Store, story_id: int, fmt: OutputFormat, tz: ZoneInfo) -> None:
    """Print story ``story_id``'s timeline in ``fmt``; exit 1 if there is no such story."""
    from storage.timeline import story_timeline

    try:
        timeline = story_timeline(store, story_id)
    finally:
        store.close()
    if timeline is None:
        fail(f"no story with id {story_id}")
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(_jsonable(timeline), ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is not OutputFormat.TABLE:
        print_rows([{**asdict(e), "id": e.article_id, "lag": lag(e.lag)}
                    for e in timeline.entries],
                   ENTRY_COLUMNS, fmt, tz=tz)
        return
    t = timeline
    first, last = (x.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
                   for x in (t.first_report_at, t.last_report_at))
    console.print(Text(f"Story #{t.id}: {t.title}", style="bold"))
    console.print(Text(f"{_n(t.article_count, 'article')} from {_n(t.source_count, 'source')}"
                       f": {t.independent} written apart, {_n(t.copies, 'copy', 'copies')}; "
                       f"first report {first}, last {last}", style="dim"))
    console.print()
    print_rows([{**asdict(e), "id": e.article_id, "lag": lag(e.lag), "reason": e.reason or ""}
                for e in t.entries], ENTRY_COLUMNS, OutputFormat.TABLE, tz=tz,
               console=console, title="Timeline")
    console.print()
    print_rows([{**asdict(p), "lag": lag(p.lag)} for p in t.pickups], PICKUP_COLUMNS,
               OutputFormat.TABLE, tz=tz, console=console, title="Pickup by source")
