"""newsmon parse-time: resolve timestamps as news pages print them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, err_console, settings_from

if TYPE_CHECKING:
    from crawler.timeparse import TimeResult


def _fetch_time(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 time",
            param_hint="'--now'",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _zone(value: str) -> str:
    from crawler.timeparse import parse

    try:
        parse("", datetime.now(UTC), value)  # checks the zone before anything else
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an IANA time zone",
            param_hint="'--tz'",
        ) from None
    return value


def _line(result: TimeResult | None, text: str, as_json: bool) -> str:
    if not as_json:
        return result.dt.isoformat() if result is not None else ""
    if result is None:
        fields: dict[str, object] = dict.fromkeys(
            ("dt", "precision", "span", "rule", "raw", "modified"))
    else:
        fields = {
            "dt": result.dt.isoformat(),
            "precision": result.precision.value,
            "span": list(result.span),
            "rule": result.rule,
            "raw": result.raw,
            "modified": result.modified.isoformat() if result.modified else None,
        }
    return json.dumps({"text": text, **fields}, ensure_ascii=False)


@app.command("parse-time")
def parse_time_command(
    texts: Annotated[list[str] | None, typer.Argument(
        help="Timestamps as printed; none: read one per line from standard input.",
        metavar="TEXT", show_default=False)] = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="The fetch time that relative times count back from (ISO-8601; "
        "default: now; naive means UTC).", show_default=False)] = None,
    tz: Annotated[str | None, typer.Option(
        "--tz", help="The site's IANA zone, for times printed without one (default: "
        "default_timezone from the settings).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per line: text, dt, precision, span, rule, raw, "
        "modified.")] = False,
    config: ConfigOption = None,
) -> None:
    """Print each timestamp as an ISO-8601 UTC time, one line each. A text given as an
    argument in which no time is found prints no line: the error output says so, and the exit
    status is 1. Read from standard input, each line gives one output line, empty where no
    time is found, so that the lines stay aligned; with --json, every text gives an object
    (dt null where no time is found).

    Example: newsmon parse-time "2 hours ago" --now 2026-11-25T12:00Z --tz Asia/Kolkata
    """
    from crawler.timeparse import parse

    when = _fetch_time(now)
    zone = _zone(tz) if tz is not None else settings_from(config).default_timezone
    lines: Iterable[str] = texts if texts else typer.get_text_stream("stdin")
    # Not typer.echo, which flushes every line: a batch of thousands of lines would cost
    # more in writes than in parsing. stdout is line-buffered on a terminal anyway.
    write = sys.stdout.write
    unread = 0
    for line in lines:
        text = line.rstrip("\r\n")
        result = parse(text, when, zone)
        if result is None and texts and not as_json:  # an error, not an empty line
            unread += 1
            sys.stdout.flush()
            err_console.print(f"could not read a time in {text!r}", highlight=False,
                              soft_wrap=True)
            continue
        write(_line(result, text, as_json) + "\n")
    sys.stdout.flush()
    if unread:
        raise typer.Exit(1)
