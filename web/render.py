"""The web app's Jinja2 templates (``web/templates``): HTML and Atom, autoescaped, and the
filters they use. Scraped text is never marked safe; links pass through ``safe_url`` (http(s)
only, anything else becomes an empty string and the template shows no link)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from digest.render import counted, safe_url

TEMPLATES = Path(__file__).with_name("templates")
# search() wraps matches in these; the snippet filter turns them into <mark> after escaping.
MARKS = ("\x02", "\x03")


def snippet(text: str) -> Markup:
    """A search snippet, escaped, with its marked matches in ``<mark>``."""
    out = str(escape(text))
    return Markup(out.replace(MARKS[0], "<mark>").replace(MARKS[1], "</mark>"))


def lag(value: timedelta) -> str:
    """``0:00``, ``2:35``, ``1d 3:05``: hours and minutes after the first report."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    text = f"{minutes // 60}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text


def environment(tz: tzinfo) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True,
                             # The templates ship with the code: no stat() per render.
                             auto_reload=False)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
        return "" if value is None else value.astimezone(tz).strftime(fmt)

    env.filters.update(safe_url=safe_url, n=counted, snippet=snippet, lag=lag, local=local,
                       iso=lambda v: "" if v is None else v.isoformat())
    return env


def jsonable(value: Any) -> Any:
    """``value`` with dataclasses, datetimes, dates and durations as JSON values (durations in
    seconds)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value
