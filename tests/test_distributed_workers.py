"""Distributed crawling for real: Redis, PostgreSQL, ``newsmon run`` and ``newsmon worker``
subprocesses, the sample site on 127.0.0.1.

Each test covers one promise: two workers share the crawl and store every article once with
every run in the history; a worker killed with SIGKILL mid-task has its task finished by the
other; two workers finish a slow multi-source crawl faster than one. The visibility timeout is
4 s here, so a dead worker's task comes back within seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distributed_support import (  # noqa: F401  (fixtures)
    Proc,
    procs_fixture,
    queue_name_fixture,
    wait_for,
    write_settings,
)
from sqlalchemy import func, select
from typer.testing import CliRunner

from config import load_settings
from crawler.sample_site import SampleSite, load_expected
from crawler.urls import url_key
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from scheduler.distributed import CrawlQueue
from storage import Store
from storage.models import Article, ArticleURL, ArticleVersion, CrawlRun
from storage.scheduler_store import RunView, SchedulerStore

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

FEEDS = {
    "bharat-defence-wire": "/bharat-defence-wire/feed.xml",
    "capitol-defense-daily": "/capitol-defense-daily/feeds/atom.xml",
    "global-trade-desk": "/global-trade-desk/sitemap-index.xml",
    "press-information-desk": "/press-information-desk/news-sitemap.xml",
}
ALL_SOURCES = [*FEEDS, "euro-security-review", "indus-ledger"]
BHARAT_ARTICLES = [
    "/bharat-defence-wire/india-news/"
    "army-orders-1200-loitering-munitions-emergency-procurement-101732415.html",
    "/bharat-defence-wire/india-news/"
    "drdo-long-range-glide-bomb-clears-final-user-trials-101732688.html",
    "/bharat-defence-wire/india-news/"
    "navy-project-75i-submarine-deal-enters-final-cost-talks-101732901.html",
]


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database (the workers' shared store)."""
    from conftest import _reset_pg

    _reset_pg(pg_database)
    Store.from_url(pg_database).close()
    yield pg_database


@pytest.fixture
def sched(pg_url: str) -> Iterator[SchedulerStore]:
    store = Store.from_url(pg_url, migrate=False)
    yield SchedulerStore(store.engine)
    store.close()


def finished(sched: SchedulerStore, source: str | None = None) -> list[RunView]:
    return [r for r in sched.runs(source, 500) if r.status != "running"]


def start_workers(procs: Callable[..., Proc], config: Path, queue: CrawlQueue,
                  n: int) -> list[Proc]:
    workers = [procs("worker", config) for _ in range(n)]
    wait_for(lambda: len([w for w in queue.workers() if w.state != "lost"]) >= n, 30,
             f"{n} workers to register")
    return workers


def assert_no_overlap(runs: list[RunView]) -> None:
    by_source: dict[str, list[RunView]] = {}
    for r in runs:
        by_source.setdefault(r.source, []).append(r)
    for source, rs in by_source.items():
        rs.sort(key=lambda r: r.started)
        for a, b in zip(rs, rs[1:], strict=False):
            assert a.finished is not None and a.finished <= b.started, (
                f"{source}: run {a.id} ({a.started}..{a.finished}) overlaps run {b.id}")


def stored_once(sched: SchedulerStore) -> tuple[int, int, int]:
    """(articles, versions, articles without exactly one version): nothing stored twice."""
    with sched.engine.connect() as conn:
        articles = conn.execute(select(func.count(Article.id))).scalar_one()
        versions = conn.execute(select(func.count(ArticleVersion.id))).scalar_one()
        per = select(ArticleVersion.article_id, func.count().label("n")).group_by(
            ArticleVersion.article_id).subquery()
        odd = conn.execute(select(func.count()).select_from(per).where(per.c.n != 1)
                           ).scalar_one()
        keys = conn.execute(select(func.count(func.distinct(ArticleURL.article_id)))
                            ).scalar_one()
    assert keys == articles  # every article reachable by its URL keys
    return articles, versions, odd


def test_two_workers_crawl_the_site_concurrently_storing_each_article_once(
    tmp_path: Path, site: SampleSite, pg_url: str, sched: SchedulerStore, queue_name: str,
    procs: Callable[..., Proc],
) -> None:
    # Every source once (hourly), queued by the real service, crawled by two workers.
    hourly = {"schedule": {"interval": "1h"}}
    config = write_settings(tmp_path / "cfg", site, pg_url, queue_name,
                            sources={name: hourly for name in ALL_SOURCES},
                            scheduler={"grace_period": "20s"})
    settings = load_settings(config, env={})
    queue = CrawlQueue.from_settings(settings.distributed)
    workers = start_workers(procs, config, queue, 2)
    service = procs("run", config)
    names = [s.name for s in settings.enabled_sources()]
    wait_for(lambda: {r.source for r in finished(sched)} >= set(names), 90,
             "one finished run per source")

    load_commands()
    listed = CliRunner().invoke(app, ["workers", "--config", str(config), "-f", "json"])
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.stdout)
    assert doc["queue"] == queue_name
    assert {w["name"] for w in doc["workers"]} == {w.name for w in queue.workers()}
    assert len(doc["workers"]) == 2 and all(w["state"] != "lost" for w in doc["workers"])
    assert {"queued", "running", "scheduled", "failed"} <= set(doc)

    assert service.stop() == 0, service.output()
    runs = sched.runs(None, 100)
    assert sorted(r.source for r in runs) == sorted(names), runs
    assert all(r.status == "ok" and r.finished is not None for r in runs), runs
    assert_no_overlap(runs)
    # Both workers took tasks: the queue spread the sources.
    done = {w.name: w.jobs_done for w in queue.workers()}
    assert len(done) == 2 and all(n >= 1 for n in done.values()), (
        done, [w.output()[-2000:] for w in workers])

    kept = [e for e in load_expected(site.base_url) if not e.get("dropped")]
    articles, versions, odd = stored_once(sched)
    assert articles == len(kept) and versions == articles and odd == 0
    store = Store.from_url(pg_url, migrate=False)
    try:
        stored = {a.url_key for a in store.articles()}
    finally:
        store.close()
    assert stored == {url_key(e["url"]) for e in kept}
    for w in workers:
        assert w.stop() == 0, w.output()


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_a_worker_killed_mid_task_has_its_task_finished_by_the_other(
    tmp_path: Path, site: SampleSite, pg_url: str, sched: SchedulerStore, queue_name: str,
    procs: Callable[..., Proc],
) -> None:
    for path in BHARAT_ARTICLES:  # the crawl takes a few seconds: time to kill its worker
        site.set_delay(path, 3)
    config = write_settings(tmp_path / "cfg", site, pg_url, queue_name)
    queue = CrawlQueue.from_settings(load_settings(config, env={}).distributed)
    workers = start_workers(procs, config, queue, 2)

    job, new = queue.submit("bharat-defence-wire", 60)
    assert new and not queue.submit("bharat-defence-wire", 60)[1]  # one task per source
    wait_for(lambda: site.requests[FEEDS["bharat-defence-wire"]], 30, "the crawl to start")
    job.refresh()
    assert job.worker_name
    victim = next(w for w in workers if f".{w.pid}." in job.worker_name)
    survivor = next(w for w in workers if w is not victim)
    # The crawl process is forked from the worker's fork server (scheduler.crawl_start's
    # default), which is the worker's child and exits with it.
    with sched.engine.connect() as conn:
        crawl_pid = wait_for(lambda: conn.execute(select(CrawlRun.pid).where(
            CrawlRun.status == "running")).scalar(), 30, "the crawl's pid")
    server = _ppid(crawl_pid)
    assert server not in (None, victim.pid) and _ppid(server) == victim.pid
    killed_at = time.monotonic()
    victim.kill()

    wait_for(lambda: job.get_status() in ("finished", "failed"), 60, "the task to finish")
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert f".{survivor.pid}." in (job.worker_name or "")
    attempts = job.get_meta()["attempts"]
    assert [f".{victim.pid}." in a["worker"] for a in attempts] == [True, False], attempts
    # Requeued after the 4 s visibility timeout, not after RQ's default minutes.
    assert time.monotonic() - killed_at < 30

    runs = sorted(sched.runs("bharat-defence-wire", 10), key=lambda r: r.id)
    assert [r.id for r in runs] == [a["run"] for a in attempts]
    assert runs[0].status == "interrupted" and runs[1].status == "ok", runs
    assert_no_overlap(runs)
    articles, versions, odd = stored_once(sched)
    assert articles == len(BHARAT_ARTICLES) and versions == articles and odd == 0
    assert runs[0].new + runs[1].new == articles
    states = {w.name: w.state for w in queue.workers()}
    assert [s for n, s in states.items() if f".{victim.pid}." in n] in ([], ["lost"])

    # SIGTERM mid-crawl: no new task, the crawl gets the grace period (2 s), then is stopped
    # and recorded as interrupted; the worker exits cleanly.
    site.set_delay(FEEDS["capitol-defense-daily"], 30)
    queue.submit("capitol-defense-daily", 60)
    wait_for(lambda: sched.runs("capitol-defense-daily", 1), 30, "the second crawl to start")
    time.sleep(1)  # its crawl process is up and waiting for the feed
    started = time.monotonic()
    assert survivor.stop(timeout=30) == 0, survivor.output()
    assert time.monotonic() - started < 2 + 2 + 10
    last = sched.runs("capitol-defense-daily", 1)[0]
    assert last.status == "interrupted" and last.finished is not None, last


def test_two_workers_crawl_sources_at_once_and_one_worker_one_at_a_time(
    tmp_path: Path, site: SampleSite, pg_database: str, queue_name: str,
    procs: Callable[..., Proc],
) -> None:
    from conftest import _reset_pg

    for path in FEEDS.values():
        site.set_delay(path, 1.5)
    # One worker on one queue, two on another, all started at once (start-up is not measured).
    queues: dict[int, CrawlQueue] = {}
    for n in (1, 2):
        config = write_settings(tmp_path / f"cfg{n}", site, pg_database, f"{queue_name}-{n}",
                                sources={name: {} for name in FEEDS})
        queues[n] = CrawlQueue.from_settings(load_settings(config, env={}).distributed)
        for _ in range(n):
            procs("worker", config)
    try:
        for n, queue in queues.items():
            wait_for(lambda q=queue, n=n: len(q.workers()) >= n, 30, f"{n} workers")

        def crawl_with(n: int) -> int:
            """How many pairs of this crawl's runs overlapped in time."""
            _reset_pg(pg_database)
            Store.from_url(pg_database).close()
            jobs = [queues[n].submit(name, 60)[0] for name in FEEDS]
            wait_for(lambda: all(j.get_status() in ("finished", "failed") for j in jobs), 90,
                     f"{len(jobs)} tasks on {n} workers")
            assert all(j.get_status() == "finished" for j in jobs)
            store = Store.from_url(pg_database, migrate=False)
            try:
                runs = SchedulerStore(store.engine).runs(None, 20)
            finally:
                store.close()
            assert sorted(r.source for r in runs) == sorted(FEEDS)
            assert all(r.status == "ok" for r in runs), runs
            spans = [(r.started, r.finished) for r in runs if r.finished is not None]
            return sum(1 for i, a in enumerate(spans) for b in spans[i + 1:]
                       if a[0] < b[1] and b[0] < a[1])

        one = crawl_with(1)
        two = crawl_with(2)
    finally:
        from distributed_support import clean_queue

        for n in (1, 2):
            clean_queue(f"{queue_name}-{n}")
    # Each source's feed answers in 1.5 s: one worker crawls them one after another, two
    # crawl two at once (what they gain in time is for benchmarks, not for this test).
    assert one == 0, one
    assert two >= 1, two
