"""Politeness per host across sources and processes (crawler/hosts.py, storage/hosts.py):
robots.txt cached in the database, a Retry-After pausing the host for every source, the
per-host delay held across processes, refused and walled pages counted as blocked. Real
crawls of a local server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import yaml
from faults.server import FaultServer, respond
from typer.testing import CliRunner

from config import Settings, load_settings
from crawler.runner import crawl_async
from digest import build_digest, render
from newsmon.app import app
from newsmon.cli import _load_commands
from storage import Store
from storage.hosts import HostStore

PARAS = "".join(
    f"<p>Paragraph {i}: the ministry said the frigate number {i} would join the fleet after "
    f"sea trials in the spring, with {i + 2} more ships of the class under way at the yard.</p>"
    for i in range(6))
WALL = ("<html><head><title>Just a moment...</title></head><body><p>Checking your browser "
        "before accessing the site.</p></body></html>")


def rss(base: str, paths: list[str]) -> str:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    items = "".join(f"<item><title>Story {p}</title><link>{base}{p}</link>"
                    f"<pubDate>{when}</pubDate></item>" for p in paths)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link>{items}</channel></rss>")


def page(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>" \
           f"{PARAS}</article></body></html>"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        srv.route("/robots.txt", respond(200, "User-agent: *\nDisallow: /private/\n",
                                         "text/plain", [("Cache-Control", "max-age=600")]))
        srv.route("/a/feed.xml", respond(200, rss(srv.base_url, ["/a/1.html", "/a/2.html"]),
                                         "application/rss+xml"))
        srv.route("/a/1.html", respond(200, page("First story")))
        srv.route("/a/2.html", respond(403, "<html><title>Forbidden</title></html>"))
        srv.route("/b/feed.xml", respond(200, rss(srv.base_url, ["/b/1.html", "/b/2.html"]),
                                         "application/rss+xml"))
        srv.route("/b/1.html", respond(429, "slow down", "text/plain",
                                       [("Retry-After", "3600")]))
        srv.route("/b/2.html", respond(200, WALL))
        srv.route("/c/feed.xml", respond(200, rss(srv.base_url, ["/c/1.html"]),
                                         "application/rss+xml"))
        srv.route("/c/1.html", respond(200, page("Third story")))
        yield srv


def settings_for(tmp_path: Path, db_url: str, server: FaultServer, **crawl: Any) -> Settings:
    sources = [{"name": n, "kind": "rss", "urls": [server.url(f"/{n}/feed.xml")]}
               for n in ("a", "b", "c")]
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": db_url, "data_dir": str(tmp_path), "sources_file": "sources.yaml",
        "contact_url": "https://ops.example.org/newsmon",
        "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                  "download_timeout": "10s", "source_timeout": "60s", **crawl}}))
    return load_settings(path, env={})


async def crawl(settings: Settings, store: Store, *names: str) -> dict[str, Any]:
    chosen = [settings.source(n) for n in names]
    return {r.source: r for r in await crawl_async(settings, chosen, store=store)}


@pytest_twisted.ensureDeferred
async def test_robots_txt_is_read_once_per_host_across_crawls(
        tmp_path: Path, db_url: str, store: Store, server: FaultServer) -> None:
    settings = settings_for(tmp_path, db_url, server)
    await crawl(settings, store, "a")
    await crawl(settings, store, "c")
    assert server.hits["/robots.txt"] == 1
    cached = HostStore(store.engine).robots(server.base_url)
    assert cached is not None and "Disallow: /private/" in cached.body
    # Its Cache-Control max-age (600 s) beats the 24 h default.
    assert cached.expires_at - cached.fetched_at == timedelta(seconds=600)
    # Expired: fetched again.
    assert HostStore(store.engine).robots(server.base_url,
                                          now=datetime.now(UTC) + timedelta(hours=1)) is None
    uncached = settings_for(tmp_path, db_url, server, robots_cache="0s")
    await crawl(uncached, store, "c")
    assert server.hits["/robots.txt"] == 2


@pytest_twisted.ensureDeferred
async def test_retry_after_pauses_the_host_for_every_source(
        tmp_path: Path, db_url: str, store: Store, server: FaultServer) -> None:
    settings = settings_for(tmp_path, db_url, server)
    results = await crawl(settings, store, "b")
    paused = HostStore(store.engine).paused("127.0.0.1")
    assert paused is not None
    until, reason = paused
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    assert "429" in reason and "/b/1.html" in reason
    assert results["b"].status in ("ok", "partial")
    # Another source on the same host is not asked at all while the pause lasts.
    before = server.hits["/c/feed.xml"]
    results = await crawl(settings, store, "c")
    assert server.hits["/c/feed.xml"] == before == 0
    assert results["c"].status == "failed"
    assert "127.0.0.1 is paused until" in (results["c"].stats.first_error or "")


@pytest_twisted.ensureDeferred
async def test_refused_and_walled_pages_count_as_blocked(
        tmp_path: Path, db_url: str, store: Store, server: FaultServer) -> None:
    settings = settings_for(tmp_path, db_url, server)
    await crawl(settings, store, "a", "b")
    runs = {r.source_name: r for r in store.runs()}
    assert runs["a"].blocked == 1  # the 403
    assert runs["b"].blocked == 2  # the 429 (after its retries) and the bot wall
    # The refused page's article is kept from its feed entry (crawler.fallback): stored,
    # and blocked, not an error.
    assert runs["a"].new == 2
    assert (runs["a"].errors, runs["b"].errors) == (0, 0)

    # Shown by `runs`, `sources`, `status` and the digest's header.
    _load_commands()
    config = str(tmp_path / "settings.yaml")
    cli = CliRunner()
    shown = cli.invoke(app, ["runs", "--config", config, "--format", "json"])
    assert {r["source"]: r["blocked"] for r in json.loads(shown.stdout)} == {"a": 1, "b": 2}
    shown = cli.invoke(app, ["sources", "--config", config, "--format", "json"])
    assert {r["name"]: r["blocked"] for r in json.loads(shown.stdout)} == {
        "a": 1, "b": 2, "c": 0}
    shown = cli.invoke(app, ["status", "--config", config, "--format", "json"])
    assert {r["name"]: r["blocked"] for r in json.loads(shown.stdout)["sources"]} == {
        "a": 1, "b": 2, "c": 0}
    now = datetime.now(UTC)
    digest = build_digest(store, settings, since=now - timedelta(hours=1),
                          until=now + timedelta(minutes=1), now=now)
    assert digest.totals.blocked_pages == 3
    for fmt in ("text", "markdown", "html"):
        assert "3 pages blocked" in render(digest, fmt), fmt


def test_the_host_delay_holds_across_processes(db_url: str, store: Store) -> None:
    # Four "processes" (each its own engine and connections) reserve the same host at once.
    delay = timedelta(seconds=2)
    now = datetime.now(UTC)
    got: list[datetime] = []
    lock = threading.Lock()

    def worker() -> None:
        own = Store.from_url(db_url)
        try:
            for _ in range(5):
                moment = HostStore(own.engine).reserve("news.example", delay, now=now)
                with lock:
                    got.append(moment)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    got.sort()
    assert len(got) == 20
    assert got[0] == now
    assert all(b - a >= delay for a, b in zip(got, got[1:], strict=False)), got
    # Another host has its own slots.
    assert HostStore(store.engine).reserve("other.example", delay, now=now) == now


def test_a_pause_is_never_shortened(store: Store) -> None:
    hosts = HostStore(store.engine)
    now = datetime.now(UTC)
    hosts.pause("h.example", now + timedelta(hours=2), "429 long")
    hosts.pause("h.example", now + timedelta(minutes=5), "503 short")
    assert hosts.paused("h.example", now) == (now + timedelta(hours=2), "429 long")
    assert hosts.paused("h.example", now + timedelta(hours=3)) is None
