"""What the CLI commands share: the --config option, loading settings, opening the store.

Every command module imports this one, and ``newsmon --help`` imports every command module:
the settings schema and the store are imported where they are used, not here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from config import Settings
    from storage import Store

# Piped or redirected, text is not wrapped at 80 columns: whoever reads it wraps it.
console = Console(soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings YAML (default: $NEWSMON_CONFIG, "
                 "else the packaged config/settings.yaml).", show_default=False),
]
VerboseOption = Annotated[int, typer.Option("--verbose", "-v", count=True,
                                            help="More log output (-v info, -vv debug).")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (2: bad usage or configuration)."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def setup_logging(verbose: int) -> None:
    """WARNING (-v INFO, -vv DEBUG) to stderr; a failed fetch is one line, tracebacks only
    for bugs or at DEBUG (crawler/logs.py)."""
    from crawler.logs import prepare_handler

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr)
    root = logging.getLogger()
    root.setLevel(level)
    # Scrapy sets its own loggers to DEBUG when a crawl starts; their records reach the root
    # handlers whatever the root logger's level, so the handlers filter too.
    for handler in root.handlers:
        prepare_handler(handler, level)


def exec_lean(module: str, config: Path | None, verbose: int, log_file: Path | None,
              extra: list[str] | None = None) -> NoReturn:
    """Replace this process (same pid, for systemd) with ``python -m module``, which imports
    only what a long-running process needs, not the CLI and what its command has loaded."""
    import os

    argv = [sys.executable, "-m", module]
    if config is not None:
        argv += ["--config", str(config.resolve())]
    argv += extra or []
    argv += ["-v"] * verbose
    if log_file is not None:
        argv += ["--log-file", str(log_file.resolve())]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def settings_from(config: Path | None) -> Settings:
    """Load and validate the settings, the sources, the topics and the entity gazetteer."""
    from config import ConfigError, load_settings
    from crawler.entities import Gazetteer
    from crawler.topics import Taxonomy

    try:
        settings = load_settings(config)
        Taxonomy.load(settings.topics_file)
        Gazetteer.load(settings.entities_file)
    except ConfigError as exc:
        fail(str(exc), 2)
    return settings


def open_store(settings: Settings, *, create: bool = False, **engine_kwargs: Any) -> Store:
    """Open the configured database. Only the commands that fill a database (``run``,
    ``crawl``, ``demo``, ``db upgrade``) pass ``create=True``: for every other command a
    SQLite file that does not exist is an error (exit 2) that names the path, never a new
    empty database that answers "no articles match"."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage import MissingDatabase, StorageError, Store

    try:
        return Store.from_url(settings.database_url, create=create, **engine_kwargs)
    except MissingDatabase as exc:
        fail(f"{exc}.\nCheck --database, database_url in the settings or "
             "$NEWSMON_DATABASE_URL; a new "
             "database is created by `newsmon run`, `newsmon crawl` or `newsmon db upgrade`.",
             2)
    except (StorageError, ImportError) as exc:
        fail(f"{exc}\nFix database_url in the settings or $NEWSMON_DATABASE_URL.", 2)
    except SQLAlchemyError as exc:
        fail(f"cannot open the database {settings.database_url!r}: {exc.__class__.__name__}: "
             f"{exc.orig if hasattr(exc, 'orig') else exc}\nIs the server running, and is "
             "the URL right (database_url or $NEWSMON_DATABASE_URL)?", 1)
