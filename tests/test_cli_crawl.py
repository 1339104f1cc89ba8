"""The spine end to end, through the installed `newsmon` command in child processes:
crawl, demo and extract, as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from config import Settings
from crawler.sample_site import SampleSite, load_expected
from crawler.urls import url_key

NEWSMON = [sys.executable, "-m", "newsmon"]
SAMPLE = Path(__file__).parent / "sample_data"


def newsmon(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["COLUMNS"] = "200"  # wide enough that table cells are not wrapped
    return subprocess.run([*NEWSMON, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def settings_path(settings: Settings, tmp_path: Path) -> Path:
    found = sorted(tmp_path.glob("cfg-*/settings.yaml"))
    assert found, "make_settings writes its YAML under tmp_path"
    return found[-1]


def test_crawl_twice_stores_once_and_reports(
    site: SampleSite, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    db = tmp_path / "cli.db"
    settings = make_settings(f"sqlite:///{db}")
    config = settings_path(settings, tmp_path)

    first = newsmon("crawl", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # Scrapy's own chatter only with -v
    assert "Crawl summary" in first.stdout
    for source in settings.enabled_sources():
        assert source.name in first.stdout

    expected = [e for e in load_expected(site.base_url) if not e.get("dropped")]
    with sqlite3.connect(db) as conn:
        keys = {k for (k,) in conn.execute("select url_key from articles")}
        runs = conn.execute("select count(*), sum(new) from crawl_runs").fetchone()
    assert keys == {url_key(e["url"]) for e in expected}
    assert runs == (len(settings.enabled_sources()), len(expected))

    second = newsmon("crawl", "--config", str(config))
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (len(expected),)
        assert conn.execute(
            "select sum(new) from crawl_runs where id > ?", (runs[0],)).fetchone() == (0,)


def test_crawl_of_one_source_and_unknown_source(
    site: SampleSite, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'one.db'}")
    config = str(settings_path(settings, tmp_path))
    one = newsmon("crawl", "--config", config, "--source", "bharat-defence-wire")
    assert one.returncode == 0, one.stderr
    assert "bharat-defence-wire" in one.stdout and "capitol-defense-daily" not in one.stdout

    bad = newsmon("crawl", "--config", config, "--source", "no-such-source")
    assert bad.returncode == 2
    assert "unknown source 'no-such-source'" in bad.stderr


def test_crawl_exits_1_when_every_source_failed(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    # Every feed URL points at a port nothing listens on.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/feed.xml"
    settings = make_settings(f"sqlite:///{tmp_path / 'dead.db'}")
    config = settings_path(settings, tmp_path)
    sources = config.parent / "sources.yaml"
    sources.write_text(json.dumps({"sources": [
        {"name": "dead-one", "kind": "rss", "urls": [dead]},
        {"name": "dead-two", "kind": "atom", "urls": [dead]},
    ]}))
    result = newsmon("crawl", "--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("failed") >= 2
    assert "Connection" in result.stdout or "refused" in result.stdout


@pytest.mark.slow
def test_demo_stores_every_bundled_article_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = newsmon("demo", "--folder", str(tmp_path / "demo"), "--database",
                     f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert "Stored articles" in result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select title, published_raw, body from articles").fetchall()
    with SampleSite() as site:  # the manifest, for titles (URLs depend on the demo's port)
        expected = [e for e in load_expected(site.base_url) if not e.get("dropped")]
    assert sorted(r[0] for r in rows) == sorted(e["title"] for e in expected)
    highlights = [r for r in rows if r[0].startswith(next(
        e["title"] for e in expected if e.get("published_ago_seconds")))]
    assert len(highlights) == 1 and highlights[0][1] == "2 hours ago"
    assert ".png)" not in highlights[0][2] and "English (US)" not in highlights[0][2]


def test_extract_prints_the_article_as_json() -> None:
    result = newsmon("extract", str(SAMPLE / "highlights_page.html"),
                     "--url", "https://news.example.in/defence/india-us-defence-ties",
                     "--fetched-at", "2026-11-25T10:00:00+00:00")
    assert result.returncode == 0, result.stderr
    art = json.loads(result.stdout)
    assert len(art["highlights"]) == 3
    assert art["published_at"] == "2026-11-25T08:00:00+00:00"
    assert art["published_raw"] == "2 hours ago"
    assert art["body"].startswith("India's defence engagement with the United States")
    for junk in (".png)", "English (US)", "\n24\n"):
        assert junk not in art["body"]


def test_extract_reports_bad_input() -> None:
    missing = newsmon("extract", "/nonexistent/page.html")
    assert missing.returncode == 2
    assert "cannot read /nonexistent/page.html" in missing.stderr
    bad_time = newsmon("extract", str(SAMPLE / "highlights_page.html"), "--fetched-at",
                       "yesterday-ish")
    assert bad_time.returncode == 2
    assert "--fetched-at: 'yesterday-ish' is not an ISO-8601 time" in bad_time.stderr


def test_extract_of_a_url_sends_the_user_agent_and_the_sources_headers_and_cookies(
    tmp_path: Path,
) -> None:
    (tmp_path / "story.html").write_text(
        "<html><head><title>Navy frigate begins sea trials</title></head><body><article>"
        "<h1>Navy frigate begins sea trials</h1><p>The frigate began sea trials off the "
        "western coast on Tuesday, officials said.</p></article></body></html>")
    with SampleSite(root=tmp_path) as site:
        (tmp_path / "sources.yaml").write_text(
            "sources:\n  - name: desk\n    kind: rss\n"
            f"    urls: [\"{site.url('/feed.xml')}\"]\n"
            "    headers: {Accept-Language: en-IN}\n    cookies: {consent: \"yes\"}\n")
        (tmp_path / "settings.yaml").write_text(
            "contact_url: https://ops.example.org/newsmon\nsources_file: sources.yaml\n")
        config = str(tmp_path / "settings.yaml")
        plain = newsmon("extract", site.url("/story.html"), "--config", config)
        with_source = newsmon("extract", site.url("/story.html"), "--config", config,
                              "--source", "desk")
        records = site.records
    assert plain.returncode == 0 and with_source.returncode == 0, (plain.stderr,
                                                                   with_source.stderr)
    assert json.loads(with_source.stdout)["title"] == "Navy frigate begins sea trials"
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in records]
    ua = sent[0]["user-agent"]
    assert ua.startswith("Mozilla/5.0 (compatible; newsmon/")
    assert ua.endswith("; +https://ops.example.org/newsmon)")
    assert ("accept-language" in sent[0], "cookie" in sent[0]) == (False, False)
    assert (sent[1]["user-agent"], sent[1]["accept-language"], sent[1]["cookie"]) == \
        (ua, "en-IN", "consent=yes")
