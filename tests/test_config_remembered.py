"""The configuration remembered while its files stay the same (config.remembered), and a crawl
process forked from the fork server finding it read before the fork."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from config.remembered import load_settings_remembered, remember
from scheduler.child import run_process
from scheduler.forkserver import ForkServer

SOURCES = """sources:
  - {name: alpha, kind: rss, urls: ["https://a.example/feed"]}
  - {name: second, kind: rss, urls: ["https://b.example/feed"]}
"""


def write_config(folder: Path, sources: str = SOURCES, *, age: float = 60) -> Path:
    """A settings file and its source list, last modified ``age`` seconds ago."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = folder / "settings.yaml"
    settings.write_text("database_url: sqlite:////nonexistent/x.db\n"
                        "sources_file: sources.yaml\n", encoding="utf-8")
    (folder / "sources.yaml").write_text(sources, encoding="utf-8")
    then = time.time() - age
    for file in (settings, folder / "sources.yaml"):
        os.utime(file, (then, then))
    return settings


def test_remembered_while_the_files_and_the_environment_stay_the_same(tmp_path: Path) -> None:
    settings = write_config(tmp_path / "cfg")
    env: dict[str, str] = {}
    first = remember(settings, env=env)
    assert remember(settings, env=env) is first
    assert remember(settings, env={"NEWSMON_DATABASE_URL": "sqlite:////tmp/other.db"}) \
        is not first
    # The source list changes (same age, other size): read again, and the change is seen.
    write_config(tmp_path / "cfg", SOURCES.replace("alpha", "gamma"))
    again = remember(settings, env=env)
    assert again is not first and [s.name for s in again.sources] == ["gamma", "second"]
    assert remember(settings, env=env) is again


def test_a_file_written_just_now_is_not_remembered(tmp_path: Path) -> None:
    settings = write_config(tmp_path / "cfg", age=0)
    assert remember(settings, env={}) is not remember(settings, env={})


def test_a_relative_path_is_taken_from_the_given_folder(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path / "cfg")
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    monkeypatch.delenv("NEWSMON_REDIS_URL", raising=False)
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    first = remember("cfg/settings.yaml", env=dict(os.environ), cwd=str(tmp_path))
    monkeypatch.chdir(tmp_path)
    settings, remembered = load_settings_remembered("cfg/settings.yaml")
    assert remembered and settings is first


def crawl_child(config: Path, source: str, server: ForkServer | None) -> tuple[str, ...]:
    cmd = [sys.executable, "-m", "scheduler.crawl_child", "--config", str(config),
           "--source", source, "--run-id", "1", "--log-level", "DEBUG"]
    outcome = run_process(cmd, timeout=60, terminate=threading.Event(), kill_after=1,
                          label="t", launcher=server)
    assert outcome.returncode == 2, outcome.last_lines  # no such source: before any crawl
    return outcome.last_lines


def test_a_forked_crawl_process_finds_the_configuration_read_before_the_fork(
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg")
    read_before = "__main__: configuration as read before the fork"  # the relay keeps no level
    spawned = crawl_child(config, "nosuch", None)
    assert not any(line.startswith(read_before) for line in spawned), spawned
    server = ForkServer()
    try:
        server.start()
        forked = crawl_child(config, "nosuch", server)
        assert any(line.startswith(read_before) for line in forked), forked
        assert "__main__: no source named 'nosuch' in the configuration" \
            in forked
        # The source list changes: the server reads it again before the next fork, so the
        # process sees the new list, never the one remembered before.
        write_config(tmp_path / "cfg", SOURCES.replace("alpha", "gamma"))
        after = crawl_child(config, "alpha", server)
        assert "__main__: no source named 'alpha' in the configuration" \
            in after, after
        assert any(line.startswith(read_before) for line in after), after
    finally:
        server.close()


def test_topics_and_gazetteer_are_compiled_once_while_their_file_is_unchanged(
        tmp_path: Path) -> None:
    from config.loader import PACKAGED_SETTINGS
    from crawler.entities import Gazetteer

    packaged = PACKAGED_SETTINGS.with_name("entities.yaml").read_text(encoding="utf-8")
    entities = tmp_path / "entities.yaml"
    entities.write_text(packaged, encoding="utf-8")
    then = time.time() - 60
    os.utime(entities, (then, then))
    first = Gazetteer.load(entities)
    assert Gazetteer.load(entities) is first
    assert Gazetteer.load(str(entities)) is first  # the same file, however it is named
    # Changed (and a minute old again): compiled anew, with the change.
    entities.write_text(packaged + "\n", encoding="utf-8")
    os.utime(entities, (then, then))
    again = Gazetteer.load(entities)
    assert again is not first and Gazetteer.load(entities) is again
    # Written just now: never remembered, it may still be being written.
    entities.write_text(packaged, encoding="utf-8")
    assert Gazetteer.load(entities) is not Gazetteer.load(entities)
