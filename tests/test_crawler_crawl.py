"""Real Scrapy crawls of the bundled sample site on 127.0.0.1 into SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest_twisted

from config import Settings
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite, load_expected
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
