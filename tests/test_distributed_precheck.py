"""The pre-check in distributed mode: a ``newsmon worker`` settles an unchanged source's task
with conditional GETs from its own process, and starts a crawl process only when the feed
changed (Redis, PostgreSQL, the real service and worker, the sample site on 127.0.0.1)."""

from __future__ import annotations

import shutil
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
from sqlalchemy import select

from crawler.sample_site import SITE_ROOT, SampleSite
from storage import Store
from storage.models import CrawlRun
from storage.scheduler_store import RunView, SchedulerStore

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def own_site(tmp_path: Path) -> Iterator[SampleSite]:
    root = tmp_path / "site"
    shutil.copytree(SITE_ROOT, root)
    with SampleSite(root) as site:
        yield site


@pytest.fixture
def sched(pg_database: str) -> Iterator[SchedulerStore]:
    from conftest import _reset_pg

    _reset_pg(pg_database)
    Store.from_url(pg_database).close()
    store = Store.from_url(pg_database, migrate=False)
    yield SchedulerStore(store.engine)
    store.close()


def pids(sched: SchedulerStore) -> dict[int, int | None]:
    with sched.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(select(CrawlRun.id, CrawlRun.pid))}


def test_a_worker_polls_without_a_crawl_process_until_the_feed_changes(
        tmp_path: Path, own_site: SampleSite, pg_database: str, sched: SchedulerStore,
        queue_name: str, procs: Callable[..., Proc]) -> None:
    config = write_settings(tmp_path / "cfg", own_site, pg_database, queue_name,
                            sources={"bharat-defence-wire": {"schedule": {"interval": "2s"}}},
                            scheduler={"grace_period": "20s"})
    worker = procs("worker", config)
    service = procs("run", config)

    def done() -> list[RunView]:
        return sorted((r for r in sched.runs(None, 500) if r.status != "running"),
                      key=lambda r: r.id)

    wait_for(lambda: len(done()) >= 3, 120, "a crawl and two pre-checked runs")
    runs, by_id = done(), pids(sched)
    assert runs[0].new > 0 and by_id[runs[0].id] not in (worker.pid, service.pid)
    assert all(r.status == "ok" and r.requests == 1 and r.new == 0 for r in runs[1:])
    assert all(by_id[r.id] == worker.pid for r in runs[1:]), "the worker's own process"

    feed = Path(own_site.root) / "bharat-defence-wire" / "feed.xml"
    feed.write_text(feed.read_text().replace("<ttl>15</ttl>", "<ttl>20</ttl>"))
    seen = runs[-1].id
    wait_for(lambda: [r for r in done() if r.id > seen and pids(sched)[r.id] != worker.pid],
             60, "a crawl process for the changed feed")
    assert service.stop() == 0, service.output()
    assert worker.stop() == 0, worker.output()
    assert "not modified (pre-check, no crawl)" in worker.output()
