"""Triggers, first runs, misfire grace and back-off (pure functions, a frozen clock), and
the jobs the service builds from them, in-process."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.schema import Schedule, SchedulerSettings, Settings
from scheduler.crawl_child import soft_timeout
from scheduler.jobs import (
    DIGEST_JOB_ID,
    backoff_delay,
    build_trigger,
    describe,
    digest_trigger,
    first_run_time,
    format_duration,
    misfire_grace,
    nominal_period,
    schedule_key,
)
from scheduler.service import Service
from storage import Store
from storage.scheduler_store import SchedulerStore, SourceStateView

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def state(schedule: Schedule, next_run_at: datetime | None) -> SourceStateView:
    return SourceStateView("s", schedule_key(schedule), describe(schedule), next_run_at,
                           None, None, None, 0, None)


def test_interval_trigger_with_jitter() -> None:
    trigger = build_trigger(Schedule(interval="20m", jitter="2m"))
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=20)
    assert trigger.jitter == 120
    fire = trigger.get_next_fire_time(NOW, NOW)
    assert fire is not None
    assert NOW + timedelta(minutes=20) <= fire <= NOW + timedelta(minutes=22)


def test_cron_trigger_fires_in_its_zone() -> None:
    trigger = build_trigger(Schedule(cron="30 7 * * *", timezone="Asia/Kolkata"))
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, NOW)
    assert fire == datetime(2026, 11, 26, 7, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert fire.astimezone(UTC) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_descriptions_and_keys() -> None:
    assert describe(Schedule(interval="20m", jitter="2m")) == "every 20m +2m"
    assert describe(Schedule(interval=5400)) == "every 1h30m"
    assert describe(Schedule(cron="15 */6 * * *")) == "cron 15 */6 * * * (UTC)"
    assert schedule_key(Schedule(interval="20m")) != schedule_key(Schedule(interval="30m"))
    assert schedule_key(Schedule(interval="20m")) == schedule_key(Schedule(interval=1200))
    assert format_duration(timedelta(seconds=90061)) == "1d1h1m1s"
    assert format_duration(timedelta(0)) == "0s"


def test_a_persisted_next_run_survives_a_restart() -> None:
    sched = Schedule(interval="1h")
    later = NOW + timedelta(minutes=40)
    assert first_run_time(sched, state(sched, later), NOW) == later


def test_missed_runs_coalesce_into_one_now() -> None:
    sched = Schedule(interval="1h")
    assert first_run_time(sched, state(sched, NOW - timedelta(hours=5)), NOW) == NOW


def test_a_changed_schedule_is_recomputed() -> None:
    old = Schedule(interval="1h")
    new = Schedule(interval="10m", jitter="1m")
    first = first_run_time(new, state(old, NOW + timedelta(minutes=50)), NOW,
                           rand=lambda a, b: b)
    assert first == NOW + timedelta(minutes=1)


def test_a_new_cron_source_waits_for_its_time() -> None:
    sched = Schedule(cron="0 12 * * *")
    assert first_run_time(sched, None, NOW) == datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_misfire_grace_is_the_interval_up_to_an_hour() -> None:
    conf = SchedulerSettings()
    assert misfire_grace(Schedule(interval="5m"), conf, NOW) == 300
    assert misfire_grace(Schedule(interval="6h"), conf, NOW) == 3600
    assert misfire_grace(Schedule(cron="*/10 * * * *"), conf, NOW) == 600
    assert misfire_grace(Schedule(interval="5m"), SchedulerSettings(misfire_grace="90s"),
                         NOW) == 90


def test_nominal_period_of_a_cron_schedule() -> None:
    assert nominal_period(Schedule(cron="15 */6 * * *"), NOW) == timedelta(hours=6)


@pytest.mark.parametrize(("failures", "expected"), [
    (0, None), (2, None), (3, timedelta(minutes=40)), (4, timedelta(minutes=80)),
    (5, timedelta(minutes=160)), (12, timedelta(hours=24)), (500, timedelta(hours=24)),
])
def test_backoff_grows_by_the_factor_and_is_capped(failures: int,
                                                    expected: timedelta | None) -> None:
    conf = SchedulerSettings(failure_threshold=3, backoff_factor=2, backoff_max="24h")
    assert backoff_delay(timedelta(minutes=20), failures, conf) == expected


def test_backoff_is_never_shorter_than_the_period() -> None:
    conf = SchedulerSettings(failure_threshold=1, backoff_factor=1, backoff_max="1m")
    assert backoff_delay(timedelta(hours=2), 1, conf) == timedelta(hours=2)


def test_digest_trigger() -> None:
    assert digest_trigger(Settings()) is None
    trigger = digest_trigger(Settings.model_validate(
        {"scheduler": {"digest_time": "07:05"}, "default_timezone": "Asia/Kolkata"}))
    assert trigger is not None
    assert trigger.get_next_fire_time(None, NOW) == datetime(
        2026, 11, 26, 7, 5, tzinfo=ZoneInfo("Asia/Kolkata"))
    trigger = digest_trigger(Settings.model_validate(
        {"scheduler": {"digest_time": "18:00", "digest_timezone": "Europe/Paris"}}))
    assert trigger is not None
    assert trigger.get_next_fire_time(None, NOW) == datetime(
        2026, 11, 25, 18, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_scheduler_settings_reject_a_bad_digest_time() -> None:
    with pytest.raises(ValueError, match="digest_time"):
        Settings.model_validate({"scheduler": {"digest_time": "25:00"}})


def test_the_crawl_closes_itself_before_the_hard_timeout() -> None:
    assert soft_timeout(600) == 570
    assert soft_timeout(10) == 8
    assert soft_timeout(1) == 1


# -- the service's jobs, built in-process (no crawl runs) ------------------------------------

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def service_settings(db_url: str, **scheduler: object) -> Settings:
    return Settings.model_validate({
        "database_url": db_url,
        "scheduler": {"heartbeat_interval": "1s", **scheduler},
        "sources": [
            {"name": "alpha", "kind": "rss", "urls": ["http://127.0.0.1:9/a.xml"],
             "schedule": {"interval": "20m", "jitter": "2m"}},
            {"name": "beta", "kind": "rss", "urls": ["http://127.0.0.1:9/b.xml"],
             "schedule": {"cron": "0 3 * * *", "timezone": "Asia/Kolkata"}},
            {"name": "off", "kind": "rss", "urls": ["http://127.0.0.1:9/c.xml"],
             "enabled": False},
        ],
    })


@SQLITE_ONLY
def test_one_job_per_enabled_source_with_stable_ids(db_url: str, store: Store) -> None:
    sched = SchedulerStore(store.engine)
    sched.save_schedule("beta", schedule_key(Schedule(cron="0 3 * * *",
                                                      timezone="Asia/Kolkata")), "x",
                        NOW + timedelta(hours=5))
    service = Service(service_settings(db_url, digest_time="07:00"), sched, config_path=None,
                      digest_command=["true"], clock=lambda: NOW)
    scheduler = service._build_scheduler()
    service._add_jobs(scheduler)
    service._add_jobs(scheduler)  # a second build replaces the jobs in place
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"alpha", "beta", DIGEST_JOB_ID}
    alpha = jobs["alpha"]
    assert (alpha.max_instances, alpha.coalesce, alpha.misfire_grace_time) == (1, True, 1200)
    assert NOW <= alpha.next_run_time <= NOW + timedelta(minutes=2)
    assert jobs["beta"].next_run_time == NOW + timedelta(hours=5)  # persisted: kept
    assert jobs["beta"].misfire_grace_time == 3600
    assert jobs[DIGEST_JOB_ID].executor == "digest"
    states = sched.states()
    assert set(states) == {"alpha", "beta"}
    assert states["alpha"].schedule == "every 20m +2m"


@SQLITE_ONLY
def test_the_service_stops_on_request_and_releases_its_lock(db_url: str, store: Store) -> None:
    sched = SchedulerStore(store.engine)
    settings = service_settings(db_url)
    # Nothing due: alpha's persisted next run is an hour away, beta is a daily cron.
    sched.save_schedule("alpha", schedule_key(settings.sources[0].schedule), "x",
                        datetime.now(UTC) + timedelta(hours=1))
    service = Service(settings, sched, config_path=None)
    thread = threading.Thread(target=service.run)
    thread.start()
    deadline = time.monotonic() + 10
    while sched.lock_holder() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sched.lock_holder() is not None
    service.request_stop()
    thread.join(10)
    assert not thread.is_alive()
    assert sched.lock_holder() is None
    assert sched.runs() == []
