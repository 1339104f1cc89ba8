"""Service-level faults: the database refusing connections while ``newsmon run`` (the real
service, in a subprocess, on the local sample site) drives the crawls, and a full disk under
the daily digest's files."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from config import load_settings
from crawler.sample_site import SampleSite, render_sources
from digest import daily as daily_mod
from digest.daily import run_daily
from faults.harness import PG_ADMIN_URL, throwaway_pg
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from storage import Store
from storage.scheduler_store import RunView, SchedulerStore

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
SOURCE = "bharat-defence-wire"
DAY = date(2026, 11, 24)


def _wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from throwaway_pg()


def _write_settings(folder: Path, db_url: str, site: SampleSite, interval: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bundled = yaml.safe_load(render_sources(site.base_url))["sources"]
    chosen = [{**e, "schedule": {"interval": interval}} for e in bundled if e["name"] == SOURCE]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": chosen}))
    settings = {
        "database_url": db_url, "data_dir": str(folder), "sources_file": "sources.yaml",
        "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                  "download_timeout": "10s", "source_timeout": "30s"},
        "scheduler": {"heartbeat_interval": "1s", "grace_period": "5s", "kill_after": "2s"},
    }
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _finished(sched: SchedulerStore) -> list[RunView]:
    return [r for r in sched.runs(SOURCE, 500) if r.status != "running"]


def test_database_refuses_connections_while_the_service_runs(
        tmp_path: Path, site: SampleSite, pg_url: str,
        record: Callable[..., None]) -> None:
    config = _write_settings(tmp_path / "cfg", pg_url, site, "2s")
    Store.from_url(pg_url).close()  # migrated first, so the test can poll from the start
    name = make_url(pg_url).database
    assert name
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    log = tmp_path / "service.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([NEWSMON, "run", "--config", str(config)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        # The service itself has logged an ok run: the fault starts between two runs.
        _wait_for(lambda: OK_LINE.search(log.read_text(errors="replace")), 60,
                  "the service to log its first ok run")
        before = _runs(pg_url)
        cut_at = datetime.now(UTC)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
        outage_from = log.stat().st_size
        time.sleep(7)  # three or four scheduled runs at 2 s
        alive_during = proc.poll() is None
        outage_log = log.read_bytes()[outage_from:].decode(errors="replace")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        back = datetime.now(UTC)
        assert alive_during, log.read_text(errors="replace")
        later = _wait_for(lambda: [r for r in _runs(pg_url) if r.status == "ok"
                                   and _utc(r.started) > back], 40,
                          "an ok run after the database came back")[-1]
        assert proc.poll() is None, log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        admin.dispose()
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert "newsmon scheduler stopped" in output

    # What explains the outage: the service's log, once per scheduled run, and — once the
    # database is back — a failed crawl_runs row for each run that could not start.
    missed_line = (f"ERROR scheduler.service: {SOURCE}: database unavailable, the run could "
                   "not start")
    unsupervised = outage_log.count(missed_line)
    assert unsupervised >= 2, outage_log
    refused = f'FATAL:  database "{name}" is not currently accepting connections'
    assert refused in outage_log
    assert "cannot write the heartbeat (will retry)" in outage_log
    runs = _runs(pg_url)
    known = {r.id for r in before}
    new = [r for r in runs if r.id not in known]
    # A run already under way at the cut (the next tick can come right after the ok line)
    # is the crawl-level case covered in test_faults_process; no run due in the outage
    # left a row.
    missed = [r for r in new if r.first_error and r.first_error.startswith(
        "database unavailable, the run could not start")]
    assert len(missed) == unsupervised, [(r.id, r.status, r.first_error) for r in new]
    assert all(r.status == "failed" and cut_at <= _utc(r.started) <= back for r in missed)
    assert refused in (missed[0].first_error or "")
    in_flight = [r for r in new if r.status != "ok" and r not in missed]
    assert all(_utc(r.started) < cut_at for r in in_flight), [
        (r.id, r.status, r.started, r.first_error) for r in new]
    assert later.finished is not None and later.requests > 0
    store = Store.from_url(pg_url, migrate=False)
    try:
        state = SchedulerStore(store.engine).states()[SOURCE]
    finally:
        store.close()
    assert state.consecutive_failures == 0 and state.last_status == "ok", state
    lock_line = "lost the connection holding the scheduler's advisory lock; taking it again"
    record("process", "the database refuses connections for 7 s while `newsmon run` (the "
           "service, in its own process) drives a source every 2 s (PostgreSQL: "
           "ALLOW_CONNECTIONS false, sessions terminated)",
           "the service stayed up; each run due in the outage logged an ERROR ('<source>: "
           "database unavailable, the run could not start: …') and the heartbeat 'cannot "
           "write the heartbeat (will retry)'"
           + (f" and '{lock_line}'" if lock_line in output else "")
           + f"; once the database was back, each of those {unsupervised} runs was recorded "
           "in crawl_runs as failed with that message, and the next run was ok (failure "
           "streak back to 0); SIGTERM: exit 0",
           status="failed (recorded when back), then ok",
           first_error=(missed[0].first_error or "").replace(name, "<db>"),
           stored="—")


OK_LINE = re.compile(rf"{SOURCE}: run \d+ ok in ")


def _runs(url: str) -> list[RunView]:
    store = Store.from_url(url, migrate=False)
    try:
        return SchedulerStore(store.engine).runs(SOURCE, 500)
    finally:
        store.close()


def _digest_settings(tmp_path: Path) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": []}))
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db, "data_dir": str(tmp_path),
                                    "sources_file": "sources.yaml"}))
    Store.from_url(db).close()
    return path


def test_digest_output_path_is_a_symlink_to_dev_full(
        tmp_path: Path, record: Callable[..., None]) -> None:
    settings = load_settings(_digest_settings(tmp_path), env={})
    digests = tmp_path / "digests"
    digests.mkdir()
    md = digests / f"{DAY.isoformat()}.md"
    md.symlink_to("/dev/full")
    store = Store.from_url(settings.database_url, migrate=False)
    try:
        result = run_daily(settings, store, DAY)
    finally:
        store.close()
    # The write goes to a temporary file beside it, renamed over the path: the link is
    # replaced, never written through, so /dev/full is never reached.
    assert result.ok and result.files == [md, digests / f"{DAY.isoformat()}.html"]
    assert not md.is_symlink() and md.read_text(encoding="utf-8").strip()
    assert sorted(p.name for p in digests.iterdir()) == [f"{DAY}.html", f"{DAY}.md"]
    record("process", "disk full for the digest (`run_daily`): the day's .md file is a "
           "symlink to /dev/full",
           "no error: the file is written to a temporary file beside it and renamed over "
           "the link, so the link is replaced by the real digest and /dev/full is never "
           "written; no temporary file left", status="ok", stored="—")


def test_digest_write_fails_with_no_space_left_on_device(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: Callable[..., None]) -> None:
    config = _digest_settings(tmp_path)
    digests = tmp_path / "digests"
    real_mkstemp = tempfile.mkstemp
    made: list[str] = []

    def full_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        """The real temporary file, its descriptor pointed at /dev/full: every write to it
        fails in the kernel with ENOSPC, as on a full disk."""
        fd, path = real_mkstemp(*args, **kwargs)
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, fd)
        os.close(full)
        made.append(path)
        return fd, path

    # Only the digest module sees it: tempfile itself is left alone.
    monkeypatch.setattr(daily_mod, "tempfile", SimpleNamespace(mkstemp=full_mkstemp))
    load_commands()
    res = CliRunner().invoke(app, ["digest", "--daily", "--date", DAY.isoformat(),
                                   "--config", str(config)])
    message = " ".join(res.stderr.split())
    assert res.exit_code == 1, res.output
    expected = (f"Error: digest of {DAY} not written: OSError: [Errno 28] No space left on "
                f"device: '{digests / f'{DAY}.md'}'")
    assert message == expected
    assert os.strerror(errno.ENOSPC) in message
    assert made and made[0].startswith(str(digests / f".{DAY}.md."))
    assert list(digests.iterdir()) == []  # the temporary file removed; nothing at the path
    names_file = f"{DAY}.md" in message
    record("process", "disk full for the digest (`newsmon digest --daily`): every write to "
           "the digest's temporary file fails with ENOSPC (its descriptor pointed at "
           "/dev/full)",
           "exit status 1; the temporary file removed and nothing written at "
           f"{DAY}.md or .html; the message "
           + ("names the file" if names_file else "does NOT name the file it could not write"),
           status="exit 1", first_error=message, stored="—")


def test_the_service_keeps_running_when_its_digest_job_finds_the_disk_full(
    tmp_path: Path, sample_site: SampleSite, record: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service's own digest job (a real `newsmon digest --daily` child process) writes
    into a data directory on a full filesystem (a 64 KiB tmpfs, filled); the job fails with
    a logged error and the same service then runs a crawl as usual."""
    import logging

    from scheduler.service import Service

    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill here: {mounted.stderr.strip()}")
    try:
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        (tmp_path / "sources.yaml").write_text(render_sources(sample_site.base_url))
        config = tmp_path / "settings.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": f"sqlite:///{tmp_path / 'svc.db'}", "data_dir": str(full),
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "scheduler": {"digest_time": "07:00"}, "sources_file": "sources.yaml"}))
        settings = load_settings(config, env={})
        store = Store.from_url(settings.database_url)
        service = Service(settings, SchedulerStore(store.engine), config_path=config,
                          digest_command=[sys.executable, "-m", "newsmon", "digest", "--daily",
                                          "--date", DAY.isoformat(), "--config", str(config)])
        with caplog.at_level(logging.INFO, logger="scheduler.service"):
            service._run_digest()  # the job the scheduler fires; must not raise
        failed = [r.getMessage() for r in caplog.records
                  if r.name == "scheduler.service" and r.levelno == logging.ERROR]
        assert len(failed) == 1 and failed[0].startswith("digest: "), caplog.text
        assert not (full / "digests" / f"{DAY}.md").exists()

        # The same service goes on: its next crawl run is ok and stored articles.
        service._run_source("bharat-defence-wire")
        (run,) = SchedulerStore(store.engine).runs("bharat-defence-wire", limit=5)
        assert run.status == "ok" and run.new > 0, run
        store.close()
    finally:
        subprocess.run(["umount", str(full)], check=False)
    record("process", "disk full while the service runs its daily digest job (a real "
           "`newsmon digest --daily` child writing to a filled 64 KiB tmpfs)",
           f"the job logged '{failed[0]}' and returned; nothing written at {DAY}.md; the same "
           "service's next crawl run was ok", status="digest failed, service ok",
           first_error=failed[0], stored=str(run.new))
