"""A mistyped SQLite path given to a reading command: it exits 2 naming the path and writes
nothing (no empty database, no folders); only the commands that fill a database create one.
Real ``newsmon`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

NEWSMON = str(Path(sys.executable).with_name("newsmon"))

#: Every command that only reads the database, with the arguments it needs.
READERS = (
    ("search", ["search", "tariff"]),
    ("stats", ["stats"]),
    ("show", ["show", "1"]),
    ("export", ["export", "--format", "jsonl"]),
    ("digest", ["digest"]),
    ("runs", ["runs"]),
    ("sources", ["sources"]),
    ("status", ["status"]),
    ("reprocess", ["reprocess"]),
    ("db index", ["db", "index"]),
)


def _newsmon(args: list[str], config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("NEWSMON_DATABASE_URL", None)
    return subprocess.run([NEWSMON, *args, "--config", str(config)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _config(tmp_path: Path, db: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": f"sqlite:///{db}", "sources": []}))
    return path


@pytest.mark.parametrize(("name", "args"), READERS, ids=[n for n, _ in READERS])
def test_a_reading_command_on_a_missing_sqlite_file_exits_2_and_creates_nothing(
        name: str, args: list[str], tmp_path: Path, record: Callable[..., None]) -> None:
    db = tmp_path / "typo" / "nested" / "newsmon.db"
    result = _newsmon(args, _config(tmp_path, db), tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first == f"Error: no SQLite database at {db}: the file does not exist.", \
        result.stderr
    assert "newsmon db upgrade" in result.stderr
    assert not (tmp_path / "typo").exists(), "the command created the database's folder"
    record("integrity", f"`newsmon {name}` on a SQLite path that does not exist",
           f"exit 2: {first.removeprefix('Error: ')}; no file or folder is created")


def test_db_upgrade_creates_the_missing_database(tmp_path: Path,
                                                 record: Callable[..., None]) -> None:
    db = tmp_path / "new" / "newsmon.db"
    config = _config(tmp_path, db)
    result = _newsmon(["db", "upgrade"], config, tmp_path)
    assert result.returncode == 0, result.stderr
    assert db.is_file()
    stats = _newsmon(["stats"], config, tmp_path)
    assert stats.returncode == 0, stats.stderr
    record("integrity", "`newsmon db upgrade` on a SQLite path that does not exist",
           "creates the folder and the database at the newest revision; reading commands "
           "then open it")


def test_a_database_url_of_an_unsupported_kind_exits_2_naming_what_works(
        tmp_path: Path, record: Callable[..., None]) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": "mysql://user@db.example/news",
                                      "sources": []}))
    result = _newsmon(["stats"], config, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first == ("Error: database URL 'mysql://user@db.example/news': newsmon stores into "
                     "SQLite (sqlite:///relative/path.db or sqlite:////absolute/path.db) or "
                     "PostgreSQL (postgresql://user@host/db), not mysql"), result.stderr
    assert "psycopg" not in result.stderr
    record("config", "`database_url: mysql://…`", first.removeprefix("Error: "))
