"""newsmon stats: how many articles, stories and sources, overall or per day, source or topic."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.commands.search import SinceOption, UntilOption, time_window
from newsmon.options import ConfigOption, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows


class StatsBy(StrEnum):
    DAY = "day"
    SOURCE = "source"
    TOPIC = "topic"


COLUMNS: dict[StatsBy | None, tuple[Column, ...]] = {
    None: (Column("articles", justify="right"), Column("stories", justify="right"),
           Column("sources", justify="right"), Column("on_topic", "on-topic", justify="right"),
           Column("off_topic", "off-topic", justify="right"), Column("oldest"),
           Column("newest"), Column("runs", justify="right"),
           Column("failed_runs", "failed runs", justify="right")),
    StatsBy.DAY: (Column("day"), Column("articles", justify="right"),
                  Column("stories", justify="right"), Column("sources", justify="right")),
    StatsBy.SOURCE: (Column("source"), Column("articles", justify="right"),
                     Column("stories", justify="right"), Column("oldest"), Column("newest")),
    StatsBy.TOPIC: (Column("topic"), Column("articles", "in topic", justify="right"),
                    Column("primary", "primary topic", justify="right")),
}


@app.command("stats")
def stats_command(
    by: Annotated[StatsBy | None, typer.Option(
        "--by", case_sensitive=False, help="Count per local day, per source or per topic "
        "(default: one row of totals).")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Count the stored articles, stories and sources — in all, or per day (in your time
    zone), per source or per topic — optionally only those dated in a period.

    Example: newsmon stats --by day --since 7d
    """
    from storage.queries import stats

    settings = settings_from(config)
    tz = ZoneInfo(settings.default_timezone)
    start, end = time_window(since, until, tz)
    store = open_store(settings)
    try:
        rows = stats(store, by.value if by else None, tz, since=start, until=end)
    finally:
        store.close()
    title = f"Articles by {by.value}" if by else "Articles"
    columns = COLUMNS[by]
    if by is None and fmt is OutputFormat.TABLE:
        # One row of totals reads better as a list.
        rows = [{"measure": c.header or c.key, "value": rows[0][c.key]} for c in columns]
        columns = (Column("measure", ""), Column("value", "", justify="right"))
    print_rows(rows, columns, fmt, title=f"{title} (times in {tz.key})", tz=tz,
               empty="no articles stored yet" if not (since or until)
               else "no articles in this period")
