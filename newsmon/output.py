"""One way for every command to print rows: a Rich table for people, JSON, CSV or
newline-delimited JSON for programs (``--format``).

Commands build plain rows (mappings of column key to value) and call :func:`print_rows`. The
machine formats carry every key of every row, with datetimes as ISO 8601 in UTC and None as
null (JSON) or an empty field (CSV); the table shows the chosen :class:`Column` s, with times in
the zone the command passes (the settings' ``default_timezone``).

The table fits the terminal: one line per record, long values cut with an ellipsis, matches
(``**word**`` in a snippet) in bold. When standard output is not a terminal (a pipe, a file),
the table is plain text instead: a header line and one line per record, columns aligned by
spaces, every value in full, no borders, no colours (:func:`plain_table`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import IO, Annotated, Any, Literal, TextIO
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "timeout": "red",
                "interrupted": "magenta", "running": "cyan", "backed off": "bold red",
                "failing": "red", "disabled": "dim", "skipped": "yellow", "stale": "yellow",
                "works": "green", "feed only": "yellow", "blocked": "red", "broken": "bold red"}


def counted(count: int, noun: str) -> str:
    """``"1 article"``, ``"2 articles"``, ``"1,204 articles"``."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


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
    #: The value marks matches as **word** (a search snippet): bold in a table.
    emphasis: bool = False


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
        texts = [[_cell_text(col, r, tz) for col in columns] for r in rows]
        if not console.is_terminal:
            plain_table(texts, columns, title, console.file)
            return
        console.print(_rich_table(texts, columns, rows, title, console.width))


_EMPHASIS = re.compile(r"\*\*(.+?)\*\*")


def _cell_text(col: Column, row: Mapping[str, Any], tz: ZoneInfo | None) -> str:
    value = row.get(col.key)
    text = col.render(value, row) if col.render else cell(value, tz)
    return " ".join(text.split()) if "\n" in text or "\r" in text or "\t" in text else text


def _header(col: Column) -> str:
    return col.header or col.key.replace("_", " ")


def plain_table(texts: Sequence[Sequence[str]], columns: Sequence[Column],
                title: str | None, stream: IO[str]) -> None:
    """Aligned plain text: a title line, a header line, then one line per record."""
    if columns and any(c.emphasis for c in columns):
        texts = [[_EMPHASIS.sub(r"\1", t) if c.emphasis else t for c, t in zip(columns, row,
                                                                            strict=True)]
                 for row in texts]
    lines = [[_header(c) for c in columns], *texts]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    if title:
        stream.write(title + "\n")
    for line in lines:
        parts = []
        for i, (col, text) in enumerate(zip(columns, line, strict=True)):
            last = i == len(columns) - 1
            if col.justify == "right":
                parts.append(text.rjust(widths[i]))
            else:
                parts.append(text if last else text.ljust(widths[i]))
        stream.write("  ".join(parts).rstrip() + "\n")


def fit_widths(natural: Sequence[int], room: int, floor: int = 3) -> list[int]:
    """Column widths that sum to at most ``room``: the widest column gives up a character
    until they fit (none below ``floor``, or its natural width if smaller)."""
    widths = list(natural)
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda k: widths[k])
        if widths[widest] <= floor:
            break
        widths[widest] -= 1
    return widths


def _rich_table(texts: Sequence[Sequence[str]], columns: Sequence[Column],
                rows: Sequence[Mapping[str, Any]], title: str | None, width: int) -> Table:
    """One line per record in ``width`` characters: long values end in an ellipsis; a table
    too wide for borders drops its vertical lines."""
    natural = []
    for i, col in enumerate(columns):
        longest = max(len(_EMPHASIS.sub(r"\1", t[i]) if col.emphasis else t[i]) for t in texts)
        natural.append(max(len(_header(col)), min(longest, col.max_width or longest)))
    n = len(columns)
    boxed = sum(natural) + 3 * n + 1 <= width
    room = width - (3 * n + 1 if boxed else 3 * (n - 1))
    widths = fit_widths(natural, room)
    table = (Table(title=title, title_justify="left") if boxed else
             Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                   show_edge=False))
    for col, w in zip(columns, widths, strict=True):
        table.add_column(_header(col), justify=col.justify, width=w, no_wrap=True,
                         overflow="ellipsis")
    for r, line in zip(rows, texts, strict=True):
        cells = []
        for col, text in zip(columns, line, strict=True):
            style = col.style(r.get(col.key), r) if col.style else ""
            c = _emphasised(text, style) if col.emphasis else Text(text, style=style)
            c.no_wrap = True
            c.overflow = "ellipsis"
            cells.append(c)
        table.add_row(*cells)
    return table


def _emphasised(text: str, style: str) -> Text:
    """``text`` with each **match** in bold, the asterisks gone."""
    out = Text(style=style)
    at = 0
    for m in _EMPHASIS.finditer(text):
        out.append(text[at:m.start()])
        out.append(m.group(1), style="bold")
        at = m.end()
    out.append(text[at:])
    return out
