"""Adaptive intervals (scheduler.adaptive): the rule on known publishing histories, the bounds
and their validation, the store's reading of a history on SQLite and PostgreSQL, the real
service rescheduling a source's job after a run, and ``newsmon sources`` saying why."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from distributed_support import (  # noqa: F401  (fixtures)
    REDIS_URL,
    Proc,
    newsmon_argv,
    procs_fixture,
    queue_name_fixture,
    wait_for,
)

from config import ConfigError, load_settings
from config.schema import Schedule, SchedulerSettings, Settings
from scheduler.adaptive import bounds, cadence, read_cadence
from scheduler.jobs import schedule_key
from scheduler.service import Service
from storage import ArticleRecord, Store
from storage.records import RunStats
from storage.scheduler_store import Publishing, SchedulerStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ADAPTIVE = Schedule(interval=timedelta(minutes=30), min_interval=timedelta(minutes=5),
                    max_interval=timedelta(hours=6))
NONE_SET = SchedulerSettings()


def published(count: int, span: timedelta, last: datetime | None = None) -> Publishing:
    """``count`` articles evenly over ``span``, the newest an hour ago."""
    if count == 0:
        return Publishing(0, None, None, last)
    newest = NOW - timedelta(hours=1)
    return Publishing(count, newest - span, newest, newest)


# -- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(("history", "expected"), [
    # 8 articles 3 h apart: the mean gap is the interval.
    (published(8, timedelta(hours=21)), "every 3h: 8 new articles/day over 7 days"),
    # One a minute: held at min_interval.
    (published(100, timedelta(minutes=99)),
     "every 5m: min_interval; 1440 new articles/day over 7 days"),
    # Three in six days: held at max_interval.
    (published(3, timedelta(days=6)), "every 6h: max_interval; 0.3 new articles/day over 7 days"),
    (published(1, timedelta(0)), "every 6h: max_interval, 1 new article in 7 days"),
    (published(0, timedelta(0), last=NOW - timedelta(days=12)),
     "every 6h: max_interval, nothing new in 12 days"),
    (published(0, timedelta(0)), "every 6h: max_interval, nothing stored yet"),
    # 56 articles with one time (dates without a time of day): the count over the week.
    (published(56, timedelta(0)), "every 3h: 8 new articles/day over 7 days"),
    (None, "every 30m: interval, no successful run yet"),
])
def test_the_interval_follows_the_publishing_rate_within_its_bounds(
        history: Publishing | None, expected: str) -> None:
    assert cadence(ADAPTIVE, NONE_SET, history, NOW).describe() == expected


def test_the_interval_is_rounded_to_minutes_and_jitter_kept() -> None:
    jittered = ADAPTIVE.model_copy(update={"jitter": timedelta(minutes=2)})
    # 5 gaps over 10 h 7 min: 2 h 1.4 min, rounded to 2h1m.
    found = cadence(jittered, NONE_SET, published(6, timedelta(hours=10, minutes=7)), NOW)
    assert found.interval == timedelta(hours=2, minutes=1)
    assert found.describe() == "every 2h1m +2m: 12 new articles/day over 7 days"


def test_nothing_set_keeps_the_configured_interval_and_cron_is_never_adapted() -> None:
    fixed = Schedule(interval=timedelta(minutes=20), jitter=timedelta(minutes=2))
    cron = Schedule(cron="0 3 * * *", timezone="Asia/Kolkata")
    busy = published(100, timedelta(minutes=99))
    defaults = SchedulerSettings(min_interval=timedelta(minutes=10),
                                 max_interval=timedelta(hours=2))
    assert bounds(fixed, NONE_SET) is None
    assert cadence(fixed, NONE_SET, busy, NOW).describe() == "every 20m +2m"
    assert cadence(fixed, NONE_SET, busy, NOW).schedule == fixed
    for conf in (NONE_SET, defaults):
        assert bounds(cron, conf) is None
        assert cadence(cron, conf, busy, NOW).schedule == cron
        assert cadence(cron, conf, busy, NOW).describe() == "cron 0 3 * * * (Asia/Kolkata)"
    # The scheduler's defaults, widened to each source's own interval.
    assert bounds(fixed, defaults) == (timedelta(minutes=10), timedelta(hours=2))
    five = Schedule(interval=timedelta(minutes=5))
    assert bounds(five, defaults) == (timedelta(minutes=5), timedelta(hours=2))
    three_hours = Schedule(interval=timedelta(hours=3))
    assert bounds(three_hours, defaults) == (timedelta(minutes=10), timedelta(hours=3))
    # A source's own bound wins over the default.
    own = Schedule(interval=timedelta(minutes=20), max_interval=timedelta(hours=12))
    assert bounds(own, defaults) == (timedelta(minutes=10), timedelta(hours=12))
    assert cadence(own, defaults, busy, NOW).describe() == (
        "every 10m: min_interval; 1440 new articles/day over 7 days")
    # The bounds are part of the schedule's fingerprint only when set.
    assert schedule_key(fixed) == "interval:1200:120"
    assert schedule_key(ADAPTIVE) == "interval:1800:0:300:21600"


# -- validation ------------------------------------------------------------------------------


def write_config(tmp_path: Path, schedule: dict[str, Any], scheduler: dict[str, Any] | None = None,
                 ) -> Path:
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "wire", "kind": "rss", "urls": ["https://example.com/feed"],
         "schedule": schedule}]}))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"sources_file": "sources.yaml",
                                    **({"scheduler": scheduler} if scheduler else {})}))
    return path


@pytest.mark.parametrize(("schedule", "problem"), [
    ({"interval": "15m", "min_interval": "1h"},
     "field 'schedule.min_interval': min_interval (1h) is longer than interval (15m); it must "
     "be at most the interval"),
    ({"interval": "15m", "max_interval": "10m"},
     "field 'schedule.max_interval': max_interval (10m) is shorter than interval (15m); it "
     "must be at least the interval"),
    ({"cron": "0 * * * *", "max_interval": "2h"},
     "field 'schedule.max_interval': max_interval adapts an interval schedule; a cron schedule "
     "runs exactly at its times (remove it, or give 'interval' instead of 'cron')"),
])
def test_bad_bounds_name_the_file_the_source_and_the_field(
        tmp_path: Path, schedule: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, schedule), env={})
    assert str(err.value) == (f"invalid configuration in {tmp_path / 'sources.yaml'}:\n"
                              f"  - source 'wire' (entry 1), {problem}")


def test_bad_defaults_name_the_settings_file_and_field(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"interval": "15m"},
                        {"min_interval": "1h", "max_interval": "30m"})
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value) == (f"invalid configuration in {path}:\n  - field "
                              "'scheduler.max_interval': max_interval (30m) is shorter than "
                              "min_interval (1h)")
    good = load_settings(write_config(tmp_path, {"interval": "15m", "min_interval": "5m",
                                                 "max_interval": "2h"}), env={})
    assert good.sources[0].schedule.min_interval == timedelta(minutes=5)
    assert good.sources[0].schedule.max_interval == timedelta(hours=2)


# -- a known history, read from the database --------------------------------------------------


def add_history(store: Store, source: str, times: list[datetime | None],
                seen: datetime, run_at: datetime | None = None) -> None:
    """Articles of ``source`` with these published times, first seen at ``seen``, and (with
    ``run_at``) one successful run."""
    store.upsert_articles([ArticleRecord(
        url_key=f"example.com/{source}/{i}", canonical_url=f"https://example.com/{source}/{i}",
        url=f"https://example.com/{source}/{i}", source=source,
        title=f"Navy inducts radar number {i}", body=f"The Navy inducted radar {i}. " * 20,
        published_at=t, fetched_at=seen) for i, t in enumerate(times)])
    if run_at is not None:
        run = store.start_run(source, started_at=run_at)
        store.finish_run(run, "ok", RunStats(requests=1, new=len(times)))


def test_the_store_reads_the_window_of_a_known_history(store: Store) -> None:
    sched = SchedulerStore(store.engine)
    since = NOW - timedelta(days=7)
    newest = NOW - timedelta(hours=1)
    times: list[datetime | None] = [newest - timedelta(hours=3 * k) for k in range(8)]
    # Outside the window: published 30 days ago (a first crawl's backlog), and in the future.
    times += [NOW - timedelta(days=30), NOW + timedelta(days=2)]
    add_history(store, "wire", times, seen=NOW - timedelta(minutes=30))
    assert sched.publishing("wire", since, NOW) is None  # no successful run yet
    add_history(store, "wire", [], seen=NOW, run_at=NOW - timedelta(minutes=30))
    assert sched.publishing("wire", since, NOW) == Publishing(
        8, newest - timedelta(hours=21), newest, newest)
    schedule = ADAPTIVE
    assert read_cadence("wire", schedule, NONE_SET, sched, NOW).describe() == (
        "every 3h: 8 new articles/day over 7 days")
    # An undated article counts at the time it was first seen.
    add_history(store, "undated", [None, None], seen=NOW - timedelta(hours=2),
                run_at=NOW - timedelta(hours=2))
    assert sched.publishing("undated", since, NOW) == Publishing(
        2, NOW - timedelta(hours=2), NOW - timedelta(hours=2), NOW - timedelta(hours=2))
    # Quiet: its newest article twelve days old.
    add_history(store, "quiet", [NOW - timedelta(days=12)], seen=NOW - timedelta(days=12),
                run_at=NOW - timedelta(days=12))
    assert sched.publishing("quiet", since, NOW) == Publishing(
        0, None, None, NOW - timedelta(days=12))
    assert read_cadence("quiet", schedule, NONE_SET, sched, NOW).describe() == (
        "every 6h: max_interval, nothing new in 12 days")


# -- the real service ------------------------------------------------------------------------


class NotModified(BaseHTTPRequestHandler):
    """A feed that answers 304 to its ETag, as an unchanged feed does."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotModified)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def adaptive_sources(feed_server: str) -> list[dict[str, Any]]:
    return [
        {"name": "wire", "kind": "rss", "urls": [f"{feed_server}/feed.xml"],
         "refetch_within": None,
         "schedule": {"interval": "30m", "min_interval": "5m", "max_interval": "6h"}},
        {"name": "daily", "kind": "rss", "urls": [f"{feed_server}/daily.xml"],
         "schedule": {"cron": "0 3 * * *", "timezone": "Asia/Kolkata"}},
    ]


def run_until_rescheduled(settings: Settings, store: Store, feed_server: str,
                          caplog: pytest.LogCaptureFixture) -> None:
    """Start the real service on ``settings`` (a history of 8 articles 3 h apart stored for
    ``wire``, its feed's ETag kept), wait for its first run (a 304: no crawl process) and
    check that its job was rescheduled from the configured 30m to every 3h, and that the cron
    source's trigger stayed as configured."""
    now = datetime.now(UTC)
    newest = now - timedelta(hours=1)
    add_history(store, "wire", [newest - timedelta(hours=3 * k) for k in range(8)],
                seen=now - timedelta(hours=2))
    store.save_validators(f"{feed_server}/feed.xml", '"v1"', None)
    sched = SchedulerStore(store.engine)
    service = Service(settings, sched, config_path=None)
    caplog.set_level(logging.INFO, logger="scheduler.service")
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        def rescheduled() -> list[str]:
            return [r.getMessage().split(", next run at")[0] for r in caplog.records
                    if "was every" in r.getMessage()]

        # (The line is logged once the new schedule is saved.)
        try:
            wait_for(rescheduled, 40, "the job rescheduled")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the service said:\n{caplog.text}") from None
        # Before its first run the source had no history of its own: the configured 30m.
        assert rescheduled() == ["wire: every 3h: 8 new articles/day over 7 days (was every 30m)"]
        assert service.scheduler is not None
        job = service.scheduler.get_job("wire")
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(hours=3)
        assert job.misfire_grace_time == 3600 and job.max_instances == 1
        assert timedelta(hours=3) - timedelta(seconds=30) <= job.next_run_time - now <= (
            timedelta(hours=3, minutes=1))
        state = sched.states()["wire"]
        assert state.schedule == "every 3h: 8 new articles/day over 7 days"
        assert state.schedule_key == schedule_key(settings.sources[0].schedule)
        assert state.next_run_at == job.next_run_time
        runs = sched.runs("wire")
        assert [(r.status, r.requests, r.new) for r in runs] == [("ok", 1, 0)]
        daily = service.scheduler.get_job("daily")
        assert isinstance(daily.trigger, CronTrigger)
        assert str(daily.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', " \
                                     "minute='0']"
    finally:
        service.request_stop()
        thread.join(30)
    assert not thread.is_alive()
    assert sched.lock_holder() is None


def test_the_service_reschedules_a_source_when_its_interval_changes(
        db_url: str, store: Store, feed_server: str, caplog: pytest.LogCaptureFixture) -> None:
    """The first run (a pre-checked 304: no crawl process) finds a history of 8 articles 3 h
    apart: the job's trigger becomes every 3 h from then on; a cron source's stays exact."""
    settings = Settings.model_validate({
        "database_url": db_url, "crawl": {"obey_robots": False, "download_delay": 0},
        "scheduler": {"heartbeat_interval": "1s"}, "sources": adaptive_sources(feed_server)})
    run_until_rescheduled(settings, store, feed_server, caplog)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_distributed_the_service_reschedules_after_a_workers_run(
        tmp_path: Path, db_url: str, store: Store, feed_server: str, queue_name: str,
        procs: Callable[..., Proc], caplog: pytest.LogCaptureFixture) -> None:
    """Distributed: a ``newsmon worker`` makes the run (its own pre-check, a 304), and the
    service that queued it reschedules the source just the same."""
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": adaptive_sources(
        feed_server)}))
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({
        "database_url": db_url, "data_dir": str(tmp_path), "sources_file": "sources.yaml",
        "contact_url": "https://ops.example.org/newsmon",
        "crawl": {"obey_robots": False, "download_delay": 0},
        "scheduler": {"heartbeat_interval": "1s", "grace_period": "2s", "kill_after": "2s"},
        "distributed": {"redis_url": REDIS_URL, "queue": queue_name,
                        "visibility_timeout": "4s"}}))
    worker = procs("worker", config)
    run_until_rescheduled(load_settings(config, env={}), store, feed_server, caplog)
    assert worker.stop() == 0, worker.output()
    assert "not modified (pre-check, no crawl)" in worker.output()


# -- newsmon sources -------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sources_shows_the_effective_interval_and_why(tmp_path: Path, db_url: str,
                                                      store: Store) -> None:
    now = datetime.now(UTC)
    newest = now - timedelta(hours=1)
    add_history(store, "wire", [newest - timedelta(hours=3 * k) for k in range(8)],
                seen=now - timedelta(hours=2), run_at=now - timedelta(hours=2))
    add_history(store, "quiet", [now - timedelta(days=12, hours=1)],
                seen=now - timedelta(days=12), run_at=now - timedelta(days=12))
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "wire", "kind": "rss", "urls": ["https://example.com/wire.xml"],
         "schedule": {"interval": "30m", "jitter": "1m"}},
        {"name": "quiet", "kind": "rss", "urls": ["https://example.com/quiet.xml"],
         "schedule": {"interval": "30m", "max_interval": "2h"}},
        {"name": "fixed", "kind": "rss", "urls": ["https://example.com/fixed.xml"],
         "schedule": {"interval": "20m", "jitter": "2m"}},
        {"name": "daily", "kind": "rss", "urls": ["https://example.com/daily.xml"],
         "schedule": {"cron": "0 3 * * *", "timezone": "Asia/Kolkata"}},
    ]}))
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({
        "database_url": db_url, "sources_file": "sources.yaml",
        # The defaults: wire adapts between 10m and 6h; fixed's 20m too, but it never ran.
        "scheduler": {"min_interval": "10m", "max_interval": "6h"}}))
    out = subprocess.run(newsmon_argv("sources", config), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "every 3h +1m: 8 new articles/day over 7 days" in lines["wire"]
    assert "every 2h: max_interval, nothing new in 12 days" in lines["quiet"]
    assert "every 20m +2m: interval, no successful run yet" in lines["fixed"]
    assert "cron 0 3 * * * (Asia/Kolkata) " in lines["daily"]
