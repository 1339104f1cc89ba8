"""Real Scrapy crawls of the bundled sample site on 127.0.0.1 into SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_twisted

from config import Settings
from config import loader as config_loader
from config.schema import PLACEHOLDER_CONTACT_URL, newsmon_version
from crawler.runner import crawl_async
from crawler.sample_site import RequestRecord, SampleSite, load_expected
from crawler.urls import url_key
from storage import Store


def _expected(site: SampleSite) -> tuple[list[dict], list[dict]]:
    entries = load_expected(site.base_url)
    kept = [e for e in entries if not e.get("dropped")]
    dropped = [e for e in entries if e.get("dropped")]
    return kept, dropped


async def _crawl(settings: Settings, store: Store) -> dict[str, object]:
    results = await crawl_async(settings, settings.enabled_sources(), store=store)
    return {r.source: r for r in results}


@pytest_twisted.ensureDeferred
async def test_crawl_stores_every_article_once_with_right_fields(
    site: SampleSite, store: Store, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(db_url)
    results = await _crawl(settings, store)
    assert {name: r.status for name, r in results.items()} == {  # type: ignore[attr-defined]
        s.name: "ok" for s in settings.enabled_sources()}

    kept, dropped = _expected(site)
    stored = {a.url_key: a for a in store.articles()}
    assert len(stored) == len(kept)
    for exp in kept:
        art = stored.get(url_key(exp["url"]))
        assert art is not None, f"not stored: {exp['url']}"
        # Sources crawl concurrently: an article linked by two belongs to whichever stored it
        # first.
        assert art.source.name in [exp["source"], *exp.get("also_linked_by", [])], exp["url"]
        assert art.title == exp["title"], exp["url"]
        assert art.body.startswith(exp["body_starts_with"]), (exp["url"], art.body[:80])
        for junk in exp.get("body_must_not_contain", []):
            assert junk not in art.body, (exp["url"], junk)
        assert art.highlights == exp.get("highlights", []), exp["url"]
        if exp.get("authors"):
            assert art.authors == exp["authors"], exp["url"]
        if "published_utc" in exp:
            assert art.published_at == datetime.fromisoformat(exp["published_utc"]), exp["url"]
        else:
            ago = timedelta(seconds=exp["published_ago_seconds"])
            # Counted from the moment of the fetch, exactly.
            assert art.published_at == art.fetched_at - ago, exp["url"]
    for exp in dropped:
        assert url_key(exp["url"]) not in stored
    total_dropped = sum(r.stats.dropped for r in results.values())  # type: ignore[attr-defined]
    assert total_dropped >= len(dropped)

    runs = store.runs(limit=100)
    assert sorted(r.source_name for r in runs) == sorted(s.name for s in settings.enabled_sources())
    assert all(r.status == "ok" and r.finished_at is not None for r in runs)


@pytest_twisted.ensureDeferred
async def test_second_crawl_inserts_nothing_and_is_cheap(
    site: SampleSite, store: Store, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(db_url)
    await _crawl(settings, store)
    count = store.count_articles()
    first_bytes = site.bytes_sent
    site.reset()

    results = await _crawl(settings, store)
    assert store.count_articles() == count
    assert sum(r.stats.new for r in results.values()) == 0  # type: ignore[attr-defined]
    assert all(r.status == "ok" for r in results.values())  # type: ignore[attr-defined]
    # Feeds and sitemaps answer 304 to the validators stored by the first crawl, and stored
    # articles are not fetched again.
    assert site.bytes_sent < first_bytes * 0.10
    assert any(rec.status == 304 for rec in site.records)


RDF_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{{BASE}}/rdf.xml"><title>RDF desk</title>
    <items><rdf:Seq><rdf:li rdf:resource="{{BASE}}/news/frigate-sea-trials.html"/></rdf:Seq>
    </items></channel>
  <item rdf:about="{{BASE}}/news/frigate-sea-trials.html">
    <title>Navy frigate begins sea trials</title>
    <link>{{BASE}}/news/frigate-sea-trials.html</link>
    <dc:date>2026-11-24T09:30:00+05:30</dc:date><dc:creator>Staff Reporter</dc:creator>
  </item>
</rdf:RDF>
"""


@pytest_twisted.ensureDeferred
async def test_rdf_feed(tmp_path: Path, store: Store, db_url: str) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "rdf.xml").write_text(RDF_FEED)
    paragraphs = [
        "The Navy's newest frigate began sea trials off the western coast on Tuesday, "
        "officials said, marking a milestone for the indigenous shipbuilding programme.",
        "The ship will test its propulsion, steering and weapon systems over the coming "
        "weeks before it is commissioned next year, according to the shipyard.",
        "Three more frigates of the class are under construction, and the first of them is "
        "expected to be launched in the spring, a defence ministry spokesperson said.",
    ]
    (tmp_path / "news" / "frigate-sea-trials.html").write_text(
        "<html lang='en'><head><title>Navy frigate begins sea trials</title></head><body>"
        "<article><h1>Navy frigate begins sea trials</h1>"
        + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>")
    with SampleSite(root=tmp_path) as site:
        settings = Settings.model_validate({
            "database_url": db_url,
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": "rdf-desk", "kind": "rss", "urls": [site.url("/rdf.xml")],
                         "timezone": "Asia/Kolkata"}],
        })
        (result,) = await crawl_async(settings, settings.sources, store=store)
    assert (result.status, result.stats.new) == ("ok", 1), result.stats
    (art,) = store.articles()
    assert art.title == "Navy frigate begins sea trials"
    assert art.published_at == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert art.published_source == "feed" and art.authors == ["Staff Reporter"]


def _feed(base: str, slug: str) -> str:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{slug}</title>'
            f"<item><title>Navy frigate {slug} begins sea trials</title>"
            f"<link>{base}/news/{slug}.html</link>"
            "<pubDate>Tue, 24 Nov 2026 09:30:00 +0530</pubDate></item></channel></rss>")


def _two_desks(root: Path) -> None:
    (root / "news").mkdir()
    for slug in ("alpha", "beta"):
        (root / f"{slug}.xml").write_text(_feed("{{BASE}}", slug))
        body = "".join(f"<p>The {slug} frigate began sea trials off the western coast on "
                       f"Tuesday, officials said; paragraph {i} of the report follows.</p>"
                       for i in range(4))
        (root / "news" / f"{slug}.html").write_text(
            f"<html lang='en'><head><title>Navy frigate {slug} begins sea trials</title>"
            f"</head><body><article><h1>Navy frigate {slug} begins sea trials</h1>{body}"
            "</article></body></html>")


def _sent(record: RequestRecord, name: str) -> str | None:
    return {k.lower(): v for k, v in record.headers.items()}.get(name.lower())


@pytest_twisted.ensureDeferred
async def test_user_agent_and_a_sources_headers_and_cookies_reach_its_requests_only(
    tmp_path: Path,
) -> None:
    _two_desks(tmp_path)
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store.from_url(db)
    with SampleSite(root=tmp_path) as site:
        settings = Settings.model_validate({
            "database_url": db,
            "contact_url": "https://ops.example.org/newsmon",
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [
                {"name": "alpha", "kind": "rss", "urls": [site.url("/alpha.xml")],
                 "headers": {"X-Newsmon-Test": "alpha desk", "Accept-Language": "en-IN"},
                 "cookies": {"consent": "yes", "region": "in"}},
                {"name": "beta", "kind": "rss", "urls": [site.url("/beta.xml")]},
            ],
        })
        results = await crawl_async(settings, settings.sources, store=store)
        records = site.records
    store.close()
    assert [(r.status, r.stats.new) for r in results] == [("ok", 1), ("ok", 1)]

    ua = f"Mozilla/5.0 (compatible; newsmon/{newsmon_version()}; +https://ops.example.org/newsmon)"
    assert {_sent(r, "User-Agent") for r in records} == {ua}
    alpha = [r for r in records if "alpha" in r.path]
    beta = [r for r in records if "beta" in r.path]
    assert {r.path for r in alpha} == {"/alpha.xml", "/news/alpha.html"}
    assert {r.path for r in beta} == {"/beta.xml", "/news/beta.html"}
    for r in alpha:
        assert (_sent(r, "X-Newsmon-Test"), _sent(r, "Accept-Language")) == \
            ("alpha desk", "en-IN"), r
        assert sorted((_sent(r, "Cookie") or "").split("; ")) == ["consent=yes", "region=in"], r
    for r in beta:
        assert (_sent(r, "X-Newsmon-Test"), _sent(r, "Cookie")) == (None, None), r
        assert _sent(r, "Accept-Language") != "en-IN", r
    # Each crawler asks for robots.txt itself: alpha's request carries alpha's header.
    robots = sorted(str(_sent(r, "X-Newsmon-Test")) for r in records if r.path == "/robots.txt")
    assert robots == ["None", "alpha desk"]


@pytest_twisted.ensureDeferred
async def test_a_sources_user_agent_replaces_the_default(tmp_path: Path) -> None:
    _two_desks(tmp_path)
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store.from_url(db)
    browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    with SampleSite(root=tmp_path) as site:
        settings = Settings.model_validate({
            "database_url": db, "user_agent": "desk-monitor/2.0 (+mailto:ops@example.org)",
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [
                {"name": "alpha", "kind": "rss", "urls": [site.url("/alpha.xml")],
                 "headers": {"user-agent": browser}},
                {"name": "beta", "kind": "rss", "urls": [site.url("/beta.xml")]},
            ],
        })
        await crawl_async(settings, settings.sources, store=store)
        records = site.records
    store.close()
    assert {_sent(r, "User-Agent") for r in records if "alpha" in r.path} == {browser}
    assert {_sent(r, "User-Agent") for r in records if "beta" in r.path} == {
        "desk-monitor/2.0 (+mailto:ops@example.org)"}


@pytest_twisted.ensureDeferred
async def test_placeholder_contact_url_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    _two_desks(tmp_path)
    config_loader._placeholder_warned.clear()  # once per process: this test's process
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store.from_url(db)
    with SampleSite(root=tmp_path) as site, caplog.at_level(logging.WARNING):
        settings = Settings.model_validate({
            "database_url": db,
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": s, "kind": "rss", "urls": [site.url(f"/{s}.xml")]}
                        for s in ("alpha", "beta")],
        })
        assert settings.contact_url == PLACEHOLDER_CONTACT_URL
        await crawl_async(settings, settings.sources[:1], store=store)
        await crawl_async(settings, settings.sources[1:], store=store)
        records = site.records
    store.close()
    warnings = [r.getMessage() for r in caplog.records if "placeholder" in r.getMessage()]
    assert warnings == [
        f"contact_url is still the placeholder {PLACEHOLDER_CONTACT_URL}, so sites see the "
        f"user agent 'Mozilla/5.0 (compatible; newsmon/{newsmon_version()}; "
        f"+{PLACEHOLDER_CONTACT_URL})': set contact_url in the settings file to a page where "
        "site operators can read about your crawler and reach you"]
    assert {_sent(r, "User-Agent") for r in records} == {
        f"Mozilla/5.0 (compatible; newsmon/{newsmon_version()}; +{PLACEHOLDER_CONTACT_URL})"}


@pytest_twisted.ensureDeferred
async def test_memory_limit_counts_what_the_crawl_adds_not_the_process_peak(
    site: SampleSite, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Scrapy's MEMUSAGE compares the process's peak RSS with its limit. A crawl in a
    process that was already bigger than ``memory_limit_mb`` (this test run, a long-lived
    worker) used to be shut down at its first check; the limit now counts from the peak
    at the crawl's start."""
    from crawler.settings import process_peak_mb, scrapy_settings

    limit = 64
    # The case itself: this process was once far bigger than the limit (and is no longer).
    ballast = b"x" * (400 * 1024 * 1024)
    del ballast
    assert process_peak_mb() > 400 + limit
    url = f"sqlite:///{tmp_path / 'mem.db'}"
    settings = make_settings(url, crawl={"download_delay": 0, "autothrottle": False,
                                         "retries": 0, "memory_limit_mb": limit})
    assert scrapy_settings(settings)["MEMUSAGE_LIMIT_MB"] >= process_peak_mb() + limit
    store = Store.from_url(url)
    try:
        results = await crawl_async(settings, settings.enabled_sources(), store=store,
                                    MEMUSAGE_CHECK_INTERVAL_SECONDS=0.01)
        assert {r.status for r in results} == {"ok"}
        kept, _ = _expected(site)
        assert len(store.articles()) == len(kept)
    finally:
        store.close()
