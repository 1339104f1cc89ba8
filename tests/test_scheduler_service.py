"""The real service (``newsmon run`` in a subprocess) against the local sample site.

Intervals are in seconds and every wait polls the database against a deadline, so the file
runs in well under a minute. Each test covers one promise of the service: runs fire and leave
history, one service per database, a restart keeps the timetable, a hanging source is killed
at its timeout while the others go on, SIGTERM interrupts cleanly, failures back off.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from distributed_support import wait_for
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from crawler.sample_site import SampleSite, render_sources
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from storage import ArticleRecord, Store, search_index
from storage.models import Article, ArticleURL, ArticleVersion, CrawlRun
from storage.scheduler_store import RunView, SchedulerStore
from storage.search import search

# db_url runs on SQLite and PostgreSQL; the tests where the database does not matter pin SQLite.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
PG_ONLY = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
NEWSMON = str(Path(sys.executable).with_name("newsmon"))
FEED = "/bharat-defence-wire/feed.xml"
ATOM = "/capitol-defense-daily/feeds/atom.xml"
SLOW_ARTICLE = ("/bharat-defence-wire/india-news/"
                "army-orders-1200-loitering-munitions-emergency-procurement-101732415.html")

pytestmark = pytest.mark.slow


def assert_no_overlap(runs: list[RunView]) -> None:
    """Runs of one source never overlap in time."""
    by_source: dict[str, list[RunView]] = {}
    for r in runs:
        by_source.setdefault(r.source, []).append(r)
    for source, rs in by_source.items():
        rs.sort(key=lambda r: r.started)
        for a, b in zip(rs, rs[1:], strict=False):
            assert a.finished is not None and a.finished <= b.started, (
                f"{source}: run {a.id} ({a.started}..{a.finished}) overlaps run {b.id} "
                f"({b.started}..)")


class Service:
    """One service subprocess; output goes to a log file shown on failure.

    ``newsmon run`` loads the whole CLI and then execs ``python -m newsmon.commands.run``;
    ``lean`` starts the latter directly, which saves a second or two per start.
    """

    def __init__(self, config: Path, log: Path, lean: bool) -> None:
        self.log = log
        self.fh = log.open("ab")
        cmd = ([sys.executable, "-m", "newsmon.commands.run"] if lean else [NEWSMON, "run"])
        self.proc = subprocess.Popen([*cmd, "--config", str(config)],
                                     stdout=self.fh, stderr=subprocess.STDOUT)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def service_env(
    tmp_path: Path, site: SampleSite, db_url: str
) -> Iterator[Callable[..., Path]]:
    """Write a settings file for the sample site and return its path; sources by name."""

    def write(sources: dict[str, dict[str, Any]], **sections: Any) -> Path:
        folder = tmp_path / f"cfg-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        bundled = yaml.safe_load(render_sources(site.base_url))["sources"]
        chosen = []
        for entry in bundled:
            if entry["name"] in sources:
                chosen.append({**entry, **sources[entry["name"]]})
        (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": chosen}))
        settings: dict[str, Any] = {
            "database_url": db_url,
            "data_dir": str(tmp_path),
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                      "download_timeout": "20s", "source_timeout": "60s"},
            "scheduler": {"heartbeat_interval": "1s", "grace_period": "2s",
                          "kill_after": "2s", "max_parallel": 4},
            "sources_file": "sources.yaml",
        }
        for key, value in sections.items():
            settings[key] = {**settings.get(key, {}), **value}
        path = folder / "settings.yaml"
        path.write_text(yaml.safe_dump(settings))
        return path

    Store.from_url(db_url).close()  # migrate first, so the test can poll from the start
    yield write


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(config: Path, lean: bool = True) -> Service:
        svc = Service(config, tmp_path / f"service-{len(started)}.log", lean)
        started.append(svc)
        return svc

    yield start
    for svc in started:
        if svc.proc.poll() is None:
            try:
                svc.stop(timeout=20)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait()


@pytest.fixture
def sched(db_url: str) -> Iterator[SchedulerStore]:
    store = Store.from_url(db_url, migrate=False)
    yield SchedulerStore(store.engine)
    store.close()


def cli(config: Path, *args: str) -> Result:
    """A read-only command, in-process (the service itself always runs as a subprocess)."""
    load_commands()
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def finished(sched: SchedulerStore, source: str | None = None) -> list[RunView]:
    return [r for r in sched.runs(source, 500) if r.status != "running"]


@SQLITE_ONLY
def test_jobs_fire_history_appears_a_second_service_refuses_and_a_restart_keeps_the_schedule(
    service_env: Callable[..., Path], services: Callable[..., Service],
    sched: SchedulerStore,
) -> None:
    # A grace period long enough for a run to end: every run here must be "ok".
    config = service_env({"bharat-defence-wire": {"schedule": {"interval": "2s"}},
                          "capitol-defense-daily": {"schedule": {"interval": "1h"}}},
                         scheduler={"grace_period": "20s"})
    svc = services(config, lean=False)  # the real command line, exec and all
    wait_for(sched.lock_holder, 30, "the service to take the lock")
    second = subprocess.Popen([NEWSMON, "run", "--config", str(config)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(finished(sched, "bharat-defence-wire")) >= 2
             and finished(sched, "capitol-defense-daily"), 40,
             "two runs of the 2 s source and one of the hourly one")

    _, err = second.communicate(timeout=60)
    err = " ".join(err.split())  # Rich wraps long lines
    assert second.returncode == 1, err
    assert f"Error: another newsmon scheduler (pid {svc.proc.pid} on host " in err
    assert "is running on this database; stop it first" in err

    status = cli(config, "status")
    assert status.exit_code == 0, status.output
    assert f"running: pid {svc.proc.pid}" in status.stdout
    hourly_next = sched.states()["capitol-defense-daily"].next_run_at
    assert hourly_next is not None

    assert svc.stop() == 0, svc.output()
    runs = sched.runs(None, 500)
    assert runs and all(r.status == "ok" for r in runs), [(r.id, r.status) for r in runs]
    assert all(r.finished is not None and r.requests > 0 for r in runs)
    assert min(runs, key=lambda r: r.id).new > 0
    # No contact_url set: the service says so once, its crawl children (3+ runs) not again.
    assert svc.output().count("contact_url is still the placeholder") == 1, svc.output()
    assert_no_overlap(runs)
    assert cli(config, "status").exit_code == 3

    listed = json.loads(cli(config, "runs", "--source", "bharat-defence-wire",
                            "--format", "json").stdout)
    assert listed and {r["source"] for r in listed} == {"bharat-defence-wire"}
    assert {"started", "finished", "status", "requests", "bytes", "new", "updated",
            "unchanged", "dropped", "errors", "first_error"} <= set(listed[0])
    sources = {r["name"]: r for r in json.loads(cli(config, "sources", "-f", "json").stdout)}
    assert sources["bharat-defence-wire"]["schedule"] == "every 2s"
    assert sources["bharat-defence-wire"]["last_status"] == "ok"
    assert sources["bharat-defence-wire"]["articles"] > 0
    assert sources["bharat-defence-wire"]["consecutive_failures"] == 0
    assert sources["capitol-defense-daily"]["next_run"] is not None

    # A restart: the hourly source keeps its next run time instead of running again now.
    hourly_runs = len(finished(sched, "capitol-defense-daily"))
    fast_runs = len(finished(sched, "bharat-defence-wire"))
    again = services(config)
    wait_for(lambda: len(finished(sched, "bharat-defence-wire")) > fast_runs, 30,
             "the restarted service's first run")
    assert len(sched.runs("capitol-defense-daily", 10)) == hourly_runs
    assert sched.states()["capitol-defense-daily"].next_run_at == hourly_next
    assert again.stop() == 0, again.output()


@SQLITE_ONLY
def test_a_hanging_source_is_killed_at_its_timeout_while_the_others_go_on(
    service_env: Callable[..., Path], services: Callable[..., Service],
    sched: SchedulerStore, site: SampleSite,
) -> None:
    site.set_delay(ATOM, 60)
    config = service_env({
        "capitol-defense-daily": {"schedule": {"interval": "1s"}, "timeout": "4s"},
        "bharat-defence-wire": {"schedule": {"interval": "1s"}},
    })
    svc = services(config)
    hung = wait_for(lambda: finished(sched, "capitol-defense-daily"), 40,
                    "the hanging source's run to end")[-1]
    others = wait_for(lambda: len(finished(sched, "bharat-defence-wire")) >= 2 and
                      finished(sched, "bharat-defence-wire"), 30, "the other source's runs")
    assert svc.stop() == 0, svc.output()

    assert hung.status == "timeout", hung
    assert hung.first_error is not None and "timeout" in hung.first_error
    assert hung.seconds is not None and hung.seconds < 4 + 2 + 3
    # The other source ran while the hanging one was still hanging, and went on after it.
    assert hung.finished is not None
    assert all(r.status == "ok" for r in others), others
    assert any(r.started < hung.finished for r in others), (hung, others)
    assert_no_overlap(sched.runs(None, 500))
    # A 1 s interval on a run that hangs for 4 s: skipped, never doubled.
    assert site.requests[ATOM] <= len(finished(sched, "capitol-defense-daily")) + 1


def test_sigterm_during_a_run_marks_it_interrupted_and_leaves_no_half_written_rows(
    service_env: Callable[..., Path], services: Callable[..., Service],
    sched: SchedulerStore, site: SampleSite,
) -> None:
    site.set_delay(SLOW_ARTICLE, 60)
    config = service_env({"bharat-defence-wire": {"schedule": {"interval": "1h"}}},
                         scheduler={"grace_period": "1s", "kill_after": "2s"})
    svc = services(config)
    # The slow article is counted only once answered: wait for the others instead.
    wait_for(lambda: sum(n for path, n in site.requests.items()
                         if "/india-news/" in path) >= 2, 30, "the crawl to fetch articles")
    started = time.monotonic()
    assert svc.stop() == 0, svc.output()
    assert time.monotonic() - started < 1 + 2 + 8

    runs = sched.runs(None, 10)
    assert [r.status for r in runs] == ["interrupted"], runs
    assert runs[0].finished is not None
    assert sched.lock_holder() is None
    with sched.engine.connect() as conn:
        articles = conn.execute(select(func.count(Article.id))).scalar_one()
        unversioned = conn.execute(select(func.count(Article.id)).where(
            ~select(ArticleVersion.id).where(ArticleVersion.article_id == Article.id)
            .exists())).scalar_one()
        unaliased = conn.execute(select(func.count(Article.id)).where(
            ~select(ArticleURL.url_key).where(ArticleURL.article_id == Article.id)
            .exists())).scalar_one()
    assert articles <= 2 and unversioned == 0 and unaliased == 0


@SQLITE_ONLY
def test_a_failing_source_is_backed_off_and_recovers(
    service_env: Callable[..., Path], services: Callable[..., Service],
    sched: SchedulerStore, site: SampleSite,
) -> None:
    site.set_status(FEED, 500)
    config = service_env({"bharat-defence-wire": {"schedule": {"interval": "1s"}}},
                         scheduler={"failure_threshold": 2, "backoff_factor": 3})
    svc = services(config)
    wait_for(lambda: len(finished(sched)) >= 2, 30, "two failed runs")
    state = wait_for(lambda: (s := sched.states().get("bharat-defence-wire")) and
                     s.backed_off_until and s, 10, "the back-off")
    assert state.consecutive_failures == 2
    rows = {r["name"]: r for r in json.loads(cli(config, "sources", "-f", "json").stdout)}
    assert rows["bharat-defence-wire"]["state"] == "backed off"
    assert rows["bharat-defence-wire"]["consecutive_failures"] == 2
    assert [r.status for r in finished(sched)] == ["failed", "failed"]
    assert "HTTP 500" in (finished(sched)[0].first_error or "")

    site.set_status(FEED, None)
    ok = wait_for(lambda: [r for r in finished(sched) if r.status == "ok"], 30,
                  "a successful run after the back-off")
    # Held back for 1 s x 3, not retried every second.
    failures = [r for r in finished(sched) if r.status == "failed"]
    assert len(failures) == 2
    assert ok[-1].started - max(r.finished for r in failures if r.finished) >= timedelta(
        seconds=2.5)
    state = wait_for(lambda: (s := sched.states()["bharat-defence-wire"]).last_status == "ok"
                     and s, 10, "the recovery to be recorded")
    assert state.consecutive_failures == 0 and state.backed_off_until is None
    assert svc.stop() == 0, svc.output()
    assert "backing off" in svc.output() and "recovered after 2 failed runs" in svc.output()


@PG_ONLY
def test_the_service_indexes_what_waits_for_search(
    service_env: Callable[..., Path], services: Callable[..., Service], db_url: str,
) -> None:
    """Articles a bulk writer left queued (PostgreSQL) are indexed by the service at start,
    and status says how many wait until then."""
    writer = Store.from_url(db_url, defer_search_index=True)
    try:
        writer.upsert_articles([ArticleRecord(
            url_key=f"example.com/{i}", canonical_url=f"https://example.com/{i}",
            url=f"https://example.com/{i}", source="bulk", title=f"Dredging report {i}",
            body="The port authority ordered more dredging. " * 10,
            fetched_at=datetime(2026, 11, 25, tzinfo=UTC)) for i in range(30)])
        config = service_env({"bharat-defence-wire": {"schedule": {"interval": "1h"}}})
        assert "search index: 30 articles waiting" in cli(config, "status").stdout
        assert search(writer, "dredging") == []
        svc = services(config)
        wait_for(lambda: search_index.pending(writer.engine) == 0, 30,
                 "the service's indexing job")
        assert len(search(writer, "dredging", limit=50)) == 30
        assert "search index: indexed 30 articles" in svc.output()
        assert svc.stop() == 0
    finally:
        writer.close()


def _ppid(pid: int) -> int | None:
    """The parent of a live (not zombie) process, or None once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[1])


@SQLITE_ONLY
def test_a_forked_crawl_process_stops_itself_when_the_service_is_killed(
    service_env: Callable[..., Path], services: Callable[..., Service],
    sched: SchedulerStore, site: SampleSite,
) -> None:
    """``crawl_start: forkserver`` (the default): the crawl process is the fork server's
    child, not the service's; kill -9 of the service ends the fork server, and the crawl,
    re-parented, stops itself and closes its own run row (no supervisor is left to)."""
    site.set_delay(SLOW_ARTICLE, 120)
    config = service_env({"bharat-defence-wire": {"schedule": {"interval": "1h"},
                                                  "timeout": "5m"}},
                         scheduler={"crawl_start": "forkserver"})
    svc = services(config)
    wait_for(lambda: sum(n for path, n in site.requests.items()
                         if "/india-news/" in path) >= 2, 60, "the crawl to fetch articles")
    with sched.engine.connect() as conn:
        pid = conn.execute(select(CrawlRun.pid).where(CrawlRun.status == "running")
                           ).scalar_one()
    assert pid is not None
    server = _ppid(pid)
    assert server is not None and server != svc.proc.pid, "not forked from the fork server"
    assert _ppid(server) == svc.proc.pid, "the fork server is the service's child"
    svc.proc.kill()
    svc.proc.wait(10)
    wait_for(lambda: _ppid(server) is None, 10, "the fork server to exit with the service")
    wait_for(lambda: _ppid(pid) is None, 60, "the orphaned crawl process to stop itself")
    run = sched.runs(None, 10)[0]
    assert run.status == "interrupted" and run.finished is not None, run
    assert "fork server ready" in svc.output()
