"""The service's delivery thread: ``newsmon run`` (a subprocess) crawls the sample site in a
crawl child, the child writes the outbox, and the service's own delivery worker posts the
alert to a local webhook receiver, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from alerts_support import Receiver
from distributed_support import wait_for
from sqlalchemy import select

from crawler.sample_site import SampleSite, render_sources
from storage import Store
from storage.alert_models import AlertDelivery, AlertEvent

NAVY = ("/bharat-defence-wire/india-news/"
        "navy-project-75i-submarine-deal-enters-final-cost-talks-101732901.html")

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_service_delivers_an_alert_of_its_crawl_to_a_webhook(
    tmp_path: Path, site: SampleSite, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = yaml.safe_load(render_sources(site.base_url))["sources"]
    wire = next(s for s in bundled if s["name"] == "bharat-defence-wire")
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(
        {"sources": [{**wire, "schedule": {"interval": "1h"}}]}))
    monkeypatch.setenv("NEWSMON_TEST_HOOK_SECRET", "s3cret")
    with Receiver() as receiver:
        (tmp_path / "settings.yaml").write_text(yaml.safe_dump({
            "database_url": db_url, "data_dir": str(tmp_path), "sources_file": "sources.yaml",
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                      "download_timeout": "20s", "source_timeout": "60s"},
            "scheduler": {"heartbeat_interval": "1s", "grace_period": "5s",
                          "kill_after": "2s"},
            "watchlists": [{"name": "p75i", "query": "konkan AND submarine",
                            "notify": ["hook"]}],
            "notify": {"hook": {"webhook": receiver.url,
                                "secret_env": "NEWSMON_TEST_HOOK_SECRET"}},
            "alerts": {"poll_interval": "0.2s"},
        }))
        Store.from_url(db_url).close()  # migrated first, so the test can read from the start
        log = (tmp_path / "service.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsmon.commands.run", "--config",
             str(tmp_path / "settings.yaml")], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: receiver.requests, 60, "the service to post the alert")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
            log.close()
        output = (tmp_path / "service.log").read_text(errors="replace")
        assert code == 0, output

    assert len(receiver.requests) == 1, receiver.bodies()
    headers, raw = receiver.requests[0]
    assert headers["X-Newsmon-Signature"] == (
        "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest())
    body = json.loads(raw)
    assert (body["watchlist"], body["event"], body["source"]) == (
        "p75i", "new", "bharat-defence-wire")
    assert body["url"] == site.base_url + NAVY
    assert body["title"] == ("Navy’s Project-75I submarine deal enters final cost talks with "
                             "Konkan Shipbuilders")
    assert body["matched"] == ["konkan", "submarine"]
    store = Store.from_url(db_url, migrate=False)
    try:
        with store.session() as s:
            event = s.scalars(select(AlertEvent)).one()
            delivery = s.scalars(select(AlertDelivery)).one()
    finally:
        store.close()
    assert (event.watchlist, event.event, event.article_id) == ("p75i", "new",
                                                                 body["article_id"])
    assert (delivery.event_id, delivery.target, delivery.status, delivery.attempts,
            delivery.last_error) == (event.id, "hook", "sent", 1, None)
