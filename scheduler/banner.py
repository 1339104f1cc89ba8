"""The service's first lines: what it uses and what it will do, for the person who started it.

    database sqlite:////var/lib/newsmon/newsmon.db
    configuration /etc/newsmon/settings.yaml, /etc/newsmon/sources.yaml
    18 sources; next run 2026-12-03 12:15:00 IST (economictimes-defence)
    digest daily at 07:00 Asia/Kolkata
    Ctrl-C (or SIGTERM) to stop

The database URL's password is masked (``***``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from config.schema import Settings


def masked_url(url: str) -> str:
    """``url`` with its password as ``***`` (an unparseable URL is returned as it is)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def startup_lines(settings: Settings, next_runs: Mapping[str, datetime | None]) -> list[str]:
    """The lines above, for ``next_runs`` (source name: its first run time)."""
    tz = ZoneInfo(settings.default_timezone)
    files = list(settings.files)
    files += [f for f in (settings.topics_file, settings.entities_file) if f]
    lines = [f"database {masked_url(settings.database_url)}",
             f"configuration {', '.join(files) if files else '(built-in defaults)'}"]
    n = len(next_runs)
    planned = [(when, name) for name, when in next_runs.items() if when is not None]
    noun = "source" if n == 1 else "sources"
    if planned:
        when, name = min(planned)
        lines.append(f"{n} {noun}; next run {when.astimezone(tz):%Y-%m-%d %H:%M:%S %Z} "
                     f"({name})")
    else:
        lines.append(f"{n} {noun}; no run planned")
    at = settings.scheduler.digest_time
    if at is None:
        lines.append("digest: none (set scheduler.digest_time to send one daily)")
    else:
        zone = settings.scheduler.digest_timezone or settings.default_timezone
        lines.append(f"digest daily at {at} {zone}")
    lines.append("Ctrl-C (or SIGTERM) to stop")
    return lines
