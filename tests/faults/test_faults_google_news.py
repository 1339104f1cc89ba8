"""The opt-in ``google_news`` source kind, crawled for real against a local server that plays
news.google.com (a robots.txt that disallows its RSS search, opaque article links) and the
publisher's own site: each item stored with its publisher from ``<source url>``, its title
without the " - Publisher" suffix, its links never fetched, and filed into the story of the
publisher's own copy; on SQLite and PostgreSQL."""

from __future__ import annotations

from html import escape
from pathlib import Path

from crawler.spiders.google_news import strip_publisher
from faults.harness import crawl_case, load, reactor_test, rss_source, write_config
from faults.server import FaultServer, respond
from faults.site import article_html, rss, rss_item
from storage import Store

HTML = "text/html; charset=utf-8"
TITLE = "Army inducts new light tanks for high-altitude posts in Ladakh"
PUBLISHER = "Test Wire"
TANKS = ("<p>The Army on Monday inducted the first regiment of indigenous light tanks for its "
         "high-altitude posts in eastern Ladakh, officials said, after trials at heights above "
         "four thousand metres through the winter.</p><p>The tanks, built by a domestic firm, "
         "weigh about twenty-five tonnes and can be airlifted; the ministry has approved an "
         "order for three hundred and fifty more over the next five years.</p><p>Commanders "
         "said the light tanks fill a gap on the plateau, where heavier armour struggles in "
         "the thin air and on narrow mountain tracks.</p>")


def _google_feed(server: FaultServer) -> str:
    token = "/rss/articles/CBMiWGh0dHBzOi8vdGVzdHdpcmUuZXhhbXBsZS9hcm15LWxpZ2h0LXRhbmtz0gEA"
    server.route(token, respond(200, "<html><body><script>window.location='x'</script>"
                                "</body></html>", HTML))
    link = server.url(token) + "?oc=5"
    description = (f'<a href="{escape(link)}" target="_blank">{escape(TITLE)}</a>&nbsp;&nbsp;'
                   f'<font color="#6f6f6f">{PUBLISHER}</font>')
    item = rss_item(link, f"{TITLE} - {PUBLISHER}", "Mon, 30 Nov 2026 06:00:00 GMT",
                    description).replace(
        "</item>", f'<source url="{escape(server.url("/wire/"))}">{PUBLISHER}</source></item>')
    server.route("/rss/search", respond(200, rss([item], title="Google News"),
                                        "application/rss+xml; charset=utf-8"))
    return token


@reactor_test
async def test_a_google_news_item_is_filed_under_its_publisher_with_its_own_copy(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    # news.google.com disallows /rss/search for every agent; the publisher's site is open.
    server.route("/robots.txt", respond(200, "User-agent: *\nDisallow: /rss/\n", "text/plain"))
    token = _google_feed(server)
    page = server.route("/wire/news/army-light-tanks-ladakh-4411.html", respond(
        200, article_html(TITLE, body_text=TANKS, published="2026-11-30T11:00:00+05:30"),
        HTML))
    server.route("/wire/feed.xml", respond(200, rss([rss_item(
        page, TITLE, "Mon, 30 Nov 2026 11:00:00 +0530")], link=server.url("/wire/")),
        "application/rss+xml; charset=utf-8"))
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source("testwire", server.url("/wire/feed.xml")),
        {"name": "gn-defence", "kind": "google_news", "obey_robots": False,
         "urls": [server.url("/rss/search") + "?q=light+tanks&hl=en-IN&gl=IN&ceid=IN:en"]}]))

    case = await crawl_case(settings, store)
    assert case.run("gn-defence").status == "ok" and case.run("testwire").status == "ok"
    (google,) = store.articles(source="gn-defence")
    (own,) = store.articles(source="testwire")
    assert server.hits["/rss/search"] == 1 and server.hits[token] == 0
    assert google.title == TITLE
    assert (google.publisher, google.publisher_url) == (PUBLISHER, server.url("/wire/"))
    assert google.body_source == "feed" and google.summary is None
    assert own.publisher is None and own.body_source == "page"
    assert google.story_id is not None and google.story_id == own.story_id


@reactor_test
async def test_a_google_news_source_that_obeys_robots_is_refused_by_it(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    """Without the source's ``obey_robots: false`` (here an rss source on the same feed), the
    disallowed search is not fetched: the opt-in is what makes the kind work."""
    server.route("/robots.txt", respond(200, "User-agent: *\nDisallow: /rss/\n", "text/plain"))
    _google_feed(server)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source("gn-as-rss", server.url("/rss/search") + "?q=light+tanks")]))

    case = await crawl_case(settings, store)
    assert server.hits["/rss/search"] == 0 and store.count_articles() == 0
    assert "robots.txt" in (case.run("gn-as-rss").first_error or "")


def test_the_publisher_suffix_goes_only_when_it_is_the_publisher() -> None:
    assert strip_publisher(f"{TITLE} - {PUBLISHER}", PUBLISHER) == TITLE
    assert strip_publisher("Trade talks - India - US", "US") == "Trade talks - India"
    assert strip_publisher("Talks resume - Reuters", "Test Wire") == "Talks resume - Reuters"
    assert strip_publisher(f" - {PUBLISHER}", PUBLISHER) == f" - {PUBLISHER}"
    assert strip_publisher(TITLE, None) == TITLE
