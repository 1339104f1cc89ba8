"""Console entry point: imports the command modules so they register, then runs the app.

``newsmon COMMAND`` imports only the module(s) registering COMMAND (:data:`COMMAND_MODULES`),
so Typer builds one command's options, not every command's; ``newsmon --help`` and a name
that is no command import them all. The command modules are cheap to import: each imports
its heavy dependencies (Scrapy, the database, the settings schema) in the command itself;
tests/test_cli_startup.py holds them to it."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from newsmon import commands
from newsmon.app import app

#: The modules of newsmon.commands that register each top-level command or group (a test
#: checks this against what importing them all registers).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "alerts": ("alerts",), "watch": ("alerts",), "crawl": ("crawl",), "db": ("db", "db_migrate"),
    "demo": ("demo",), "digest": ("digest",), "export": ("export",), "extract": ("extract",),
    "parse-time": ("parse_time",), "reprocess": ("reprocess",), "run": ("run",),
    "runs": ("runs",), "search": ("search",), "serve": ("serve",), "show": ("show",),
    "sources": ("sources",), "stats": ("stats",), "status": ("status",),
    "worker": ("worker",), "workers": ("workers",),
}


def _load_commands(command: str | None = None) -> None:
    """Import the modules registering ``command`` (None, or a name that is no command:
    every command module, as ``newsmon --help`` and "No such command" need)."""
    names = COMMAND_MODULES.get(command or "") or tuple(
        mod.name for mod in pkgutil.iter_modules(commands.__path__))
    for name in names:
        importlib.import_module(f"{commands.__name__}.{name}")


def command_name(argv: Sequence[str]) -> str | None:
    """The command ``argv`` (without the global options) names; None if it starts with an
    option (``--help``) or is empty."""
    return argv[0] if argv and not argv[0].startswith("-") else None


#: Options every command takes, before or after its name: option -> environment variable.
GLOBAL_OPTIONS = {"--database": "NEWSMON_DATABASE_URL", "--config": "NEWSMON_CONFIG",
                  "-c": "NEWSMON_CONFIG"}


def global_options(argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``argv`` without the global options, and the environment they set.

    ``--database URL`` anywhere (before ``--``) sets $NEWSMON_DATABASE_URL, which wins over
    the settings' database_url; ``--config PATH`` (or ``-c``) before the command name sets
    $NEWSMON_CONFIG (after it, it is the command's own --config, with the same meaning)."""
    out: list[str] = []
    env: dict[str, str] = {}
    seen_command = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out += argv[i:]
            break
        name, eq, value = arg.partition("=")
        is_global = name == "--database" or (not seen_command and name in GLOBAL_OPTIONS)
        if is_global and (eq or i + 1 < len(argv)):
            if not eq:
                value = argv[i + 1]
                i += 1
            env[GLOBAL_OPTIONS[name]] = (str(os.path.abspath(value))
                                         if name != "--database" else value)
        else:
            if not arg.startswith("-"):
                seen_command = True
            out.append(arg)
        i += 1
    return out, env


@app.callback()
def _global(
    database: Annotated[str | None, typer.Option(
        "--database", help="Database URL for this command (before or after its name); wins "
        "over database_url and $NEWSMON_DATABASE_URL. Four slashes for an absolute SQLite "
        "path: sqlite:////var/lib/newsmon/newsmon.db.", show_default=False)] = None,
    config: Annotated[str | None, typer.Option(
        "--config", "-c", help="Settings YAML for this command (before or after its name; "
        "default: $NEWSMON_CONFIG, else the packaged config/settings.yaml).",
        show_default=False)] = None,
) -> None:
    """Scheduled news monitoring for defence and trade news."""
    # Never set here: main() takes these options out of the command line (see global_options).


def main() -> None:
    argv, env = global_options(sys.argv[1:])
    os.environ.update(env)
    _load_commands(command_name(argv))
    app(args=argv, prog_name="newsmon")


if __name__ == "__main__":
    main()
