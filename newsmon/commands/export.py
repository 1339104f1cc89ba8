"""newsmon export: stream every article (or a period's) as JSON lines or CSV for other tools."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.commands.search import SinceOption, UntilOption, time_window
from newsmon.options import ConfigOption, err_console, fail, open_store, settings_from
from newsmon.output import counted, csv_safe, plain


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return csv_safe(json.dumps(value, ensure_ascii=False))
    return "" if value is None else csv_safe(plain(value))


def _write(rows: Any, fmt: ExportFormat, out: TextIO) -> int:
    from storage.article import EXPORT_FIELDS

    n = 0
    if fmt is ExportFormat.CSV:
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
            n += 1
    else:
        for row in rows:
            out.write(json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False))
            out.write("\n")
            n += 1
    return n


@app.command("export")
def export_command(
    since: SinceOption = None,
    until: UntilOption = None,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="jsonl: one JSON object per line; csv: lists and mappings as JSON in their "
        "cells.")] = ExportFormat.JSONL,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write here instead of standard output.")] = None,
    config: ConfigOption = None,
) -> None:
    """Write every stored article — text, times (UTC), topics, entities, story — oldest
    first, streamed so any size fits.

    Example: newsmon export --since 7d --format csv --out week.csv
    """
    from storage.queries import iter_export

    settings = settings_from(config)
    tz = ZoneInfo(settings.default_timezone)
    start, end = time_window(since, until, tz)
    store = open_store(settings)
    try:
        rows = iter_export(store, since=start, until=end)
        if out is None:
            _write(rows, fmt, sys.stdout)
            return
        try:
            with out.open("w", encoding="utf-8", newline="") as fh:
                n = _write(rows, fmt, fh)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}", 2)
        err_console.print(f"{counted(n, 'article')} written to {out}", highlight=False,
                          soft_wrap=True)
    finally:
        store.close()
