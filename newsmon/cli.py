"""Console entry point: imports every command module so it registers, then runs the app.

The command modules are cheap to import (``newsmon --help`` imports them all): each imports
its heavy dependencies (Scrapy, the database, the settings schema) in the command itself;
tests/test_cli_startup.py holds them to it."""

from __future__ import annotations

import importlib
import pkgutil

from newsmon import commands
from newsmon.app import app


def _load_commands() -> None:
    for mod in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{mod.name}")


def main() -> None:
    _load_commands()
    app()


if __name__ == "__main__":
    main()
