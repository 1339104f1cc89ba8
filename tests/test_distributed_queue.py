"""The queue glue on a real Redis, without crawling: one task per source, the per-source lock,
the settings, the CLI's messages, and a database many processes open at once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml
from distributed_support import REDIS_URL, queue_name_fixture  # noqa: F401  (fixture)
from redis import Redis
from typer.testing import CliRunner, Result

from config import ConfigError, load_settings
from config.schema import DistributedSettings
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from scheduler.distributed import (
    CrawlQueue,
    SourceLock,
    job_id,
    redacted,
    source_of,
)
from storage import Store

pytestmark = pytest.mark.redis


def queue_for(name: str, **conf: object) -> CrawlQueue:
    settings = DistributedSettings.model_validate(
        {"redis_url": REDIS_URL, "queue": name, "visibility_timeout": "2s", **conf})
    return CrawlQueue.from_settings(settings)


def test_one_task_per_source_until_it_is_done(queue_name: str) -> None:
    queue = queue_for(queue_name)
    job, new = queue.submit("alpha", 30)
    assert new and job.id == job_id(queue_name, "alpha") == f"crawl-{queue_name}_alpha"
    again, new_again = queue.submit("alpha", 30)
    assert not new_again and again.id == job.id
    other, new_other = queue.submit("beta-2", 30)
    assert new_other and source_of(other.id) == "beta-2"
    assert queue.depth().queued == 2
    assert queue.outstanding("alpha") is not None

    # A finished task is replaced by the next submit, never joined.
    job.set_status("finished")
    assert queue.outstanding("alpha") is None
    fresh, new_fresh = queue.submit("alpha", 30)
    assert new_fresh and fresh.get_status() == "queued"
    assert queue.depth().queued == 2  # the old entry left the queue with its task
    assert fresh.timeout == queue.job_timeout(30) and fresh.retries_left == 2
    assert fresh.func_name == "scheduler.worker.crawl_task" and list(fresh.args) == ["alpha", 30]


def test_the_source_lock_is_exclusive_renewable_and_expires(queue_name: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    first = SourceLock(redis, queue_name, "alpha", ttl=1.0)
    second = SourceLock(redis, queue_name, "alpha", ttl=1.0)
    assert first.acquire()
    assert not second.acquire()
    assert not second.renew()
    second.release()  # not its lock: nothing happens
    assert first.holder() == first.token
    time.sleep(0.6)
    assert first.renew()
    time.sleep(0.6)  # 1.2 s after taking it, but renewed: still held
    assert not second.acquire()
    started = time.monotonic()
    assert second.acquire(wait=3)  # first stops renewing (its holder "died"): it expires
    assert 0.2 < time.monotonic() - started < 2.5
    assert not first.renew()
    second.release()
    assert first.acquire()
    first.release()
    assert redis.get(first.key) is None


def test_settings_and_the_redis_url_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"sources": [], "distributed": {"queue": "crawls"}}))
    settings = load_settings(path, env={"NEWSMON_REDIS_URL": "redis://:s3cret@redis:6379/0"})
    assert settings.distributed.redis_url == "redis://:s3cret@redis:6379/0"
    assert settings.distributed.queue == "crawls"
    assert redacted(settings.distributed.redis_url) == "redis://:***@redis:6379/0"
    assert load_settings(path, env={}).distributed.redis_url is None

    path.write_text(yaml.safe_dump({"sources": [], "distributed": {
        "redis_url": "http://redis:6379", "queue": "Bad_Name"}}))
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert err.value.problems == [
        "field 'distributed.redis_url': 'http://redis:6379' is not a Redis URL "
        "(redis://[:password@]host:6379/0, rediss://... or unix:///path/redis.sock)",
        "field 'distributed.queue': String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'",
    ]


def cli(*args: str) -> Result:
    load_commands()
    return CliRunner().invoke(app, list(args))


def test_worker_commands_say_what_to_fix(tmp_path: Path, queue_name: str) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump({"sources": [], "database_url": "sqlite://"}))
    for command in ("worker", "workers"):
        result = cli(command, "--config", str(plain))
        assert result.exit_code == 2, result.output
    assert " ".join(cli("worker", "--config", str(plain)).stderr.split()) == (
        "Error: distributed.redis_url is not set: set it in the settings or "
        "$NEWSMON_REDIS_URL (e.g. redis://redis.example:6379/0) to use workers")
    assert " ".join(cli("workers", "--config", str(plain)).stderr.split()) == (
        "Error: distributed.redis_url is not set: there are no workers to list (set it in "
        "the settings or $NEWSMON_REDIS_URL)")

    away = tmp_path / "away.yaml"
    away.write_text(yaml.safe_dump({"sources": [], "database_url": "sqlite://",
                                    "distributed": {"redis_url": "redis://127.0.0.1:1/0"}}))
    result = cli("workers", "--config", str(away))
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert message.startswith("Error: cannot reach Redis at redis://127.0.0.1:1/0: ")
    assert message.endswith("Is Redis running, and is distributed.redis_url (or "
                            "$NEWSMON_REDIS_URL) right?")

    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"sources": [], "database_url": "sqlite://", "distributed": {
        "redis_url": REDIS_URL, "queue": queue_name}}))
    queue_for(queue_name).submit("alpha", 30)
    listed = cli("workers", "--config", str(mine), "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == {"queue": queue_name, "queued": 1, "running": 0,
                                         "scheduled": 0, "failed": 0, "workers": []}
    table = cli("workers", "--config", str(mine))
    assert f"queue {queue_name}: 1 queued, 0 running, 0 waiting for a retry, 0 failed; 0 " \
           "live workers" in " ".join(table.stdout.split())
    assert "no workers: start some with 'newsmon worker'" in table.stdout


@pytest.mark.postgres
def test_many_processes_may_open_a_new_database_at_once(pg_database: str) -> None:
    """A scheduler and its workers starting together on an empty PostgreSQL database: one
    applies the migrations, the others wait for it (an advisory lock) instead of failing."""
    from conftest import _reset_pg

    _reset_pg(pg_database)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.from_url(pg_database).close()
        except BaseException as exc:  # collected and shown by the assert
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_the_scheduler_side_records_a_task_that_failed_and_stops_waiting_on_shutdown(
    queue_name: str, tmp_path: Path
) -> None:
    from rq.job import JobStatus

    from scheduler.distributed import QueueSupervisor
    from storage.scheduler_store import SchedulerStore

    store = Store.from_url(f"sqlite:///{tmp_path / 'q.db'}")
    sched = SchedulerStore(store.engine)
    queue = queue_for(queue_name)
    supervisor = QueueSupervisor(sched, queue, poll=0.05)
    try:
        # Shutdown while the task waits for a worker: the service stops waiting at once.
        stop = threading.Event()
        stop.set()
        left = supervisor.run("alpha", 30, stop)
        assert (left.status, left.run_id, left.run) == ("queued", 0, None)
        assert queue.outstanding("alpha") is not None  # still there for the workers

        # The task fails outside its crawl (no worker could run it): the history says so.
        job = queue.outstanding("alpha")
        assert job is not None

        def fail_it() -> None:
            time.sleep(0.3)
            job.set_status(JobStatus.FAILED)

        threading.Thread(target=fail_it).start()
        failed = supervisor.run("alpha", 30, threading.Event())
        assert failed.status == "failed" and failed.run is not None
        assert failed.first_error == "the crawl task failed"
        assert [r.status for r in sched.runs("alpha")] == ["failed"]
        assert queue.outstanding("alpha") is None
    finally:
        store.close()
