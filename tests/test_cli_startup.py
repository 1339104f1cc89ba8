"""What each quick command imports: run in a fresh interpreter, as the console script runs it,
with the modules it loaded read from sys.modules at exit. Structural, not timed (the times
are in benchmarks/timeparse_bench.py)."""

from __future__ import annotations

import json
import os
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

# Runs newsmon's entry point like the console script, then writes the top-level names of
# every module loaded to the file named by argv[1] (at exit: commands end in SystemExit).
PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(
    {name.split(".")[0] for name in sys.modules}))))
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
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 3), proc.stderr  # status: 3 when no service runs
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
    modules = loaded(tmp_path, *args, "--config", str(config))
    assert "storage" in modules or args[0] == "parse-time"  # it did run
    assert modules & CRAWL_STACK == set()


def test_parse_time_with_a_zone_reads_no_settings_and_no_database(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "parse-time", "Nov 24, 2026, 11:02 pm IST", "--now",
                     "2026-11-25T12:00Z", "--tz", "Asia/Kolkata")
    assert "crawler" in modules  # crawler.timeparse, and nothing else of the crawler
    assert modules & (CRAWL_STACK | {"sqlalchemy", "alembic", "storage", "config"}) == set()
