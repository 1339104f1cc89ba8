"""SchedulerStore: run rows the supervisor opens and closes, failure streaks, source state and
the ``runs``/``sources``/``status`` commands over them; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from config import Settings, load_settings
from newsmon.app import app
from newsmon.cli import _load_commands
from scheduler.report import source_rows
from storage import RunStats, Store
from storage.scheduler_store import SchedulerStore

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def sched(store: Store) -> Iterator[SchedulerStore]:
    yield SchedulerStore(store.engine)


def add_run(store: Store, sched: SchedulerStore, source: str, status: str,
            error: str | None = None) -> int:
    run_id = sched.open_run(source, pid=1)
    store.finish_run(run_id, status, RunStats(requests=3, bytes=100, new=1, errors=int(
        bool(error)), first_error=error))
    return run_id


def test_open_and_close_a_run_keeping_its_counts(store: Store, sched: SchedulerStore) -> None:
    run_id = sched.open_run("alpha", host="h", pid=10)
    sched.set_run_pid(run_id, 11)
    assert sched.run_end(run_id) == ("running", None)
    assert sched.running_runs()[0][:4] == (run_id, "alpha", "h", 11)
    store.finish_run(run_id, "interrupted", RunStats(requests=5, bytes=900, new=2))
    assert not sched.end_run(run_id, "failed", "x", only_if_running=True)
    assert sched.end_run(run_id, "timeout", "killed after 5 s timeout")
    run = sched.run(run_id)
    assert run is not None
    assert (run.status, run.first_error, run.requests, run.bytes, run.new) == (
        "timeout", "killed after 5 s timeout", 5, 900, 2)
    assert run.finished is not None and run.seconds is not None


def test_a_run_closed_only_by_the_supervisor_gets_a_finish_time(sched: SchedulerStore) -> None:
    run_id = sched.open_run("alpha")
    assert sched.end_run(run_id, "failed", "crawl process exited with signal 9 (SIGKILL)",
                         only_if_running=True)
    run = sched.run(run_id)
    assert run is not None and run.finished is not None and run.status == "failed"


def test_orphaned_runs_are_closed_as_interrupted(sched: SchedulerStore) -> None:
    dead = sched.open_run("alpha", host="here", pid=111)
    alive = sched.open_run("beta", host="here", pid=222)
    closed = sched.close_orphaned_runs(lambda host, pid, started: pid == 111, "gone")
    assert closed == [dead]
    assert sched.run_end(dead) == ("interrupted", "gone")
    assert sched.run_end(alive) == ("running", None)


def test_failure_streak_last_success_and_article_count(store: Store,
                                                       sched: SchedulerStore) -> None:
    assert sched.history("alpha").consecutive_failures == 0
    add_run(store, sched, "alpha", "ok")
    add_run(store, sched, "alpha", "failed", "HTTP 500")
    add_run(store, sched, "alpha", "interrupted")  # says nothing about the source
    add_run(store, sched, "alpha", "timeout", "killed after 5 s timeout")
    sched.open_run("alpha")  # running now
    add_run(store, sched, "beta", "failed")
    history = sched.history("alpha")
    assert history.consecutive_failures == 2
    assert history.last_status == "timeout"
    assert history.last_success_at is not None
    assert history.articles == 0
    add_run(store, sched, "alpha", "partial")
    assert sched.history("alpha").consecutive_failures == 0


def test_histories_of_several_sources_in_one_call(store: Store, sched: SchedulerStore) -> None:
    for source, status in [("alpha", "ok"), ("beta", "failed"), ("alpha", "failed"),
                           ("beta", "timeout"), ("beta", "failed"), ("alpha", "partial")]:
        add_run(store, sched, source, status)  # interleaved: each source's runs are its own
    found = sched.histories(["alpha", "beta", "never-ran"])
    assert {n: (h.consecutive_failures, h.last_status, h.last_success_at is not None)
            for n, h in found.items()} == {"alpha": (0, "partial", True),
                                           "beta": (3, "failed", False),
                                           "never-ran": (0, None, False)}
    # The streak is counted within each source's latest ``scan`` runs.
    assert sched.histories(["beta"], scan=2)["beta"].consecutive_failures == 2
    assert found == {n: sched.history(n) for n in ("alpha", "beta", "never-ran")}


def test_runs_newest_first_per_source(store: Store, sched: SchedulerStore) -> None:
    ids = [add_run(store, sched, s, "ok") for s in ("alpha", "beta", "alpha")]
    assert [r.id for r in sched.runs()] == ids[::-1]
    assert [r.id for r in sched.runs("alpha", limit=1)] == [ids[2]]


def test_source_state_round_trip(sched: SchedulerStore) -> None:
    sched.save_schedule("alpha", "interval:60:0", "every 1m", T0)
    sched.save_result("alpha", status="failed", at=T0, failures=3, last_success_at=None,
                      backed_off_until=T0 + timedelta(hours=1))
    sched.save_next_runs([("alpha", T0 + timedelta(hours=1)), ("unknown", T0)])
    state = sched.states()["alpha"]
    assert (state.schedule, state.next_run_at, state.consecutive_failures,
            state.backed_off_until) == ("every 1m", T0 + timedelta(hours=1), 3,
                                        T0 + timedelta(hours=1))
    sched.save_schedule("alpha", "interval:120:0", "every 2m", T0)
    state = sched.states()["alpha"]
    assert state.schedule == "every 2m" and state.consecutive_failures == 3


def settings_file(tmp_path: Path, db_url: str) -> Path:
    sources = [
        {"name": "alpha", "kind": "rss", "urls": ["http://127.0.0.1:9/a.xml"],
         "schedule": {"interval": "20m", "jitter": "2m"}},
        {"name": "beta", "kind": "rss", "urls": ["http://127.0.0.1:9/b.xml"],
         "schedule": {"cron": "0 */6 * * *"}},
        {"name": "gamma", "kind": "rss", "urls": ["http://127.0.0.1:9/c.xml"],
         "enabled": False},
    ]
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "sources": sources,
                                    "scheduler": {"failure_threshold": 2}}))
    return path


def test_source_rows_label_each_source(tmp_path: Path, db_url: str, store: Store,
                                       sched: SchedulerStore) -> None:
    settings: Settings = load_settings(settings_file(tmp_path, db_url), env={})
    add_run(store, sched, "alpha", "failed", "HTTP 500")
    add_run(store, sched, "alpha", "failed", "HTTP 500")
    sched.save_result("alpha", status="failed", at=T0, failures=2, last_success_at=None,
                      backed_off_until=T0)
    add_run(store, sched, "beta", "ok")
    rows = {r["name"]: r for r in source_rows(settings, sched)}
    assert rows["alpha"]["state"] == "backed off"
    assert rows["alpha"]["backed_off_until"] == T0
    assert rows["alpha"]["schedule"] == "every 20m +2m"
    assert rows["beta"]["state"] == "ok" and rows["beta"]["last_success"] is not None
    assert rows["beta"]["schedule"] == "cron 0 */6 * * * (UTC)"
    assert rows["gamma"]["state"] == "disabled"


def test_cli_runs_sources_and_status(tmp_path: Path, db_url: str, store: Store,
                                     sched: SchedulerStore) -> None:
    _load_commands()
    config = str(settings_file(tmp_path, db_url))
    runner = CliRunner()
    add_run(store, sched, "alpha", "failed", "HTTP 500")
    add_run(store, sched, "beta", "ok")

    result = runner.invoke(app, ["runs", "--config", config, "--format", "ndjson"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in lines] == ["beta", "alpha"]
    assert lines[1]["first_error"] == "HTTP 500" and lines[1]["status"] == "failed"
    assert lines[0]["started"].endswith("Z")

    result = runner.invoke(app, ["runs", "--config", config, "-s", "alpha", "-f", "csv"])
    assert result.stdout.splitlines()[0].startswith("id,source,started,finished,status,")
    assert len(result.stdout.splitlines()) == 2

    result = runner.invoke(app, ["runs", "--config", config, "-s", "nobody"])
    assert result.exit_code == 0 and "no runs recorded for source 'nobody'" in result.stdout

    result = runner.invoke(app, ["sources", "--config", config, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in json.loads(result.stdout)] == ["alpha", "beta", "gamma"]

    result = runner.invoke(app, ["sources", "--config", config])
    assert result.exit_code == 0 and "alpha" in result.stdout

    result = runner.invoke(app, ["status", "--config", config])
    assert result.exit_code == 3
    assert "not running: no newsmon service holds this database" in result.stdout

    result = runner.invoke(app, ["status", "--config", config, "-f", "json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["running"] is False and doc["holder"] is None
    assert [s["name"] for s in doc["sources"]] == ["alpha", "beta", "gamma"]
