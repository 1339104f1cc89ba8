"""newsmon alerts, watch list / test / feed, in-process, over real crawls of a fixture site:
exact errors and exit statuses, and a dry run that sends and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest_twisted
import yaml
from alerts_support import Receiver, write_site
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from alerts.delivery import deliver_due
from config import load_settings
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from newsmon import cli
from newsmon.app import app
from storage import Store
from storage.alert_models import AlertDelivery, AlertEvent

cli._load_commands()

WIRES = {"wire-a": ["brahmos", "tariff"], "wire-b": ["brahmos"], "wire-c": ["brahmos", "dac"]}


def _config(tmp_path: Path, base: str, db_url: str, **extra: Any) -> Path:
    data = {"database_url": db_url, "data_dir": str(tmp_path),
            "contact_url": "https://ops.example.org/newsmon",
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": w, "kind": "rss", "urls": [f"{base}/{w}/feed.xml"],
                         "timezone": "UTC", "topic": "defence"} for w in WIRES], **extra}
    path = tmp_path / f"settings-{len(list(tmp_path.glob('settings-*')))}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def _count(store: Store, table: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


async def _crawl_all(config: Path, store: Store) -> None:
    settings = load_settings(config, env={})
    for source in settings.sources:  # one after another: the story grows source by source
        await crawl_async(settings, [source], store=store)


@pytest_twisted.ensureDeferred
async def test_watch_test_is_a_dry_run_story_by_story(tmp_path: Path, store: Store,
                                                      db_url: str) -> None:
    write_site(tmp_path / "site", WIRES)
    with SampleSite(tmp_path / "site") as site, Receiver() as receiver:
        await _crawl_all(_config(tmp_path, site.base_url, db_url), store)  # no watchlists
        config = _config(tmp_path, site.base_url, db_url, watchlists=[
            {"name": "brahmos-exports", "query": "brahmos AND (export OR contract)",
             "min_sources": 3, "notify": ["hook"]}],
            notify={"hook": {"webhook": receiver.url}})
        result = run(config, "watch", "test", "brahmos-exports", "--since", "30d",
                     "--format", "json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert [(r["event"], r["sources"], r["source"]) for r in rows] == [
            ("new", 1, "wire-a"), ("grown", 3, "wire-c")]
        assert rows[0]["story"] == rows[1]["story"]
        assert rows[0]["title"].startswith("BrahMos export contract")
        assert receiver.answered == []
    assert _count(store, AlertEvent) == 0 and _count(store, AlertDelivery) == 0

    nothing = run(config, "watch", "test", "brahmos-exports", "--since", "2099-01-01")
    assert nothing.exit_code == 0
    assert "would have alerted nothing since 2099-01-01" in nothing.stdout
    unknown = run(config, "watch", "test", "nope")
    assert unknown.exit_code == 2
    assert ("unknown watchlist 'nope' (watchlists: brahmos-exports); see 'newsmon watch "
            "list'") in " ".join(unknown.stderr.split())


@pytest_twisted.ensureDeferred
async def test_alerts_log_watch_list_and_feed(tmp_path: Path, store: Store,
                                              db_url: str) -> None:
    write_site(tmp_path / "site", WIRES)
    with SampleSite(tmp_path / "site") as site, Receiver() as receiver:
        config = _config(tmp_path, site.base_url, db_url, watchlists=[
            {"name": "brahmos-exports", "query": "brahmos", "min_sources": 2,
             "notify": ["hook", "dead"]},
            {"name": "quiet", "query": "submarine", "notify": ["hook"]}],
            notify={"hook": {"webhook": receiver.url},
                    "dead": {"webhook": "http://127.0.0.1:9/hook"}})
        await _crawl_all(config, store)
        assert deliver_due(store, load_settings(config, env={})) == (2, 2)

    listed = run(config, "watch", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    by_name = {r["name"]: r for r in json.loads(listed.stdout)}
    assert by_name["brahmos-exports"]["day"] == 2 and by_name["brahmos-exports"]["week"] == 2
    assert by_name["brahmos-exports"]["pending"] == 2  # the dead target's, retried later
    assert by_name["brahmos-exports"]["last_delivery"] is not None
    assert by_name["quiet"]["day"] == 0 and by_name["quiet"]["last_delivery"] is None

    failed = run(config, "alerts", "--failed", "--format", "json")
    assert failed.exit_code == 0, failed.output
    rows = json.loads(failed.stdout)
    assert {(r["target"], r["event"], r["attempts"]) for r in rows} == {
        ("dead", "new", 1), ("dead", "grown", 1)}
    assert all("127.0.0.1:9" in r["error"] for r in rows)
    every = json.loads(run(config, "alerts", "-w", "brahmos-exports", "--format",
                           "json").stdout)
    assert sorted((r["target"], r["status"]) for r in every) == [
        ("dead", "pending"), ("dead", "pending"), ("hook", "sent"), ("hook", "sent")]

    out = tmp_path / "brahmos.xml"
    fed = run(config, "watch", "feed", "brahmos-exports", "--out", str(out))
    assert fed.exit_code == 0, fed.output
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ET.parse(out).getroot().findall(f"{atom}entry")
    assert [e.findtext(f"{atom}title", "").split(":")[0] for e in entries] == ["grown", "new"]
    assert entries[1].find(f"{atom}link").get("href", "").endswith("/wire-a/brahmos.html")
    missing = run(config, "watch", "feed", "brahmos-exports", "--out",
                  str(tmp_path / "no" / "f.xml"))
    assert missing.exit_code == 2 and not (tmp_path / "no").exists()


def test_a_bad_watchlist_is_an_error_naming_file_watchlist_and_field(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'n.db'}", "data_dir": str(tmp_path),
        "watchlists": [{"name": "ok", "query": "brahmos", "notify": ["hook"]},
                       {"name": "broken", "query": "brahmos AND", "min_sources": 0}],
        "notify": {"hook": {"webhook": "ftp://example.org/x"}}}))
    result = run(path, "watch", "list")
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert f"invalid configuration in {path}" in err
    assert ("watchlist 'broken' (entry 2), field 'query': not a valid search query: 'AND' "
            "needs something to find on both sides") in err
    assert "watchlist 'broken' (entry 2), field 'min_sources': Input should be greater than "\
        "or equal to 1" in err
    assert "notify target 'hook', field 'webhook': 'ftp://example.org/x' is not an http(s) "\
        "URL" in err
    assert not (tmp_path / "n.db").exists()

    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'n.db'}", "data_dir": str(tmp_path),
        "watchlists": [{"name": "a", "query": "x", "notify": ["mail"]},
                       {"name": "a", "query": "y"}]}))
    err = " ".join(run(path, "watch", "list").stderr.split())
    assert "watchlist 'a' (entry 1), field 'notify': unknown target 'mail' (notify: none "\
        "defined)" in err
    assert "watchlist 'a' (entry 2), field 'name': duplicate watchlist name" in err


@pytest_twisted.ensureDeferred
async def test_digest_of_one_watchlist_emailed_to_its_own_recipients(
        tmp_path: Path, store: Store, db_url: str) -> None:
    import socket

    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.envelopes: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            self.envelopes.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    write_site(tmp_path / "site", WIRES)
    with SampleSite(tmp_path / "site") as site:
        config = _config(
            tmp_path, site.base_url, db_url,
            watchlists=[{"name": "brahmos-exports", "query": "brahmos", "notify": ["mail"]}],
            notify={"mail": {"email": ["analyst@example.com"]}},
            digest={"recipients": ["everyone@example.com"],
                    "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}})
        await _crawl_all(config, store)
    everything = json.loads(run(config, "digest", "--since", "30d", "--format", "json").stdout)
    titles = [s["title"] for sec in everything["sections"] for s in sec["stories"]]
    assert len(titles) == 3 and any(t.startswith("BrahMos") for t in titles)
    smtp.start()
    try:
        result = run(config, "digest", "--since", "30d", "--watchlist", "brahmos-exports",
                     "--format", "json", "--email")
    finally:
        smtp.stop()
    assert result.exit_code == 0, result.output
    digest = json.loads(result.stdout)
    (story,) = [s for sec in digest["sections"] for s in sec["stories"]]
    assert story["title"].startswith("BrahMos export contract") and story["source_count"] == 3
    assert "watchlist brahmos-exports" in digest["title"]
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == ["analyst@example.com"]
    bad = run(config, "digest", "--watchlist", "nope")
    assert bad.exit_code == 2 and "unknown watchlist 'nope'" in bad.stderr
