"""What each quick command imports: run in a fresh interpreter, as the console script runs it,
with the modules it loaded read from sys.modules at exit. Structural, not timed (the times
are in benchmarks/timeparse_bench.py)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

#: Crawling and near-duplicate detection: seconds to import, needed by none of these commands.
CRAWL_STACK = {"scrapy", "twisted", "trafilatura", "datasketch", "scipy", "numpy"}
#: The database and the settings schema: needed to run a command, not to list them.
DATA_STACK = {"sqlalchemy", "alembic", "storage", "config", "scheduler", "crawler"}

# Runs newsmon's entry point like the console script, then writes the names of every module
# loaded to the file named by argv[1] (at exit: commands end in SystemExit).
PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["newsmon", *sys.argv[2:]]
from newsmon.cli import main
main()
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    path.write_text(yaml.safe_dump({"database_url": url, "data_dir": str(tmp_path)}),
                    encoding="utf-8")
    from storage import Store

    Store.from_url(url).close()  # reading commands open an existing database only
    return path


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """Top-level modules ``newsmon ARGS`` imported; fails if it crashed (exit status > 3)."""
    return {name.split(".")[0] for name in loaded_modules(tmp_path, *args)}


def loaded_modules(tmp_path: Path, *args: str, exits: tuple[int, ...] = (0, 3)) -> set[str]:
    """Every module ``newsmon ARGS`` imported; fails if it exits otherwise than ``exits``."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode in exits, proc.stderr  # status: 3 when no service runs
    assert "Traceback" not in proc.stderr, proc.stderr
    return set(json.loads(out.read_text(encoding="utf-8")))


@pytest.mark.parametrize("args", [
    ["--help"], ["status", "--help"], ["crawl", "--help"], ["digest", "--help"],
    ["db", "--help"], ["parse-time", "--help"],
], ids=" ".join)
def test_help_imports_neither_the_crawler_nor_the_database(tmp_path: Path,
                                                           args: list[str]) -> None:
    modules = loaded(tmp_path, *args)
    assert "newsmon" in modules and "typer" in modules
    assert modules & (CRAWL_STACK | DATA_STACK) == set()


@pytest.mark.parametrize("args", [
    ["status"], ["sources"], ["search", "tariff"], ["search", "--format", "json"],
    ["parse-time", "2 hours ago", "--now", "2026-11-25T12:00Z"],
], ids=" ".join)
def test_quick_commands_do_not_import_the_crawl_stack(tmp_path: Path, config: Path,
                                                      args: list[str]) -> None:
    found = loaded_modules(tmp_path, *args, "--config", str(config))
    modules = {name.split(".")[0] for name in found}
    assert "storage" in modules or args[0] == "parse-time"  # it did run
    assert modules & CRAWL_STACK == set()
    # The database is at the head revision: one read of alembic_version says so, no Alembic.
    assert "alembic" not in modules
    # On SQLite not SQLAlchemy's PostgreSQL dialect (and its drivers, asyncio); not the
    # other commands' modules.
    assert {m for m in found if m.startswith("sqlalchemy.dialects.postgresql")} == set()
    # Reading commands: not the write path (the writers, story filing), loaded on a write.
    assert {m for m in found if m.startswith(("storage.write", "storage.stories"))} == set()
    assert {m for m in found if m.startswith("newsmon.commands.")} == {
        f"newsmon.commands.{args[0].replace('-', '_')}"}


def test_parse_time_with_a_zone_reads_no_settings_and_no_database(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "parse-time", "Nov 24, 2026, 11:02 pm IST", "--now",
                     "2026-11-25T12:00Z", "--tz", "Asia/Kolkata")
    assert "crawler" in modules  # crawler.timeparse, and nothing else of the crawler
    assert modules & (CRAWL_STACK | {"sqlalchemy", "alembic", "storage", "config"}) == set()


def test_command_modules_names_the_modules_registering_each_command() -> None:
    from newsmon.app import app
    from newsmon.cli import COMMAND_MODULES, _load_commands

    _load_commands()
    registered: dict[str, set[str]] = {}
    for command in app.registered_commands:
        assert command.name is not None and command.callback is not None
        registered.setdefault(command.name, set()).add(command.callback.__module__)
    for group in app.registered_groups:
        sub = group.typer_instance
        assert group.name is not None and sub is not None
        callbacks = [c.callback for c in sub.registered_commands]
        if sub.registered_callback is not None:
            callbacks.append(sub.registered_callback.callback)
        registered[group.name] = {c.__module__ for c in callbacks if c is not None}
    assert {name: {f"newsmon.commands.{m}" for m in mods}
            for name, mods in COMMAND_MODULES.items()} == registered


@pytest.mark.parametrize(("args", "modules", "exit_status"), [
    (["status"], {"newsmon.commands.status"}, 3),
    (["db", "upgrade", "--help"], {"newsmon.commands.db", "newsmon.commands.db_migrate"}, 0),
    (["--help"], None, 0),  # all of them
    (["no-such-command"], None, 2),  # all of them, for Click's "No such command"
], ids=["status", "db upgrade --help", "--help", "no-such-command"])
def test_a_command_imports_only_its_own_command_modules(tmp_path: Path, config: Path,
                                                        args: list[str],
                                                        modules: set[str] | None,
                                                        exit_status: int) -> None:
    from newsmon import commands

    every = {f"newsmon.commands.{m.name}" for m in pkgutil.iter_modules(commands.__path__)}
    found = loaded_modules(tmp_path, "--config", str(config), *args, exits=(exit_status,))
    assert {m for m in found if m.startswith("newsmon.commands.")} == (modules or every)
