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


# -- the feed's full text, and a page that could not be had -------------------------------

_ARTICLE = ("The defence ministry signed a contract for six coastal patrol vessels on "
            "Thursday, to be built at a public-sector yard over four years. The vessels will "
            "replace older ships of the coast guard's western fleet, officials said, and the "
            "first is due in the second half of next year.")


def test_the_feed_text_wins_only_with_more_of_the_same_article() -> None:
    from crawler.extraction.page import feed_has_more

    teaser = _ARTICLE.split(". ")[0] + "."
    assert feed_has_more(_ARTICLE, teaser)
    assert not feed_has_more(teaser, _ARTICLE)
    # More words, but another text.
    other = " ".join(["A cricket tournament in the hills drew large crowds this week."] * 6)
    assert not feed_has_more(other, _ARTICLE)
    # The page's text plus a feed's boilerplate line is not more of the article.
    assert not feed_has_more(_ARTICLE + " The post appeared on Wire.", _ARTICLE)
    assert not feed_has_more(None, teaser)


def test_a_failed_page_gives_the_entry_with_its_failure_and_next_try() -> None:
    hint = Hint(url="https://wire.example/news/patrol-vessels-101.html", title="Patrol vessels",
                summary="Six vessels.", body=_ARTICLE)
    when = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    rec = article_from_page(
        FetchedPage(hint=hint, fetched_at=when, failure="x: HTTP 403 Forbidden",
                    failed_before=1), source="wire",
        next_try=lambda failed, now: now + timedelta(hours=failed))
    assert rec is not None
    assert (rec.body, rec.body_source, rec.page_error) == (_ARTICLE, "feed",
                                                           "x: HTTP 403 Forbidden")
    assert rec.page_attempts == 2 and rec.page_retry_at == when + timedelta(hours=2)


def test_atom_content_and_content_encoded_become_paragraphs() -> None:
    import feedparser

    from crawler.spiders.feed import _full_text

    atom = feedparser.parse(
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><title>x</title><link href="https://wire.example/a"/><id>a</id>'
        b'<updated>2026-12-01T00:00:00Z</updated><content type="html">&lt;p&gt;First '
        b'paragraph.&lt;/p&gt;&lt;script&gt;var x;&lt;/script&gt;&lt;p&gt;Second &amp;amp; '
        b'last.&lt;/p&gt;</content></entry></feed>')
    assert _full_text(atom.entries[0]) == "First paragraph.\n\nSecond & last."
    rss = feedparser.parse(
        b'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/'
        b'modules/content/"><channel><title>t</title><item><title>x</title><link>https://'
        b'wire.example/b</link><description>Short.</description><content:encoded><![CDATA['
        b'<p>One.</p><p>Two<br>three.</p>]]></content:encoded></item></channel></rss>')
    assert _full_text(rss.entries[0]) == "One.\n\nTwo\n\nthree."
