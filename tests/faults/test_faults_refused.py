"""Refused article pages lose nothing: a page that answers 401, 402, 403, 410, 451, 429 or 5xx
after its retries, that robots.txt disallows, or that is a bot wall leaves its article stored
from the feed's entry (body source "feed", the failure recorded); later runs try the page again
with back-off and upgrade the article when it works; a wall's text is never stored. And the
feed's full text (content:encoded) is the body when it has more of the article than the page.
Real crawls against a local server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crawler.fallback import RetryPolicy
from faults.harness import crawl_case, load, reactor_test, rss_source, write_config
from faults.server import Behaviour, FaultHandler, FaultServer, respond, sequence
from faults.site import _PARAGRAPHS, article_html, rss, rss_item
from storage import Store
from storage.models import Article

NAME = "refused-wire"
HTML = "text/html; charset=utf-8"
WALLS = Path(__file__).parent.parent / "sample_data" / "walls"
SUMMARY = ("The defence ministry approved more coastal surveillance radars on Tuesday, "
           "officials said.")
TITLE = "Coastal radar network to be extended along the western seaboard"
PATH = "/refused/news/coastal-radar-network-extended-301.html"
# Retries in the tests come due at once; the back-off test waits them out.
DUE_NOW = {"NEWSMON_PAGE_RETRY_FIRST": 0.0}


class Conditional:
    """A feed that answers 304 to its own ETag, and counts what it answered."""

    def __init__(self, body: str, etag: str = '"refused-v1"') -> None:
        self.body, self.etag = body.encode(), etag
        self.answers: list[int] = []

    def __call__(self, h: FaultHandler) -> None:
        if h.headers.get("If-None-Match") == self.etag:
            self.answers.append(304)
            h.send_head(304, [("ETag", self.etag)])
            return
        self.answers.append(200)
        h.send_body(200, self.body, "application/rss+xml; charset=utf-8",
                    [("ETag", self.etag)])


class Switch:
    """``before`` until :meth:`flip`, then ``after``: a page refused for one run, then not."""

    def __init__(self, before: Behaviour, after: Behaviour) -> None:
        self.before, self.after, self.flipped = before, after, False

    def flip(self) -> None:
        self.flipped = True

    def __call__(self, h: FaultHandler) -> None:
        (self.after if self.flipped else self.before)(h)


def _wall(name: str) -> Behaviour:
    return respond(200, (WALLS / name).read_text(), HTML)


# What the page answers first (each try of the first run), a word its failure is recorded
# with, and the text of the page that must never be stored.
_REFUSALS: dict[str, tuple[Behaviour, str, str | None]] = {
    "401": (respond(401, "Unauthorized", HTML), "HTTP 401", None),
    "402": (respond(402, "Subscribe", HTML), "HTTP 402", None),
    "403": (respond(403, "<h1>Forbidden</h1>", HTML), "HTTP 403", None),
    "410": (respond(410, "Gone", HTML), "HTTP 410", None),
    "451": (respond(451, "Unavailable", HTML), "HTTP 451", None),
    "429": (respond(429, "Slow down", HTML), "HTTP 429", None),
    "500": (respond(500, "Oops", HTML), "HTTP 500", None),
    "503": (respond(503, "Busy", HTML), "HTTP 503", None),
    "cloudflare": (_wall("cloudflare_just_a_moment.html"), "Cloudflare challenge", "moment"),
    "akamai": (_wall("akamai_access_denied.html"), "Akamai access denied", "Access Denied"),
    "consent": (_wall("publisher_consent_wall.html"), "consent wall", "cookie"),
    "js-cookies": (respond(200, "<html><body><noscript>Enable JavaScript and cookies to "
                           "continue</noscript><p>One moment please</p></body></html>", HTML),
                   "JavaScript/cookie challenge", "JavaScript"),
    "captcha": (_wall("datadome_captcha.html"), "DataDome captcha", "captcha"),
}


def _one_article(server: FaultServer, page: Behaviour, description: str = SUMMARY,
                 content: str | None = None) -> Conditional:
    server.route(PATH, page)
    item = rss_item(server.url(PATH), TITLE, description=description)
    if content is not None:
        item = item.replace("</item>", f"<content:encoded>{escape(content)}</content:encoded>"
                                       "</item>")
    body = rss([item], link=server.url("/refused/")).replace(
        '<rss version="2.0">',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">')
    feed = Conditional(body)
    server.route("/refused/feed.xml", feed)
    return feed


def _article(store: Store) -> Article:
    (article,) = store.articles(source=NAME)
    return article


def _settings(tmp_path: Path, db_url: str, server: FaultServer, **extra: object):  # noqa: ANN202
    return load(write_config(tmp_path / "cfg", db_url, [
        rss_source(NAME, server.url("/refused/feed.xml"), **extra)]))


@pytest.mark.parametrize("refusal", list(_REFUSALS))
@reactor_test
async def test_a_refused_page_keeps_its_article_from_the_entry_and_is_upgraded_later(
        refusal: str, server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    first, why, wall_text = _REFUSALS[refusal]
    # Every try of the first run is refused; then the page works.
    page = Switch(first, respond(200, article_html(TITLE, 301), HTML))
    feed = _one_article(server, page)
    settings = _settings(tmp_path, db_url, server)

    case = await crawl_case(settings, store, **DUE_NOW)
    assert case.run(NAME).status == "ok"
    kept = _article(store)
    assert (kept.title, kept.body, kept.summary) == (TITLE, SUMMARY, SUMMARY)
    assert kept.body_source == "feed" and kept.published_at is not None
    assert kept.page_error is not None and why in kept.page_error
    assert server.url(PATH) in kept.page_error
    assert kept.page_attempts == 1 and kept.page_retry_at is not None
    if wall_text is not None:
        assert wall_text not in kept.title + kept.body
    assert case.stored(NAME) == 1

    page.flip()
    await crawl_case(settings, store, **DUE_NOW)
    # Nothing of the feed is left unstored: its ETag was saved and it answered 304; the
    # page was tried again from the database, and this time it worked.
    assert feed.answers == [200, 304]
    upgraded = _article(store)
    assert upgraded.id == kept.id and upgraded.body_source == "page"
    assert upgraded.page_error is None and upgraded.page_retry_at is None
    assert upgraded.body.startswith(_PARAGRAPHS[0].format(n=301)[:60])
    hits = server.hits[PATH]
    await crawl_case(settings, store, **DUE_NOW)
    assert server.hits[PATH] == hits and store.count_articles(NAME) == 1
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"an article page refused on its first fetch: {refusal} ({backend})",
           f"stored from its feed entry (title, date, summary; body source feed, failure "
           f"'{why}' recorded); the next run tried the page again and replaced the entry's "
           "text with the page's", case=case, source=NAME, stored="1, then upgraded")


@reactor_test
async def test_a_page_disallowed_by_robots_txt_keeps_its_article_from_the_entry(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    server.route("/robots.txt", respond(200, "User-agent: *\nDisallow: /refused/news/\n",
                                        "text/plain"))
    _one_article(server, respond(200, article_html(TITLE, 301), HTML))
    settings = _settings(tmp_path, db_url, server)

    await crawl_case(settings, store, **DUE_NOW)
    kept = _article(store)
    assert server.hits[PATH] == 0
    assert kept.body_source == "feed" and kept.body == SUMMARY
    assert kept.page_error is not None and "robots.txt" in kept.page_error


@reactor_test
async def test_a_page_refused_every_time_is_tried_with_growing_waits_then_left(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    _one_article(server, respond(403, "Forbidden", HTML))
    settings = _settings(tmp_path, db_url, server)
    first = 0.4
    policy = {"NEWSMON_PAGE_RETRY_FIRST": first, "NEWSMON_PAGE_RETRY_TRIES": 3}

    attempts, hits = [], []
    for run in range(5):
        before = datetime.now(UTC)
        await crawl_case(settings, store, **policy)
        after = datetime.now(UTC)
        kept = _article(store)
        attempts.append(kept.page_attempts)
        hits.append(server.hits[PATH])
        if run < 2:
            # Due again after the first wait, then after twice that, from the failed try.
            wait = timedelta(seconds=first * 2 ** run)
            assert kept.page_retry_at is not None
            assert before + wait <= kept.page_retry_at <= after + wait
            time.sleep(max(0.0, (kept.page_retry_at - datetime.now(UTC)).total_seconds()) + 0.1)
    # Three tries (a 403 is not retried within a run); then no more.
    assert attempts == [1, 2, 3, 3, 3] and hits == [1, 2, 3, 3, 3]
    assert kept.page_retry_at is None and kept.body_source == "feed"
    assert kept.page_error is not None and "HTTP 403" in kept.page_error


def test_retry_policy_doubles_its_wait_up_to_the_longest_and_stops() -> None:
    policy = RetryPolicy(first=timedelta(hours=1), longest=timedelta(hours=3), tries=4)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    assert [policy.next_try(n, now) for n in (1, 2, 3, 4)] == [
        now + timedelta(hours=1), now + timedelta(hours=2), now + timedelta(hours=3), None]


@reactor_test
async def test_a_wall_on_a_refetch_of_a_page_article_keeps_the_stored_text(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    page = article_html(TITLE, 301)
    _one_article(server, sequence(respond(200, page, HTML),
                                  _wall("cloudflare_just_a_moment.html")))
    settings = _settings(tmp_path, db_url, server, refetch_within="7d")

    await crawl_case(settings, store, **DUE_NOW)
    stored = _article(store)
    assert stored.body_source == "page"
    await crawl_case(settings, store, **DUE_NOW)
    again = _article(store)
    assert (again.body, again.body_source, again.page_error) == (stored.body, "page", None)


# -- the feed's full text ------------------------------------------------------------------

_FULL = "\n\n".join(p.format(n=301) for p in _PARAGRAPHS) + (
    "\n\nThe first stations are to be built on the islands, where the gaps are widest, and "
    "the ministry said the network would be linked to the navy's coastal command centre.")


@pytest.mark.parametrize(("page_paras", "content", "expected"), [
    # A teaser page (one paragraph): the feed's full text holds more of the same article.
    (1, _FULL, "feed"),
    # The page has the whole article and the feed only part of it: the page wins.
    (3, _PARAGRAPHS[0].format(n=301), "page"),
    # The feed's text is longer but another text (not the page's article): the page wins.
    (1, " ".join(["An unrelated press note about a cricket tournament in the hills."] * 12),
     "page"),
])
@reactor_test
async def test_content_encoded_is_the_body_when_it_has_more_of_the_article(
        page_paras: int, content: str, expected: str, server: FaultServer, store: Store,
        db_url: str, tmp_path: Path) -> None:
    paras = "".join(f"<p>{escape(p.format(n=301))}</p>\n" for p in _PARAGRAPHS[:page_paras])
    html = article_html(TITLE, 301, body_text=paras + "<p>" + "Subscribe to read more. " * 3
                        + "</p>" if page_paras == 1 else paras)
    _one_article(server, respond(200, html, HTML),
                 content="".join(f"<p>{escape(p)}</p>" for p in content.split("\n\n")))
    settings = _settings(tmp_path, db_url, server)

    await crawl_case(settings, store)
    article = _article(store)
    assert article.body_source == expected and article.page_error is None
    if expected == "feed":
        assert article.body == _FULL
    else:
        assert article.body.startswith(_PARAGRAPHS[0].format(n=301)[:60])


@reactor_test
async def test_a_feed_only_source_takes_content_encoded_as_its_body(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    _one_article(server, respond(200, article_html(TITLE, 301), HTML),
                 content="".join(f"<p>{escape(p)}</p>" for p in _FULL.split("\n\n")))
    settings = _settings(tmp_path, db_url, server, fetch_articles=False)

    await crawl_case(settings, store)
    article = _article(store)
    assert server.hits[PATH] == 0
    assert (article.body, article.body_source, article.summary) == (_FULL, "feed", SUMMARY)


# -- sitemap entries -----------------------------------------------------------------------

SITEMAP = "sitemap-wire"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@reactor_test
async def test_a_refused_sitemap_entry_keeps_its_news_title_or_waits_as_a_pending_page(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    from storage.pending import PendingStore
    from storage.scheduler_store import SchedulerStore

    titled, bare = "/sm/news/radar-contract-signed-302.html", "/sm/news/untitled-303.html"
    server.route(titled, respond(403, "<h1>Forbidden</h1>", HTML))
    page = Switch(respond(403, "<h1>Forbidden</h1>", HTML),
                  respond(200, article_html(TITLE, 303), HTML))
    server.route(bare, page)
    urls = (f"<url><loc>{server.url(titled)}</loc><news:news><news:publication>"
            "<news:name>Wire</news:name><news:language>en</news:language></news:publication>"
            "<news:publication_date>2026-12-02T09:30:00+05:30</news:publication_date>"
            "<news:title>Radar contract signed for the coastal network</news:title>"
            f"</news:news></url><url><loc>{server.url(bare)}</loc>"
            "<lastmod>2026-12-02T10:00:00+05:30</lastmod></url>")
    sitemap = Conditional(f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                          f'schemas/sitemap/0.9" xmlns:news="{NEWS_NS}">{urls}</urlset>')
    server.route("/sm/news-sitemap.xml", sitemap)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        {"name": SITEMAP, "kind": "news_sitemap", "urls": [server.url("/sm/news-sitemap.xml")],
         "timezone": "Asia/Kolkata"}]))

    case = await crawl_case(settings, store, **DUE_NOW)
    # The entry with news:title is stored from what the sitemap says.
    (kept,) = store.articles(source=SITEMAP)
    assert (kept.title, kept.body_source, kept.url) == (
        "Radar contract signed for the coastal network", "feed", server.url(titled))
    assert kept.published_at == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert kept.page_error == f"{server.url(titled)}: HTTP 403 Forbidden"
    # The one without a title is no article, and is not lost: it waits for its page.
    (pending,) = PendingStore(store.engine).all(SITEMAP)
    assert (pending.url, pending.page_attempts) == (server.url(bare), 1)
    assert pending.page_error == f"{server.url(bare)}: HTTP 403 Forbidden"
    assert pending.page_retry_at is not None
    assert pending.entry == {"modified_at": "2026-12-02T04:30:00+00:00"}
    run = SchedulerStore(store.engine).runs(SITEMAP, 1)[0]
    assert (run.status, run.new, run.pending, run.blocked, run.errors) == ("ok", 1, 1, 2, 0)
    assert case.stored(SITEMAP) == 1
    assert (f"{SITEMAP}: {server.url(bare)}: its entry has no title, so no article is stored "
            "yet; kept as a pending page, tried again from") in caplog.text

    page.flip()
    await crawl_case(settings, store, **DUE_NOW)
    # A pending entry is no article, so the sitemap's ETag was not saved and it was read
    # again; the pending page was tried from the database (once: the sitemap listing it
    # again did not fetch it twice) and is an article now.
    assert sitemap.answers == [200, 200]
    assert server.hits[bare] == 2
    got = {a.url: a for a in store.articles(source=SITEMAP)}
    assert (got[server.url(bare)].title, got[server.url(bare)].body_source) == (TITLE, "page")
    assert got[server.url(titled)].page_attempts == 2
    assert PendingStore(store.engine).all(SITEMAP) == []
    assert SchedulerStore(store.engine).runs(SITEMAP, 1)[0].pending == 0
    # Every entry is stored now: the ETag was saved, and the sitemap answers 304.
    await crawl_case(settings, store)
    assert sitemap.answers == [200, 200, 304] and server.hits[bare] == 2


@reactor_test
async def test_a_pending_page_listed_again_is_tried_until_its_tries_are_spent(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path) -> None:
    from storage.pending import PendingStore

    bare = "/sm/news/untitled-304.html"
    server.route(bare, respond(403, "<h1>Forbidden</h1>", HTML))
    sitemap = Conditional(f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                          f'schemas/sitemap/0.9"><url><loc>{server.url(bare)}</loc>'
                          "<lastmod>2026-12-02T10:00:00+05:30</lastmod></url></urlset>")
    server.route("/sm/sitemap.xml", sitemap)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        {"name": SITEMAP, "kind": "sitemap", "urls": [server.url("/sm/sitemap.xml")]}]))
    two_tries = {"NEWSMON_PAGE_RETRY_TRIES": 2}

    # Not due from the database for an hour, but the sitemap is read again (its ETag is not
    # saved while the entry is pending) and lists it, so its page is tried again at once.
    await crawl_case(settings, store, **two_tries)
    (first,) = PendingStore(store.engine).all(SITEMAP)
    assert (first.page_attempts, server.hits[bare]) == (1, 1)
    assert first.page_retry_at is not None
    await crawl_case(settings, store, **two_tries)
    (spent,) = PendingStore(store.engine).all(SITEMAP)
    assert (spent.page_attempts, spent.page_retry_at, server.hits[bare]) == (2, None, 2)
    # Its tries are spent: it is done with (kept as the record of the loss), not fetched
    # again, and the sitemap's ETag is saved at last.
    await crawl_case(settings, store, **two_tries)
    await crawl_case(settings, store, **two_tries)
    assert sitemap.answers == [200, 200, 200, 304] and server.hits[bare] == 2
    assert store.count_articles(SITEMAP) == 0
    assert PendingStore(store.engine).all(SITEMAP) == [spent]
