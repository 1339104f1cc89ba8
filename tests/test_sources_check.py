"""``newsmon sources check`` against a local server that plays every failure a real site does:
a host that does not resolve, 403, 429, a redirect to another host, robots.txt disallowing
us, a bot wall in place of the feed or of the articles, an empty feed, old entries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml
from faults.server import FaultServer, redirect, respond
from typer.testing import CliRunner

from config import load_settings
from crawler.probe import check_sources
from crawler.sample_site import SampleSite, render_sources
from newsmon.app import app
from newsmon.cli import _load_commands

_load_commands()

ARTICLE = """<html><head><title>{title}</title>
<meta property="article:published_time" content="{when}"></head>
<body><article><h1>{title}</h1>{paras}</article></body></html>"""
PARA = ("<p>The ministry said on Tuesday that the new frigate would join the fleet next "
        "year after sea trials, and that two more ships of the class are being built at the "
        "yard, with deliveries planned over the following three years.</p>")
CLOUDFLARE = ("<html><head><title>Just a moment...</title></head><body><p>Checking your "
              "browser before accessing the site.</p></body></html>")


def rss(base: str, items: list[tuple[str, datetime]]) -> str:
    body = "".join(
        f"<item><title>Story {path}</title><link>{base}{path}</link>"
        f"<description>Summary of {path}.</description>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>" for path, when in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link>{body}</channel></rss>")


def article(title: str, when: datetime) -> str:
    paras = "".join(PARA.replace("Tuesday", day).replace("two", n)
                    for day, n in (("Monday", "three"), ("Tuesday", "four"),
                                   ("Wednesday", "five"), ("Thursday", "six")))
    return ARTICLE.format(title=title, when=when.isoformat(), paras=paras)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    now = datetime.now(UTC)
    recent = [now - timedelta(hours=h) for h in (1, 2, 3, 4)]
    with FaultServer() as srv:
        base = srv.base_url
        srv.route("/robots.txt", respond(200, "User-agent: newsmon\nDisallow: /private/\n",
                                         "text/plain"))
        good = [(f"/good/{i}.html", when) for i, when in enumerate(recent)]
        srv.route("/good/feed.xml", respond(200, rss(base, good), "application/rss+xml"))
        for path, when in good:
            srv.route(path, respond(200, article(f"Frigate news {path}", when)))
        srv.route("/forbidden/feed.xml", respond(403, "<html><title>Forbidden</title></html>"))
        srv.route("/limited/feed.xml", respond(429, "slow down", "text/plain",
                                               [("Retry-After", "120")]))
        # Another host name for the same server: the feed moved there.
        moved = f"http://localhost:{srv.port}/good/feed.xml"
        srv.route("/moved/feed.xml", redirect(moved, 301))
        srv.route("/private/feed.xml", respond(200, rss(base, good), "application/rss+xml"))
        srv.route("/walled/feed.xml", respond(200, CLOUDFLARE))
        walled = [(f"/walledpages/{i}.html", when) for i, when in enumerate(recent)]
        srv.route("/walledpages/feed.xml", respond(200, rss(base, walled),
                                                   "application/rss+xml"))
        for path, _when in walled:
            srv.route(path, respond(403, CLOUDFLARE))
        srv.route("/empty/feed.xml", respond(200, rss(base, []), "application/rss+xml"))
        old = [(f"/old/{i}.html", now - timedelta(days=40 + i)) for i in range(3)]
        srv.route("/old/feed.xml", respond(200, rss(base, old), "application/rss+xml"))
        for path, when in old:
            srv.route(path, respond(200, article(f"Old news {path}", when)))
        yield srv


SOURCES = {
    "good": "/good/feed.xml", "forbidden": "/forbidden/feed.xml",
    "limited": "/limited/feed.xml", "moved": "/moved/feed.xml",
    "private": "/private/feed.xml", "walled": "/walled/feed.xml",
    "walledpages": "/walledpages/feed.xml", "empty": "/empty/feed.xml", "old": "/old/feed.xml",
}


@pytest.fixture
def config(tmp_path: Path, server: FaultServer) -> Path:
    sources = [{"name": name, "kind": "rss", "urls": [server.url(path)]}
               for name, path in SOURCES.items()]
    sources.append({"name": "nowhere", "kind": "rss",
                    "urls": ["http://newsmon-probe.invalid/feed.xml"]})
    sources.append({"name": "nowhere-off", "kind": "rss", "enabled": False,
                    "urls": ["http://newsmon-probe-off.invalid/feed.xml"]})
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'newsmon.db'}", "data_dir": str(tmp_path),
        "contact_url": "https://ops.example.org/newsmon", "sources_file": "sources.yaml",
        "crawl": {"download_timeout": "5s"}}))
    return path


def test_each_failure_gets_its_verdict_and_change(config: Path, server: FaultServer) -> None:
    checks = {c.source: c for c in check_sources(load_settings(config, env={}))}

    good = checks["good"]
    assert good.verdict == "works", good.change
    assert good.starts[0].status == 200 and good.starts[0].entries == 4
    assert good.starts[0].robots == "allowed"
    assert len(good.samples) == 3 and all(s.ok for s in good.samples)
    first = good.samples[0]
    assert first.url == server.url("/good/0.html")  # newest first
    assert first.title == "Frigate news /good/0.html"
    assert first.body_words > 100 and first.body_source == "page"
    assert first.published_source not in (None, "feed")  # the page's own time
    assert good.newest is not None and datetime.now(UTC) - good.newest < timedelta(hours=2)

    assert checks["forbidden"].verdict == "blocked"
    assert checks["forbidden"].starts[0].status == 403
    assert "403" in checks["forbidden"].change
    assert checks["limited"].verdict == "blocked" and "429" in checks["limited"].change

    moved = checks["moved"]
    assert moved.verdict == "works"
    assert moved.starts[0].redirect_hosts == ["localhost"]
    assert "localhost" in moved.change and moved.starts[0].redirects[-1] in moved.change

    private = checks["private"]
    assert private.verdict == "blocked" and "robots.txt" in private.change
    assert private.starts[0].robots.startswith("disallowed")
    assert server.hits["/private/feed.xml"] == 0  # not fetched, as the crawl would not

    walled = checks["walled"]
    assert walled.verdict == "blocked" and "Cloudflare" in (walled.starts[0].wall or "")

    pages = checks["walledpages"]
    assert pages.verdict == "feed only", pages.change
    assert all(s.wall and s.body_source == "feed summary" and s.status == 403
               for s in pages.samples)
    assert pages.samples[0].title == "Story /walledpages/0.html"

    empty = checks["empty"]
    assert empty.verdict == "broken" and "no entries" in empty.change

    old = checks["old"]
    assert old.verdict == "stale" and old.starts[0].entries == 3
    assert all(s.ok for s in old.samples)

    nowhere = checks["nowhere"]
    assert nowhere.verdict == "broken"
    assert nowhere.starts[0].dns.startswith("DNS") and "host name" in nowhere.change


def test_cli_table_json_and_exit_status(config: Path, server: FaultServer) -> None:
    runner = CliRunner()
    # Only enabled sources count for the exit status: a disabled broken one does not.
    result = runner.invoke(app, ["sources", "check", "good", "nowhere-off", "--config",
                                 str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [d["source"] for d in doc] == ["good", "nowhere-off"]
    assert [d["verdict"] for d in doc] == ["works", "broken"]
    assert doc[0]["samples"][0]["body_source"] == "page"

    result = runner.invoke(app, ["sources", "check", "good", "empty", "--config", str(config)])
    assert result.exit_code == 1
    assert "works" in result.stdout and "broken" in result.stdout

    result = runner.invoke(app, ["sources", "check", "no-such", "--config", str(config)])
    assert result.exit_code == 2
    assert "no-such" in result.output


def test_bare_sources_still_lists(config: Path) -> None:
    from storage import Store

    settings = load_settings(config, env={})
    Store.from_url(settings.database_url).close()
    result = CliRunner().invoke(app, ["sources", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["name"] for r in rows} == set(SOURCES) | {"nowhere", "nowhere-off"}


def test_a_source_whose_history_is_quiet_is_stale(config: Path, server: FaultServer) -> None:
    from storage import RunStats, Store

    settings = load_settings(config, env={})
    store = Store.from_url(settings.database_url)
    try:
        now = datetime.now(UTC)
        for days in (9, 8, 7, 6, 1):  # stored something daily, then runs storing nothing
            run_id = store.start_run("good", started_at=now - timedelta(days=days))
            store.finish_run(run_id, "ok", RunStats(new=0 if days == 1 else 2))
    finally:
        store.close()
    result = CliRunner().invoke(app, ["sources", "check", "good", "moved", "--config",
                                      str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = {d["source"]: d for d in json.loads(result.stdout)}
    assert doc["good"]["verdict"] == "stale"
    assert "nothing new for 6d (usually every 1d" in doc["good"]["change"]
    assert doc["moved"]["verdict"] == "works"  # no history: the live answer stands


def test_every_source_kind_of_the_sample_site(site: SampleSite, tmp_path: Path) -> None:
    """RSS, Atom, a sitemap index, a news sitemap and listing pages: entries read and sample
    articles extracted as the crawl extracts them."""
    (tmp_path / "sources.yaml").write_text(render_sources(site.base_url))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'newsmon.db'}", "data_dir": str(tmp_path),
        "contact_url": "https://ops.example.org/newsmon", "sources_file": "sources.yaml"}))
    checks = check_sources(load_settings(path, env={}))
    assert {c.kind for c in checks} == {"rss", "atom", "sitemap", "news_sitemap", "listing"}
    for c in checks:
        # The sample site's articles are dated 2026-11-24: "stale" once that is 2 days past.
        assert c.verdict in ("works", "stale"), (c.source, c.change)
        assert c.starts[0].status == 200 and c.starts[0].entries >= 2, c.source
        assert sum(s.ok for s in c.samples) >= 1, c.source
        assert all(s.body_words > 100 for s in c.samples if s.ok), c.source
