"""Re-fetches (``refetch_within``) that are much worse than the stored article — a consent
wall, Akamai's "Access Denied", a paywall-cut body, a redirect to the front page — never
replace it; a genuine revision does, and every version keeps its text. Real crawls of a local
server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from sqlalchemy import select

from faults.harness import crawl_case, load, reactor_test, rss_source, write_config
from faults.server import FaultServer, redirect, respond, sequence
from faults.site import rss, rss_item
from storage import Store
from storage.models import Article, ArticleTopic, ArticleURL, ArticleVersion
from storage.revisions import unpack

SOURCE = "refetch-wire"
WALLS = Path(__file__).resolve().parents[1] / "sample_data" / "walls"
HTML = "text/html; charset=utf-8"
TITLE = "Navy inducts twelve coastal radars to watch the western seaboard"
PARAGRAPHS = [
    "The Navy on Tuesday inducted twelve coastal surveillance radars along the western "
    "seaboard, officials said, extending a chain of stations that already watches most of "
    "the island territories and the approaches to the major ports.",
    "The radars, built by a domestic manufacturer under a contract worth 1,200 crore rupees, "
    "feed a joint operations centre run with the Coast Guard, which tracks fishing boats and "
    "merchant ships within forty nautical miles of the coast.",
    "Naval planners have argued for years that gaps in low-level coverage leave small boats "
    "undetected near the shore, and the attacks of 2008 were launched from such a boat; the "
    "new stations are meant to close those gaps for good.",
    "The ministry said the maintenance contract runs for ten years and that a second batch "
    "of radars for the eastern coast would be ordered next year, once trials of the first "
    "stations in monsoon conditions are complete.",
    "Opposition members asked for the full cost of the network to be placed before "
    "parliament, and the defence minister said a statement would follow in the winter "
    "session along with the report of the trials.",
    "Officers at the joint operations centre said the radars had already picked up two "
    "unregistered boats in their first week, both of which turned out to be fishing craft "
    "that had switched off their transponders.",
]


def page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs)
    return ("<!doctype html><html lang='en'><head>"
            f"<title>{escape(title)} | Test Wire</title>"
            "<meta property='article:published_time' content='2026-11-20T10:00:00+05:30'>"
            "</head><body><header><nav><a href='/'>Home</a></nav></header><article>"
            f"<h1>{escape(title)}</h1>{body}{extra}</article>"
            "<footer>Copyright Test Wire</footer></body></html>")


GOOD = page(TITLE, PARAGRAPHS)
PAYWALLED = page(TITLE, PARAGRAPHS[:2], "<div class='paywall'><p>Subscribe to continue "
                 "reading. Already a subscriber? Sign in.</p></div>")
REVISED_PARAGRAPHS = [PARAGRAPHS[0], PARAGRAPHS[1].replace("1,200 crore", "1,250 crore"),
                      *PARAGRAPHS[2:], "Correction: an earlier version of this report gave "
                      "the value of the contract as 1,200 crore rupees."]
REVISED = page(TITLE, REVISED_PARAGRAPHS)
FRONT = page("Test Wire: news from the coast", [
    "Latest: the Navy inducts twelve coastal radars along the western seaboard, and the "
    "Coast Guard says the first week of watching has already turned up two unregistered "
    "boats.",
    "Markets: the rupee held steady against the dollar on Tuesday as traders waited for the "
    "central bank's decision on rates, due at the end of the week.",
    "Weather: heavy rain is forecast for the southern districts until Friday, and fishermen "
    "have been told not to put out to sea while the warning lasts.",
    "Sport: the home side won the series by two matches to one after a last-over finish in "
    "the deciding game in front of a full stadium.",
])
STEPS = [
    ("consent wall", "publisher_consent_wall.html", "wall: consent wall"),
    ('Akamai "Access Denied"', "akamai_access_denied.html", "wall: Akamai access denied"),
    ("paywall-cut body (a third of the words)", PAYWALLED, "body lost most of its words"),
    ("redirect to the front page /", None, "redirected to the front page"),
]


def _state(store: Store) -> tuple[str, str, str, list[str], set[str]]:
    with store.session() as session:
        art = session.execute(select(Article).where(Article.title.is_not(None))
                              .order_by(Article.id).limit(1)).unique().scalar_one()
        topics = sorted(session.execute(select(ArticleTopic.topic).where(
            ArticleTopic.article_id == art.id)).scalars())
        keys = set(session.execute(select(ArticleURL.url_key).where(
            ArticleURL.article_id == art.id)).scalars())
        return art.title, art.body, art.url, topics, keys


def _versions(store: Store) -> list[tuple[str, str | None, str | None]]:
    with store.session() as session:
        return [(v.status, v.reason, unpack(v.body)) for v in session.execute(
            select(ArticleVersion).order_by(ArticleVersion.id)).scalars()]


@reactor_test
async def test_worse_refetches_never_replace_the_article_and_a_revision_does(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    backend = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    with FaultServer() as server:
        server.route("/", respond(200, FRONT, HTML))
        behaviours = [respond(200, GOOD, HTML)]
        for _what, content, _reason in STEPS:
            if content is None:
                behaviours.append(redirect("/"))
            else:
                text = (WALLS / content).read_text() if content.endswith(".html") else content
                behaviours.append(respond(200, text, HTML))
        behaviours.append(respond(200, REVISED, HTML))
        url = server.route("/news/navy-coastal-radars-20261120.html", sequence(*behaviours))
        feed = server.route("/feed.xml", respond(200, rss([rss_item(url, TITLE)]),
                                                 "application/rss+xml; charset=utf-8"))
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, refetch_within="7d", refetch_every="0.001s")]))
        store = Store.from_url(db_url)
        try:
            first = await crawl_case(settings, store)
            assert first.titles[SOURCE] == [TITLE]
            before = _state(store)
            assert before[3], "the good article has topics"
            for i, (what, _content, reason) in enumerate(STEPS, start=1):
                case = await crawl_case(settings, store)
                assert _state(store) == before, what
                versions = _versions(store)
                assert len(versions) == 1 + i and versions[-1][0] == "rejected", what
                assert versions[-1][1] is not None and versions[-1][1].startswith(reason), (
                    what, versions[-1][1])
                assert case.run(SOURCE).status == "ok"
                record("integrity", f"re-fetch returns a {what} ({backend})",
                       f"title, body, topics and URL unchanged; kept as a rejected version: "
                       f"{versions[-1][1]}", case=case, source=SOURCE)
            case = await crawl_case(settings, store)
            title, body, _url, topics, _keys = _state(store)
            versions = _versions(store)
            assert versions[-1][:2] == ("accepted", None)
            assert "1,250 crore" in body and topics == before[3]
            # The text it replaced is readable from its version.
            assert versions[0] == ("accepted", None, before[1])
            record("integrity", f"re-fetch returns a genuinely revised article ({backend})",
                   "accepted: the article has the corrected text; the previous version's "
                   "full text is kept in article_versions", case=case, source=SOURCE)
        finally:
            store.close()


@reactor_test
async def test_articles_that_redirect_home_are_not_stored_and_do_not_block_later_ones(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """A stored article that now redirects home made ``/`` its alias; a new article that
    redirected home was then taken for it, and its own key too, so it was never stored."""
    backend = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    second_title = "Coast Guard seizes unregistered boat off the western coast"
    with FaultServer() as server:
        server.route("/", respond(200, FRONT, HTML))
        first_url = server.route("/news/first-20261120.html", sequence(
            respond(200, GOOD, HTML), redirect("/")))
        second_url = server.route("/news/second-20261121.html", sequence(
            redirect("/"), respond(200, page(second_title, PARAGRAPHS[::-1]), HTML)))
        first, second = rss([rss_item(first_url, TITLE)]), rss([rss_item(second_url,
                                                                          second_title)])
        rss_type = "application/rss+xml; charset=utf-8"
        feed = server.route("/feed.xml", sequence(*[respond(200, f, rss_type) for f in (
            first, first, second, second)]))
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, refetch_within="7d", refetch_every="0.001s")]))
        store = Store.from_url(db_url)
        try:
            await crawl_case(settings, store)  # the first article, as it was
            await crawl_case(settings, store)  # ... now redirects home: rejected
            home = await crawl_case(settings, store)  # the second redirects home: dropped
            assert home.stored(SOURCE) == 1 and home.dropped(SOURCE) == 1
            last = await crawl_case(settings, store)  # the second serves its article
            assert last.titles[SOURCE] == [TITLE, second_title]
            with store.session() as session:
                keys = list(session.execute(select(ArticleURL.url_key)).scalars())
                urls = list(session.execute(select(Article.url).order_by(Article.id)).scalars())
            assert urls == [first_url, second_url]
            assert not [k for k in keys if k.endswith(f":{server.port}/")], keys
        finally:
            store.close()
    record("integrity", f"articles whose URL redirects to the front page ({backend})",
           "a stored one is kept (rejected version), a new one is not stored (dropped: "
           "redirected to the front page); `/` never becomes an alias, so the new one is "
           "stored once it serves its article", case=last, source=SOURCE)


@reactor_test
async def test_a_feed_entry_linking_to_the_front_page_is_not_an_article(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    backend = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    with FaultServer() as server:
        story = server.url("/news/navy-coastal-radars-20261120.html")
        feed = server.route("/feed.xml", respond(200, rss([
            rss_item(server.url("/"), "Visit Test Wire for all the latest news",
                     description="All the latest news from the coast, every hour."),
            rss_item(story, TITLE, description=" ".join(PARAGRAPHS[:2]))]),
            "application/rss+xml; charset=utf-8"))
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, fetch_articles=False)]))
        store = Store.from_url(db_url)
        try:
            case = await crawl_case(settings, store)
            with store.session() as session:
                keys = list(session.execute(select(ArticleURL.url_key)).scalars())
            home = f":{server.port}/"
        finally:
            store.close()
    assert case.titles[SOURCE] == [TITLE] and case.dropped(SOURCE) == 1
    assert not [k for k in keys if k.endswith(home)], keys
    record("integrity", f"feed entry that links to the site's front page ({backend})",
           "not stored (dropped: not an article URL); the front page is no article's key",
           case=case, source=SOURCE)
