"""article_from_page: a fetched page (or a feed-only entry) with its entry in, the item out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from crawler.extraction.page import FetchedPage, article_from_page
from crawler.spiders.base import Hint

FETCHED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BODY = "".join(f"<p>Paragraph {i} of the report on the coastal radar order, with "
               "enough words to count as the article's own text.</p>" for i in range(6))


def _page(head: str = "") -> str:
    return (f"<!doctype html><html lang='en'><head><title>Radar order cleared</title>{head}"
            f"</head><body><article><h1>Radar order cleared</h1>{BODY}</article></body></html>")


def test_a_feed_only_entry_is_the_article() -> None:
    hint = Hint(url="https://news.example.com/india/radar-order-1.html?utm_source=rss",
                title="Radar order cleared", summary="The ministry cleared the order.",
                published_at=datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
                published_raw="Tue, 24 Nov 2026 01:30:00 +0530", published_precision="second",
                published_source="feed", authors=["A. Reporter"], tags=["defence"])
    item = article_from_page(FetchedPage(hint=hint, fetched_at=FETCHED), source="wire",
                             site_tz="Asia/Kolkata")
    assert item is not None
    assert (item.url_key, item.canonical_url, item.url) == (
        "news.example.com/india/radar-order-1.html",
        "https://news.example.com/india/radar-order-1.html", hint.url)
    assert (item.title, item.body, item.summary) == (
        "Radar order cleared", "The ministry cleared the order.", "The ministry cleared the order.")
    assert (item.source, item.fetched_at, item.authors, item.tags) == (
        "wire", FETCHED, ["A. Reporter"], ["defence"])
    # The day where it was written (the raw text's +0530), not the UTC day.
    assert (item.published_at, item.published_date) == (hint.published_at, date(2026, 11, 24))


def test_the_feed_time_refines_the_page_day_it_falls_in() -> None:
    url = "https://news.example.com/india/radar-order-1.html"
    html = _page('<script type="application/ld+json">{"@type": "NewsArticle", '
                 '"datePublished": "2026-11-24"}</script>')
    hint = Hint(url=url, published_at=datetime(2026, 11, 24, 4, 32, tzinfo=UTC),
                published_raw="Tue, 24 Nov 2026 10:02:00 +0530", published_precision="second",
                published_source="feed")
    item = article_from_page(FetchedPage(hint=hint, fetched_at=FETCHED, url=url, html=html),
                             source="wire", site_tz="Asia/Kolkata")
    assert item is not None
    assert (item.published_at, item.published_source, item.published_precision) == (
        hint.published_at, "feed", "second")
    assert item.title == "Radar order cleared" and item.body.startswith("Paragraph 0")


def test_a_canonical_on_another_site_is_not_the_identity_but_a_redirect_is_an_alias() -> None:
    asked = "https://news.example.com/india/radar-order-1.html"
    landed = "https://news.example.com/india/radar-order-cleared-1.html"
    html = _page('<link rel="canonical" href="https://wire.example.org/story/radar-1">')
    page = FetchedPage(hint=Hint(url=asked), fetched_at=FETCHED, url=landed, html=html)
    item = article_from_page(page, source="wire")
    assert item is not None
    assert item.url_key == "news.example.com/india/radar-order-cleared-1.html"
    assert item.alias_keys == ["news.example.com/india/radar-order-1.html"]
    assert item.redirected_to == landed
    # Re-fetched, it is compared with what is stored under the key it was asked for.
    again = article_from_page(FetchedPage(hint=Hint(url=asked), fetched_at=FETCHED, url=landed,
                                          html=html, refetch=True), source="wire")
    assert again is not None and again.url_key == "news.example.com/india/radar-order-1.html"


def test_a_relative_time_on_a_cached_copy_counts_back_from_when_it_was_made() -> None:
    url = "https://news.example.com/india/radar-order-1.html"
    html = _page().replace("<h1>Radar order cleared</h1>",
                           "<h1>Radar order cleared</h1><p class='byline'>2 hours ago</p>")
    page = FetchedPage(hint=Hint(url=url), fetched_at=FETCHED, url=url, html=html,
                       age=timedelta(minutes=30))
    item = article_from_page(page, source="wire")
    assert item is not None
    assert item.published_at == FETCHED - timedelta(minutes=30) - timedelta(hours=2)
    assert item.published_raw == "2 hours ago (Age: 1800 s)"
    assert item.fetched_at == FETCHED
