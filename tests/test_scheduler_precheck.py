"""The conditional-GET pre-check (scheduler.precheck): against a real local HTTP server, and
inside the real service, where an unchanged source's run starts no crawl process and a changed
one crawls as before."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from distributed_support import wait_for

from config import load_settings
from config.schema import Settings
from crawler.sample_site import SITE_ROOT, SampleSite, render_sources
from scheduler.precheck import PreCheck
from storage import Store
from storage.scheduler_store import RunView, SchedulerStore

FEED = "/bharat-defence-wire/feed.xml"
ATOM = "/capitol-defense-daily/feeds/atom.xml"


@pytest.fixture
def own_site(tmp_path: Path) -> Iterator[SampleSite]:
    """The sample site served from a copy the test may change (robots.txt, a feed)."""
    root = tmp_path / "site"
    shutil.copytree(SITE_ROOT, root)
    with SampleSite(root) as site:
        yield site


def write_config(tmp_path: Path, site: SampleSite, db_url: str, names: dict[str, Any],
                 **sections: Any) -> Path:
    bundled = yaml.safe_load(render_sources(site.base_url))["sources"]
    chosen = [{**e, **names[e["name"]]} for e in bundled if e["name"] in names]
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": chosen}))
    settings: dict[str, Any] = {
        "database_url": db_url, "data_dir": str(tmp_path),
        "contact_url": "https://ops.example.org/newsmon",
        "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                  "download_timeout": "10s", "source_timeout": "60s"},
        "scheduler": {"heartbeat_interval": "1s", "grace_period": "20s", "kill_after": "2s"},
        "sources_file": "sources.yaml",
    }
    for key, value in sections.items():
        settings[key] = {**settings.get(key, {}), **value}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def settings_for(tmp_path: Path, site: SampleSite, db_url: str, **crawl: Any) -> Settings:
    path = write_config(tmp_path, site, db_url, {"bharat-defence-wire": {},
                                                 "capitol-defense-daily": {}}, crawl=crawl)
    return load_settings(path, env={})


def validators_of(site: SampleSite, kept: dict[str, tuple[str | None, str | None]]
                  ) -> Callable[[Any], dict[str, tuple[str | None, str | None]]]:
    return lambda urls: {u: kept[u] for u in urls if u in kept}


def etag_of(site: SampleSite, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(site.url(path)) as response:
        etag = response.headers["ETag"]
    assert isinstance(etag, str)
    return etag


# -- the pre-check on its own, against a real server ----------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unchanged_only_when_every_url_answers_304(
        tmp_path: Path, own_site: SampleSite, db_url: str) -> None:
    settings = settings_for(tmp_path, own_site, db_url)
    source = settings.source("bharat-defence-wire")
    feed = own_site.url(FEED)
    kept = {feed: (etag_of(own_site, FEED), None)}
    check = PreCheck(settings, validators_of(own_site, kept))
    own_site.reset()

    verdict = check.check(source)
    assert verdict.unchanged and verdict.requests == 1, verdict
    assert own_site.requests[FEED] == 1 and own_site.requests["/robots.txt"] == 1
    record = [r for r in own_site.records if r.path == FEED][-1]
    assert record.status == 304

    # The feed changes: its old ETag no longer matches, and the verdict is to crawl.
    path = Path(own_site.root) / FEED.lstrip("/")
    path.write_bytes(path.read_bytes().replace(b"<ttl>15</ttl>", b"<ttl>16</ttl>"))
    verdict = check.check(source)
    assert not verdict.unchanged and verdict.reason == f"{feed}: HTTP 200", verdict
    # robots.txt was read once for both checks.
    assert own_site.requests["/robots.txt"] == 1

    # No validators kept: nothing is asked at all.
    own_site.reset()
    verdict = PreCheck(settings, validators_of(own_site, {})).check(source)
    assert not verdict.unchanged and "no validators kept" in verdict.reason
    assert sum(own_site.requests.values()) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_last_modified_alone_and_the_user_agent_headers_and_cookies_of_the_source(
        tmp_path: Path, own_site: SampleSite, db_url: str) -> None:
    path = write_config(tmp_path, own_site, db_url, {"capitol-defense-daily": {
        "headers": {"User-Agent": "SourceAgent/1.0", "X-Token": "abc"},
        "cookies": {"consent": "yes"}}})
    settings = load_settings(path, env={})
    source = settings.source("capitol-defense-daily")
    url = str(source.urls[0])
    import urllib.request

    with urllib.request.urlopen(url) as response:
        last_modified = response.headers["Last-Modified"]
    own_site.reset()
    verdict = PreCheck(settings, validators_of(own_site, {url: (None, last_modified)})).check(
        source)
    assert verdict.unchanged, verdict
    record = [r for r in own_site.records if r.status == 304][-1]
    headers = {k.lower(): v for k, v in record.headers.items()}
    assert headers["user-agent"] == "SourceAgent/1.0"
    assert headers["x-token"] == "abc" and headers["cookie"] == "consent=yes"
    assert headers["if-modified-since"] == last_modified


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_robots_disallow_or_unreadable_leaves_the_source_to_the_crawl(
        tmp_path: Path, own_site: SampleSite, db_url: str) -> None:
    settings = settings_for(tmp_path, own_site, db_url)
    source = settings.source("bharat-defence-wire")
    kept = {own_site.url(FEED): (etag_of(own_site, FEED), None)}
    (Path(own_site.root) / "robots.txt").write_text(
        "User-agent: *\nDisallow: /bharat-defence-wire/\n")
    own_site.reset()
    verdict = PreCheck(settings, validators_of(own_site, kept)).check(source)
    assert not verdict.unchanged and "disallowed by robots.txt" in verdict.reason
    assert own_site.requests[FEED] == 0  # never asked

    own_site.set_status("/robots.txt", 503)
    verdict = PreCheck(settings, validators_of(own_site, kept)).check(source)
    assert not verdict.unchanged and "robots.txt unknown" in verdict.reason
    assert own_site.requests[FEED] == 0

    # A missing robots.txt allows everything, as in Scrapy; obey_robots off skips it.
    own_site.set_status("/robots.txt", 404)
    assert PreCheck(settings, validators_of(own_site, kept)).check(source).unchanged
    own_site.reset()
    off = settings_for(tmp_path, own_site, db_url, obey_robots=False)
    assert PreCheck(off, validators_of(own_site, kept)).check(source).unchanged
    assert own_site.requests["/robots.txt"] == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_network_errors_and_download_delay(tmp_path: Path, own_site: SampleSite,
                                          db_url: str) -> None:
    settings = settings_for(tmp_path, own_site, db_url, download_delay=0.3)
    source = settings.source("bharat-defence-wire")
    kept = {own_site.url(FEED): (etag_of(own_site, FEED), None)}
    check = PreCheck(settings, validators_of(own_site, kept))
    own_site.reset()
    began = time.monotonic()
    assert check.check(source).unchanged and check.check(source).unchanged
    assert [r.path for r in own_site.records] == ["/robots.txt", FEED, FEED]
    assert time.monotonic() - began >= 0.6  # three requests to one host, 0.3 s apart

    own_site.stop()
    verdict = check.check(source)
    assert not verdict.unchanged and "ConnectionRefusedError" in verdict.reason, verdict


# -- in the real service ---------------------------------------------------------------------


def run_pids(db_url: str) -> dict[int, int | None]:
    from sqlalchemy import select

    from storage.models import CrawlRun

    store = Store.from_url(db_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(select(CrawlRun.id, CrawlRun.pid))}
    finally:
        store.close()


@pytest.mark.slow
def test_service_crawls_once_then_polls_without_a_child_until_the_feed_changes(
        tmp_path: Path, own_site: SampleSite, db_url: str) -> None:
    config = write_config(tmp_path, own_site, db_url,
                          {"bharat-defence-wire": {"schedule": {"interval": "1s"}}})
    Store.from_url(db_url).close()
    store = Store.from_url(db_url, migrate=False)
    sched = SchedulerStore(store.engine)
    log = (tmp_path / "service.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "newsmon.commands.run", "--config",
                             str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def done() -> list[RunView]:
            return [r for r in sched.runs("bharat-defence-wire", 500) if r.status != "running"]

        wait_for(lambda: len(done()) >= 4, 90, "a crawl and three pre-checked runs")
        runs = sorted(done(), key=lambda r: r.id)
        pids = run_pids(db_url)
        first, later = runs[0], runs[1:]
        assert first.status == "ok" and first.new > 0
        assert pids[first.id] != proc.pid  # a crawl child
        assert all(r.status == "ok" and r.requests == 1 and r.new == 0 for r in later)
        assert all(pids[r.id] == proc.pid for r in later), "no crawl process for a 304"
        assert sched.states()["bharat-defence-wire"].consecutive_failures == 0

        # A new entry in the feed: the next run is a crawl again, and stores it.
        root = Path(own_site.root) / "bharat-defence-wire"
        article = next((root / "india-news").glob("*101732415.html"))
        new_page = root / "india-news" / "new-article-999.html"
        new_page.write_text(article.read_text().replace(
            "Army orders 1,200 loitering munitions", "Navy commissions a new survey ship"))
        feed = root / "feed.xml"
        text = feed.read_text()
        item = ("<item><title>Navy commissions a new survey ship</title>"
                "<link>{{BASE}}/bharat-defence-wire/india-news/new-article-999.html</link>"
                "<pubDate>Wed, 25 Nov 2026 08:00:00 +0530</pubDate></item>")
        feed.write_text(text.replace("<item>", item + "<item>", 1))
        seen = len(runs)
        # (Its text is close to the page it was made from: stored as a new version of it.)
        def crawled() -> list[RunView]:
            return [r for r in sorted(done(), key=lambda r: r.id)[seen:] if r.new + r.updated]

        changed = wait_for(crawled, 60, "the changed feed to be crawled")[0]
        assert run_pids(db_url)[changed.id] != proc.pid
        assert own_site.requests["/bharat-defence-wire/india-news/new-article-999.html"] == 1
        # ... and after it, 304s again, with no crawl process.
        wait_for(lambda: [r for r in done() if r.id > changed.id], 30, "a run after it")
        after = [r for r in done() if r.id > changed.id]
        assert all(run_pids(db_url)[r.id] == proc.pid and r.new == 0 for r in after)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        log.close()
        store.close()
    assert code == 0, (tmp_path / "service.log").read_text()
    text = (tmp_path / "service.log").read_text()
    assert "not modified (pre-check, 1 requests, no crawl)" in text


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_precheck_off_keeps_the_child_per_run_model(
        tmp_path: Path, own_site: SampleSite, db_url: str) -> None:
    config = write_config(tmp_path, own_site, db_url,
                          {"bharat-defence-wire": {"schedule": {"interval": "1s"}}},
                          scheduler={"precheck": False})
    Store.from_url(db_url).close()
    store = Store.from_url(db_url, migrate=False)
    sched = SchedulerStore(store.engine)
    proc = subprocess.Popen([sys.executable, "-m", "newsmon.commands.run", "--config",
                             str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len([r for r in sched.runs(None, 50) if r.status == "ok"]) >= 2, 90,
                 "two runs")
        pids = run_pids(db_url)
        assert all(pid != proc.pid for pid in pids.values())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        store.close()


def test_pages_due_make_the_source_crawl_whatever_its_feed_answers(db_url: str) -> None:
    """A refused page due again, or a young article due for a re-fetch, is work a 304 on the
    feed knows nothing of: ``pages_due`` is true and the pre-check leaves it to a crawl."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from config.schema import Source
    from scheduler.precheck import pages_due
    from storage import ArticleRecord
    from storage.models import Article

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    source = Source(name="wire", kind="rss", urls=["http://127.0.0.1:9/feed.xml"])
    store = Store.from_url(db_url)
    try:
        sched = SchedulerStore(store.engine)
        assert not pages_due(sched, source, now)  # nothing stored
        store.upsert_articles([ArticleRecord(
            url_key="example.com/a", canonical_url="https://example.com/a",
            url="https://example.com/a", source="wire", title="Navy inducts radars",
            body="The Navy inducted radars. " * 20, fetched_at=now - timedelta(hours=1))])
        assert not pages_due(sched, source, now)  # young, but fetched an hour ago
        assert pages_due(sched, source, now + timedelta(hours=4))  # refetch_every passed
        late = now + timedelta(days=3)
        assert not pages_due(sched, source, late)  # no longer young
        off = source.model_copy(update={"refetch_within": None})
        assert not pages_due(sched, off, now + timedelta(hours=4))
        with store.engine.begin() as conn:
            conn.execute(update(Article).values(body_source="feed",
                                                page_retry_at=late - timedelta(minutes=1)))
        assert pages_due(sched, off, late)  # a refused page due again
        assert not pages_due(sched, off, late - timedelta(hours=1))
        feed_only = off.model_copy(update={"fetch_articles": False})
        assert not pages_due(sched, feed_only, late)
    finally:
        store.close()
