"""One way for every command to print rows: a Rich table for people, JSON, CSV or
newline-delimited JSON for programs (``--format``).

Commands build plain rows (mappings of column key to value) and call :func:`print_rows`. The
machine formats carry every key of every row, with datetimes as ISO 8601 in UTC and None as
null (JSON) or an empty field (CSV); the table shows the chosen :class:`Column` s, with times in
the zone the command passes (the settings' ``default_timezone``).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, TextIO
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "timeout": "red",
                "interrupted": "magenta", "running": "cyan", "backed off": "bold red",
                "failing": "red", "disabled": "dim", "skipped": "yellow", "stale": "yellow",
                "works": "green", "feed only": "yellow", "blocked": "red", "broken": "bold red"}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    NDJSON = "ndjson"


FormatOption = Annotated[OutputFormat, typer.Option(
    "--format", "-f", case_sensitive=False,
    help="table for people; json, csv or ndjson (one JSON object per line) for programs.")]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: the row key, its header, and how to show a value."""

    key: str
    header: str | None = None
    justify: Literal["left", "right"] = "left"
    #: Text for a value (default: see :func:`cell`); gets the value and the whole row.
    render: Callable[[Any, Mapping[str, Any]], str] | None = None
    #: A Rich style for a value, e.g. a status colour.
    style: Callable[[Any, Mapping[str, Any]], str] | None = None
    max_width: int | None = None


def plain(value: Any) -> Any:
    """A value as JSON knows it: ISO 8601 UTC times, calendar days as YYYY-MM-DD, seconds for
    durations."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, StrEnum):
        return value.value
    return value


def cell(value: Any, tz: ZoneInfo | None = None) -> str:
    """A value as a table shows it: '-' for None, local times to the second, 1,234 counts."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(tz or UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def status_style(value: Any, _row: Mapping[str, Any]) -> str:
    return STATUS_STYLE.get(str(value), "")


# A cell a spreadsheet would read as a formula (CSV injection; OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell: text that a spreadsheet would run as a formula gets a
    leading single quote, as OWASP recommends; numbers and other text as they are. A carriage
    return in text becomes a newline: the csv module (lines end in \\n) leaves a cell with a
    bare \\r unquoted, which would end the row there for a reader."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def print_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], fmt: OutputFormat, *,
    title: str | None = None, tz: ZoneInfo | None = None, empty: str = "nothing to show",
    console: Console | None = None, out: TextIO | None = None,
) -> None:
    """Print ``rows`` in ``fmt``; see the module docstring."""
    stream = out or sys.stdout
    if fmt is OutputFormat.JSON:
        json.dump([{k: plain(v) for k, v in r.items()} for r in rows], stream,
                  ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt is OutputFormat.NDJSON:
        for r in rows:
            stream.write(json.dumps({k: plain(v) for k, v in r.items()}, ensure_ascii=False))
            stream.write("\n")
    elif fmt is OutputFormat.CSV:
        keys = list(rows[0]) if rows else [c.key for c in columns]
        writer = csv.DictWriter(stream, fieldnames=keys, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if r.get(k) is None else csv_safe(plain(r.get(k)))
                             for k in keys})
    else:
        console = console or (Console(file=out) if out is not None else Console())
        if not rows:
            console.print(empty, highlight=False)
            return
        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col.header or col.key.replace("_", " "), justify=col.justify,
                             overflow="fold", max_width=col.max_width)
        for r in rows:
            cells = []
            for col in columns:
                value = r.get(col.key)
                text = col.render(value, r) if col.render else cell(value, tz)
                style = col.style(value, r) if col.style else ""
                cells.append(Text(text, style=style))
            table.add_row(*cells)
        console.print(table)
