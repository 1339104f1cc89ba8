"""What the distributed tests share: a Redis queue of their own, cleaned afterwards, settings
for the sample site on it, and ``newsmon worker`` subprocesses.

Redis: ``$NEWSMON_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``). Each test gets a
queue name of its own; every key that names it (tasks, results, locks, registries) and the
keys of the workers that served it are deleted at the end. A test module uses the fixtures by
importing ``queue_name_fixture`` and ``procs_fixture`` (registered as ``queue_name``, ``procs``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.sample_site import SampleSite, render_sources

REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
NEWSMON = str(Path(sys.executable).with_name("newsmon"))


def newsmon_argv(command: str, config: Path | str, *args: str) -> list[str]:
    """``newsmon COMMAND --config PATH ...`` through the console script, as the tests (and the
    compose file, see tests/test_deploy_files.py) run it."""
    return [NEWSMON, command, "--config", str(config), *args]


def redis_unavailable() -> str | None:
    """None if Redis answers at REDIS_URL, else why not."""
    try:
        from redis import Redis

        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure means: no usable server here
        return (f"no Redis at {REDIS_URL} ({exc.__class__.__name__}); start it (make "
                "services) or set NEWSMON_TEST_REDIS_URL")
    return None


def clean_queue(queue: str) -> None:
    """Delete every key of ``queue`` and of the workers registered on it."""
    from redis import Redis

    r = Redis.from_url(REDIS_URL)
    workers = [m.decode() for m in r.smembers(f"rq:workers:{queue}")]
    keys = set(r.scan_iter(match=f"*{queue}*", count=1000))
    for w in workers:
        keys.update(r.scan_iter(match=f"*{w.removeprefix('rq:worker:')}*", count=1000))
        r.srem("rq:workers", w)
    if keys:
        r.delete(*keys)
    r.srem("rq:queues", f"rq:queue:{queue}")
    r.close()


@pytest.fixture(name="queue_name")
def queue_name_fixture() -> Iterator[str]:
    """A fresh queue name on the test Redis (skips with the reason if there is none)."""
    why = redis_unavailable()
    if why:
        pytest.skip(why)
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    clean_queue(name)


def write_settings(folder: Path, site: SampleSite, database_url: str, queue: str,
                   sources: dict[str, dict[str, Any]] | None = None,
                   **sections: Any) -> Path:
    """A settings file for the sample site on ``queue``; ``sources`` picks and adjusts sources
    by name (default: all of them)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundled = yaml.safe_load(render_sources(site.base_url))["sources"]
    chosen = [{**e, **(sources or {}).get(e["name"], {})} for e in bundled
              if sources is None or e["name"] in sources]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": chosen}))
    settings: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(folder),
        "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                  "download_timeout": "20s", "source_timeout": "60s"},
        "scheduler": {"heartbeat_interval": "1s", "grace_period": "2s", "kill_after": "2s",
                      "max_parallel": 4},
        "distributed": {"redis_url": REDIS_URL, "queue": queue, "visibility_timeout": "4s",
                        "max_retries": 2},
        "sources_file": "sources.yaml",
    }
    for key, value in sections.items():
        settings[key] = {**settings.get(key, {}), **value}
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


class Proc:
    """A newsmon subprocess whose output goes to a log file (shown by failing asserts)."""

    def __init__(self, cmd: list[str], log: Path) -> None:
        self.log = log
        self.fh = log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=self.fh, stderr=subprocess.STDOUT,
                                     env={k: v for k, v in os.environ.items()
                                          if not k.startswith("NEWSMON_")})
        self.pid = self.proc.pid

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.fh.close()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(name="procs")
def procs_fixture(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """Start newsmon subprocesses: ``procs("worker", config)``; all stopped at the end."""
    started: list[Proc] = []

    def start(command: str, config: Path, *args: str) -> Proc:
        if command == "run":  # the lean service entry, as tests/test_scheduler_service.py
            cmd = [sys.executable, "-m", "newsmon.commands.run", "--config", str(config), *args]
        else:
            cmd = newsmon_argv(command, config, *args)
        p = Proc(cmd, tmp_path / f"{command}-{len(started)}.log")
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            try:
                p.stop(timeout=20)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
