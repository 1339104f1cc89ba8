"""newsmon run: the background service — every enabled source on its own timetable."""

from __future__ import annotations

import importlib.util
import logging
import logging.handlers
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.app import app
from newsmon.options import (
    ConfigOption,
    VerboseOption,
    exec_lean,
    fail,
    open_store,
    settings_from,
)

if TYPE_CHECKING:
    from config import Settings


def service_level(settings: Settings, verbose: int, quiet: bool) -> int:
    """-v: DEBUG; --quiet: WARNING; else scheduler.log_level (default INFO)."""
    if verbose:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    return logging.getLevelNamesMapping()[settings.scheduler.log_level.upper()]


def setup_service_logging(settings: Settings, verbose: int, log_file: Path | None,
                          quiet: bool = False, log_format: str | None = None) -> int:
    """The service's log to stderr, and to a rotating file if one is configured, at
    :func:`service_level`, as text lines or JSON (--log-format, scheduler.log_format).
    Returns the level."""
    from crawler.logs import prepare_handler

    level = service_level(settings, verbose, quiet)
    fmt = log_format or settings.scheduler.log_format
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(prepare_handler(logging.StreamHandler(sys.stderr), level, fmt))
    path = log_file
    if path is None and settings.scheduler.log_file:
        path = Path(settings.scheduler.log_file)
        if not path.is_absolute():
            path = Path(settings.data_dir) / path
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=settings.scheduler.log_max_bytes,
                backupCount=settings.scheduler.log_backups, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write the log file {path}: {exc}\nFix scheduler.log_file or "
                 "--log-file.", 2)
        root.addHandler(prepare_handler(handler, level, fmt))
    # APScheduler says "Running job ..." for every run, Alembic a line per start; ours say more.
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return level


def _digest_command(config: Path | None) -> list[str] | None:
    """``newsmon digest --daily [--config PATH]`` if this installation has a digest command
    (it writes the day's files and emails them as the settings say)."""
    if importlib.util.find_spec("newsmon.commands.digest") is None:
        return None
    cmd = [sys.executable, "-m", "newsmon", "digest", "--daily"]
    return cmd + (["--config", str(config)] if config is not None else [])


LogFileOption = Annotated[Path | None, typer.Option(
    "--log-file", help="Also log to this file, rotated (default: scheduler.log_file).",
    show_default=False)]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Log only warnings and errors (failed runs, stops).")]


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


LogFormatOption = Annotated[LogFormat | None, typer.Option(
    "--log-format", case_sensitive=False, show_default=False,
    help="text lines, or json: one object a line, for journald or docker compose "
    "(default: scheduler.log_format, text).")]


@app.command("run")
def run_command(
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    log_file: LogFileOption = None,
    quiet: QuietOption = False,
    log_format: LogFormatOption = None,
) -> None:
    """Run the background service: crawl every enabled source on its own schedule, each run in
    its own process with a hard timeout, until stopped.

    SIGTERM or Ctrl+C stops new runs and lets running ones finish within
    scheduler.grace_period; a second signal stops them at once (they are recorded as
    interrupted). Only one service may run per database: a second one exits with status 1.
    Applies pending database migrations first. See 'newsmon status', 'newsmon sources' and
    'newsmon runs'.

    Example: newsmon run --config /etc/newsmon/settings.yaml --log-file /var/log/newsmon.log
    """
    settings = settings_from(config)  # a bad configuration fails here, like elsewhere
    if not settings.enabled_sources():
        fail("no enabled sources to schedule: add sources to the sources file or enable one", 2)
    # The service runs for months: it replaces this process (same pid, for systemd) with one
    # that imports only the scheduler, not the CLI and whatever its commands have loaded.
    extra = ["--quiet"] if quiet else []
    extra += ["--log-format", log_format.value] if log_format else []
    exec_lean("newsmon.commands.run", config, verbose, log_file, extra)


def serve(
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    log_file: LogFileOption = None,
    quiet: QuietOption = False,
    log_format: LogFormatOption = None,
) -> None:
    """The service itself (``python -m newsmon.commands.run``, what ``newsmon run`` execs)."""
    from scheduler.lock import LockHeld, LockLost
    from scheduler.service import Service
    from storage.scheduler_store import SchedulerStore

    settings = settings_from(config)
    level = setup_service_logging(settings, verbose, log_file, quiet,
                                  log_format.value if log_format else None)
    if not settings.enabled_sources():
        fail("no enabled sources to schedule: add sources to the sources file or enable one", 2)
    store = open_store(settings, create=True)
    queue_errors: tuple[type[Exception], ...] = ()
    if settings.distributed.redis_url is not None:
        try:
            from scheduler.distributed import DistributedError
        except ImportError as exc:
            fail(str(exc), 2)
        queue_errors = (DistributedError,)
    try:
        service = Service(settings, SchedulerStore(store.engine), config_path=config,
                          digest_command=_digest_command(config),
                          child_log_level=logging.DEBUG if level <= logging.DEBUG
                          else logging.WARNING)
        service.run()
    except (LockHeld, LockLost) as exc:
        fail(str(exc), 1)
    except queue_errors as exc:
        fail(f"{exc}\nIs Redis running, and is distributed.redis_url (or $NEWSMON_REDIS_URL) "
             "right?", 1)
    finally:
        store.close()


if __name__ == "__main__":
    typer.run(serve)
