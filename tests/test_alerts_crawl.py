"""Alerts through real crawls of a fixture site on 127.0.0.1, delivered to a real local
webhook receiver and a local SMTP server: once per story, grown at the threshold, batching,
retries with back-off."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import yaml
from alerts_support import Receiver, write_site
from sqlalchemy import select

from alerts.delivery import DeliveryWorker, deliver_due
from config import Settings, load_settings
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from storage import Store
from storage.alert_models import AlertDelivery, AlertEvent

SECRET = "s3cret-key"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _settings(tmp_path: Path, base: str, db_url: str, wires: list[str],
              watchlists: list[dict[str, Any]], notify: dict[str, Any],
              **source: Any) -> Settings:
    data = {
        "database_url": db_url, "data_dir": str(tmp_path),
        "contact_url": "https://ops.example.org/newsmon",
        "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
        "sources": [{"name": w, "kind": "rss", "urls": [f"{base}/{w}/feed.xml"],
                     "timezone": "UTC", **source} for w in wires],
        "watchlists": watchlists, "notify": notify,
        "alerts": {"retry_delay": "10s", "max_attempts": 4},
    }
    path = tmp_path / f"settings-{'-'.join(wires)}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path, env={})


def _events(store: Store) -> list[tuple[str, str, int]]:
    with store.session() as s:
        return [(e.watchlist, e.event, e.story_id) for e in
                s.scalars(select(AlertEvent).order_by(AlertEvent.id))]


def _signed(headers: dict[str, str], body: bytes) -> bool:
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Newsmon-Signature", ""), want)


@pytest_twisted.ensureDeferred
async def test_one_alert_per_story_then_grown_at_the_threshold(
        tmp_path: Path, store: Store, db_url: str, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_TEST_SECRET", SECRET)
    root = tmp_path / "site"
    write_site(root, {"wire-a": ["brahmos", "tariff"], "wire-b": ["brahmos"],
                      "wire-c": ["brahmos", "dac"]})
    watch = [{"name": "brahmos-exports", "query": "brahmos AND (export* OR contract)",
              "min_sources": 3, "notify": ["hook"]},
             {"name": "dac", "query": '"acquisition council"', "topics": ["defence"],
              "notify": ["hook"]}]
    notify = {"hook": {"webhook": receiver.url, "secret_env": "NEWSMON_TEST_SECRET"}}
    with SampleSite(root) as site:
        def settings(*wires: str) -> Settings:
            return _settings(tmp_path, site.base_url, db_url, list(wires), watch, notify)

        await crawl_async(settings("wire-a"), settings("wire-a").sources, store=store)
        assert deliver_due(store, settings("wire-a")) == (1, 0)
        (first,) = receiver.bodies()
        assert first["watchlist"] == "brahmos-exports" and first["event"] == "new"
        assert first["title"].startswith("BrahMos export contract")
        assert first["source"] == "wire-a" and first["sources_count"] == 1
        assert first["url"].endswith("/wire-a/brahmos.html")
        assert set(first["matched"]) == {"brahmos", "export*", "contract"}
        assert "Philippines" in first["snippet"] and first["published_at"]
        assert set(first) == {"watchlist", "event", "story_id", "article_id", "title", "url",
                              "source", "published_at", "sources_count", "snippet", "matched"}
        headers, raw = receiver.requests[0]
        assert _signed(headers, raw) and headers["Content-Type"] == "application/json"

        # A re-fetch of the same pages: nothing new to say.
        await crawl_async(settings("wire-a"), settings("wire-a").sources, store=store)
        # The copy on a second wire: same story, two sources, still below the threshold.
        await crawl_async(settings("wire-b"), settings("wire-b").sources, store=store)
        assert deliver_due(store, settings("wire-b")) == (0, 0)
        # The third source carries it, and an unrelated DAC story.
        await crawl_async(settings("wire-c"), settings("wire-c").sources, store=store)
        assert deliver_due(store, settings("wire-c")) == (2, 0)
    bodies = receiver.bodies()
    assert sorted((b["watchlist"], b["event"]) for b in bodies) == [
        ("brahmos-exports", "grown"), ("brahmos-exports", "new"), ("dac", "new")]
    grown = next(b for b in bodies if b["event"] == "grown")
    assert grown["story_id"] == first["story_id"] and grown["sources_count"] == 3
    assert all(_signed(h, b) for h, b in receiver.requests)
    assert len(_events(store)) == 3  # the tariff story matched nothing


@pytest_twisted.ensureDeferred
async def test_batching_and_retries_after_the_receiver_fails_twice(
        tmp_path: Path, store: Store, db_url: str) -> None:
    root = tmp_path / "site"
    write_site(root, {"wire-a": ["brahmos", "dac", "tariff"]})
    watch = [{"name": "india-defence", "query": "brahmos OR council", "batch": "15m",
              "notify": ["hook"]}]
    with Receiver(fail=2) as receiver, SampleSite(root) as site:
        settings = _settings(tmp_path, site.base_url, db_url, ["wire-a"], watch,
                             {"hook": {"webhook": receiver.url}})
        await crawl_async(settings, settings.sources, store=store)
        with store.session() as s:
            rows = list(s.scalars(select(AlertDelivery)))
        assert len(rows) == 2 and len({r.batch_until for r in rows}) == 1
        window_end = rows[0].batch_until
        assert window_end is not None
        assert deliver_due(store, settings, now=window_end - timedelta(seconds=1)) == (0, 0)
        assert deliver_due(store, settings, now=window_end) == (0, 1)  # 500
        # Back-off: 10 s after the first failure, 20 s after the second.
        assert deliver_due(store, settings, now=window_end + timedelta(seconds=9)) == (0, 0)
        assert deliver_due(store, settings, now=window_end + timedelta(seconds=10)) == (0, 1)
        assert deliver_due(store, settings, now=window_end + timedelta(seconds=29)) == (0, 0)
        assert deliver_due(store, settings, now=window_end + timedelta(seconds=30)) == (1, 0)
        assert receiver.answered == [500, 500, 204]
    (body,) = receiver.bodies()
    assert body["batch"] is True and body["count"] == 2
    assert sorted(a["title"][:6] for a in body["alerts"]) == ["BrahMo", "Defenc"]
    with store.session() as s:
        rows = list(s.scalars(select(AlertDelivery)))
    assert {(r.status, r.attempts) for r in rows} == {("sent", 3)}


@pytest_twisted.ensureDeferred
async def test_failed_after_max_attempts_and_the_worker_thread_delivers(
        tmp_path: Path, store: Store, db_url: str) -> None:
    root = tmp_path / "site"
    write_site(root, {"wire-a": ["brahmos"]})
    watch = [{"name": "b", "query": "brahmos", "notify": ["dead", "hook"]}]
    with Receiver() as receiver, SampleSite(root) as site:
        settings = _settings(tmp_path, site.base_url, db_url, ["wire-a"], watch,
                             {"hook": {"webhook": receiver.url},
                              "dead": {"webhook": "http://127.0.0.1:9/nothing-listens"}})
        with DeliveryWorker(store, settings):
            await crawl_async(settings, settings.sources, store=store)
            deadline = time.monotonic() + 10
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.05)
        assert [b["event"] for b in receiver.bodies()] == ["new"]
        with store.session() as s:
            dead = s.scalars(select(AlertDelivery).where(AlertDelivery.target == "dead")).one()
        assert dead.status == "pending" and dead.attempts >= 1 and dead.last_error
        now = dead.due_at
        for _ in range(4):  # the worker's own pass may have made one attempt more
            now += timedelta(days=1)
            deliver_due(store, settings, now=now)
        with store.session() as s:
            dead = s.scalars(select(AlertDelivery).where(AlertDelivery.target == "dead")).one()
        assert dead.status == "failed" and dead.attempts == 4
        assert "127.0.0.1:9" in (dead.last_error or "")
        assert len(receiver.requests) == 1


@pytest_twisted.ensureDeferred
async def test_email_alert_through_a_local_smtp_server(tmp_path: Path, store: Store,
                                                       db_url: str) -> None:
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        root = tmp_path / "site"
        write_site(root, {"wire-a": ["brahmos", "tariff"]})
        with SampleSite(root) as site:
            settings = _settings(tmp_path, site.base_url, db_url, ["wire-a"],
                                 [{"name": "b", "query": "brahmos", "notify": ["mail"]}],
                                 {"mail": {"email": ["analyst@example.com"]}})
            settings = settings.model_copy(update={"digest": settings.digest.model_copy(
                update={"smtp": settings.digest.smtp.model_copy(update={
                    "host": "127.0.0.1", "port": port, "security": "none"})})})
            await crawl_async(settings, settings.sources, store=store)
            assert deliver_due(store, settings) == (1, 0)
    finally:
        controller.stop()
    (env,) = handler.messages
    assert env.rcpt_tos == ["analyst@example.com"]
    text = env.content.decode()
    assert "[b] new: BrahMos export contract" in text and "wire-a/brahmos.html" in text


@pytest_twisted.ensureDeferred
async def test_a_revision_alerts_updated_only_with_on_update(tmp_path: Path, store: Store,
                                                             db_url: str) -> None:
    root = tmp_path / "site"
    write_site(root, {"wire-a": ["brahmos"]})
    watch = [{"name": "revisions", "query": "brahmos", "on_update": True, "notify": ["hook"]},
             {"name": "firsts", "query": "brahmos", "notify": ["hook"]}]
    with Receiver() as receiver, SampleSite(root) as site:
        settings = _settings(tmp_path, site.base_url, db_url, ["wire-a"], watch,
                             {"hook": {"webhook": receiver.url}}, refetch_within="1d",
                             refetch_every="0.001s")
        await crawl_async(settings, settings.sources, store=store)
        write_site(root, {"wire-a": ["brahmos"]}, edited={"brahmos"})
        # The feed says what changed (a feed equal to the last one is answered 304, and a
        # later Last-Modified even within the same second).
        for page in root.rglob("*.*"):
            os.utime(page, (time.time() + 60, time.time() + 60))
        await crawl_async(settings, settings.sources, store=store)
        await crawl_async(settings, settings.sources, store=store)  # unchanged: nothing
        assert deliver_due(store, settings) == (3, 0), (_events(store), [
            (r.status, r.new, r.updated, r.unchanged, r.first_error) for r in store.runs()])
    assert sorted((b["watchlist"], b["event"]) for b in receiver.bodies()) == [
        ("firsts", "new"), ("revisions", "new"), ("revisions", "updated")]
    updated = next(b for b in receiver.bodies() if b["event"] == "updated")
    assert "first battery is now due" in (store.articles()[0].body)
    assert updated["article_id"] == store.articles()[0].id


@pytest_twisted.ensureDeferred
async def test_an_apprise_url_reaches_its_service(tmp_path: Path, store: Store,
                                                  db_url: str) -> None:
    root = tmp_path / "site"
    write_site(root, {"wire-a": ["brahmos", "dac"]})
    with Receiver() as receiver, SampleSite(root) as site:
        # Apprise's json:// posts a JSON message to an HTTP server: the local receiver.
        url = receiver.url.replace("http://", "json://")
        settings = _settings(tmp_path, site.base_url, db_url, ["wire-a"],
                             [{"name": "b", "query": "brahmos", "notify": ["chat"]}],
                             {"chat": {"apprise": url}})
        await crawl_async(settings, settings.sources, store=store)
        assert deliver_due(store, settings) == (1, 0)
    (msg,) = receiver.bodies()
    assert msg["title"] == "[b] new: BrahMos export contract signed with Manila for coastal "\
        "batteries"
    assert "wire-a/brahmos.html" in msg["message"]
