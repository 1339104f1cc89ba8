"""Logs for people (issue 22, item 1): a failed fetch is one WARNING line naming the source, the
URL, the reason and the retries; tracebacks of network errors only with -vv; the service's first
lines say what it uses; ``run --quiet`` and ``run --log-format json``. Real ``newsmon``
processes against a port on 127.0.0.1 that refuses connections."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from crawler.logs import FetchNoiseFilter, JsonFormatter
from scheduler.banner import masked_url

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, port: int, **scheduler: object) -> Path:
    sources = [{"name": "refused", "kind": "rss", "urls": [f"http://127.0.0.1:{port}/feed.xml"],
                "timezone": "UTC", "schedule": {"interval": "1h"}}]
    settings = {"database_url": f"sqlite:///{tmp_path / 'logs.db'}", "sources": sources,
                "contact_url": "https://newsmon.example.org/contact",
                "default_timezone": "UTC",
                "crawl": {"download_delay": 0, "autothrottle": False, "retries": 1},
                "scheduler": {"digest_time": "07:00", **scheduler}}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def env() -> dict[str, str]:
    out = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    out.pop("NEWSMON_DATABASE_URL", None)
    out.pop("NEWSMON_CONFIG", None)
    return out


def test_a_failed_fetch_is_one_warning_line_and_its_traceback_needs_vv(tmp_path: Path) -> None:
    port = closed_port()
    config = write_config(tmp_path, port)
    result = subprocess.run([NEWSMON, "crawl", "--config", str(config)], env=env(),
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = [STAMP.sub("", line) for line in result.stderr.splitlines()]
    assert lines == [f"WARNING crawler.spiders.base: refused: http://127.0.0.1:{port}/feed.xml: "
                     "connection refused (retried 1 time)"], result.stderr

    verbose = subprocess.run([NEWSMON, "crawl", "-vv", "--config", str(config)], env=env(),
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "Gave up retrying" in verbose.stderr


def _serve(config: Path, *args: str, until: str, timeout: float = 60) -> str:
    """Start the service, wait for ``until`` in its log, stop it with SIGINT; its log."""
    log = config.with_name(f"run-{len(args)}.log")
    with log.open("wb") as fh:
        proc = subprocess.Popen([NEWSMON, "run", "--config", str(config), *args], env=env(),
                                stdout=fh, stderr=subprocess.STDOUT, cwd=config.parent)
        try:
            deadline = time.monotonic() + timeout
            while until not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return log.read_text()


def test_the_service_says_what_it_uses_first_and_how_to_stop(tmp_path: Path) -> None:
    config = write_config(tmp_path, closed_port())
    out = _serve(config, until="run 1 failed")
    lines = [STAMP.sub("", line) for line in out.splitlines()]
    assert lines[:2] == [f"INFO scheduler.service: database sqlite:///{tmp_path / 'logs.db'}",
                         f"INFO scheduler.service: configuration {config}"], out
    assert re.fullmatch(r"INFO scheduler\.service: 1 source; next run "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(refused\)", lines[2]), out
    assert lines[3:5] == ["INFO scheduler.service: digest daily at 07:00 UTC",
                          "INFO scheduler.service: Ctrl-C (or SIGTERM) to stop"], out
    assert "Traceback" not in out


def test_run_quiet_logs_only_warnings(tmp_path: Path) -> None:
    config = write_config(tmp_path, closed_port())
    out = _serve(config, "--quiet", until="run 1 failed")
    levels = {STAMP.sub("", line).split(" ", 1)[0] for line in out.splitlines()}
    assert levels == {"WARNING"}, out


def test_run_log_format_json_writes_one_object_a_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, closed_port(), log_format="json")
    out = _serve(config, until="run 1 failed")
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["message"].startswith("database sqlite:///")
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["level"] == "WARNING" and "connection refused (retried 1 time)"
               in r["message"] for r in records), out


def test_the_database_password_is_masked() -> None:
    assert masked_url("postgresql+psycopg://news:s3cret@db:5432/news") == \
        "postgresql+psycopg://news:***@db:5432/news"
    assert masked_url("sqlite:////var/lib/newsmon/newsmon.db") == \
        "sqlite:////var/lib/newsmon/newsmon.db"


def test_a_bug_keeps_its_traceback_and_json_carries_it() -> None:
    try:
        raise KeyError("title")
    except KeyError:
        record = logging.LogRecord("crawler.pipelines.extract", logging.ERROR, __file__, 1,
                                   "extraction failed", None, sys.exc_info())
    assert FetchNoiseFilter().filter(record)
    assert record.exc_info is not None
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert "KeyError: 'title'" in line["traceback"]
