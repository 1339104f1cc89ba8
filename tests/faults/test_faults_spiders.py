"""Spider faults that lose or misdate articles: entries skipped while the feed answers 304, a
listing page of 50,000 links, a cached copy's Age. Real crawls against a local server that
honours If-None-Match, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crawler.urls import url_key
from faults.harness import crawl_case, load, reactor_test, rss_source, write_config
from faults.server import Behaviour, FaultHandler, FaultServer, hang, respond, sequence
from faults.site import _PARAGRAPHS, article_html, rss, rss_item
from storage import Store

NAME = "cond-wire"
ETAG = '"feed-v1"'
HTML = "text/html; charset=utf-8"
CHALLENGE = ("<!doctype html><html><head><title>Just a moment...</title></head><body>"
             "<h1>Checking your browser before accessing the site.</h1>"
             "<p>This process is automatic.</p></body></html>")


class Conditional:
    """A feed that answers 304 to its own ETag, and counts what it answered."""

    def __init__(self, body: str, etag: str = ETAG,
                 content_type: str = "application/rss+xml; charset=utf-8") -> None:
        self.body, self.etag, self.content_type = body.encode(), etag, content_type
        self.answers: list[int] = []

    def __call__(self, h: FaultHandler) -> None:
        if h.headers.get("If-None-Match") == self.etag:
            self.answers.append(304)
            h.send_head(304, [("ETag", self.etag)])
            return
        self.answers.append(200)
        h.send_body(200, self.body, self.content_type, [("ETag", self.etag)])


def _articles(server: FaultServer, count: int, first: Sequence[Behaviour] = ()
              ) -> tuple[Conditional, list[str], list[str]]:
    """``count`` articles (the first one's first requests answered by ``first``) and a
    conditional feed."""
    titles, paths, items = [], [], []
    for i in range(1, count + 1):
        title = f"Border road stage {i} opens to traffic ahead of the winter snows"
        path = f"/cond/news/border-road-stage-{i}-opens-30{i:04d}.html"
        page = respond(200, article_html(title, i), HTML)
        url = server.route(path, sequence(*first, page) if i == 1 else page)
        titles.append(title)
        paths.append(path)
        items.append(rss_item(url, title))
    feed = Conditional(rss(items, link=server.url("/cond/")))
    server.route("/cond/feed.xml", feed)
    return feed, titles, paths


def _stored(store: Store) -> set[str]:
    return {a.title for a in store.articles(source=NAME)}


# A refused page or a wall keeps its article from the entry (tests/faults/test_faults_refused.py);
# a page that does not answer at all leaves its entry unstored until the next run.
_FIRST = {
    # Three timeouts: the first try and both retries of the run.
    "timeout": ([hang(5.0)] * 3, 0, "does not answer within the download timeout",
                "its download failed", 4),
}


@pytest.mark.parametrize("first_answer", list(_FIRST))
@reactor_test
async def test_entry_not_stored_on_first_fetch_is_stored_next_run(
        first_answer: str, server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    behaviour, dropped, fault, what, hits = _FIRST[first_answer]
    feed, titles, paths = _articles(server, 3, first=behaviour)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source(NAME, server.url("/cond/feed.xml"))]))

    first = await crawl_case(settings, store)
    assert first.run(NAME).status == ("ok" if dropped else "partial")
    assert first.dropped(NAME) == dropped
    assert _stored(store) == set(titles[1:])
    second = await crawl_case(settings, store)
    # The missing article kept the feed's ETag from being saved: the feed was read again.
    assert feed.answers == [200, 200]
    assert _stored(store) == set(titles)
    third = await crawl_case(settings, store)
    assert feed.answers == [200, 200, 304] and server.hits[paths[0]] == hits
    assert third.run(NAME).status == "ok" and store.count_articles(NAME) == 3
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"an article {fault} on its first fetch, behind a feed with an ETag "
           f"({backend})",
           f"{what} and the feed's ETag not saved; the next run read the feed again (200) "
           "and stored the article; the run after got 304 and fetched no article page",
           case=second, source=NAME, stored=f"2, then {len(titles)}")


@reactor_test
async def test_entries_over_the_per_run_cap_are_stored_by_the_next_runs(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    feed, titles, paths = _articles(server, 5)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source(NAME, server.url("/cond/feed.xml"), max_articles=2)]))

    counts = []
    for _ in range(3):
        case = await crawl_case(settings, store)
        assert case.run(NAME).status == "ok"
        counts.append(store.count_articles(NAME))
    assert counts == [2, 4, 5] and _stored(store) == set(titles)
    await crawl_case(settings, store)
    assert feed.answers == [200, 200, 200, 304]
    assert all(server.hits[p] == 1 for p in paths)
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"max_articles: 2 on a feed of 5 articles with an ETag ({backend})",
           "the ETag was saved only once every entry was stored: the runs stored 2, 4, 5; "
           "the fourth run got 304; each page was fetched once", case=case, source=NAME,
           stored="2, 4, then 5")


@reactor_test
async def test_a_fully_stored_feed_saves_its_etag_and_gets_304(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    feed, titles, paths = _articles(server, 3)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source(NAME, server.url("/cond/feed.xml"))]))

    await crawl_case(settings, store)
    assert _stored(store) == set(titles)
    assert store.validators(server.url("/cond/feed.xml")) == (ETAG, None)
    again = await crawl_case(settings, store)
    assert feed.answers == [200, 304] and all(server.hits[p] == 1 for p in paths)
    assert again.run(NAME).status == "ok" and store.count_articles(NAME) == 3
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"a feed with an ETag whose every entry was stored ({backend})",
           "its ETag was saved; the next run got 304 and fetched no article page",
           case=again, source=NAME)


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


@reactor_test
async def test_sitemap_index_is_read_again_while_a_childs_entry_is_not_stored(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    titles, locs = [], []
    for i in (1, 2):
        title = f"Port expansion phase {i} approved by the maritime board"
        page = respond(200, article_html(title, i), HTML)
        locs.append(server.route(
            f"/sm/news/port-expansion-phase-{i}-approved-60{i:04d}.html",
            sequence(respond(200, CHALLENGE, HTML), page) if i == 1 else page))
        titles.append(title)
    urls = "".join(f"<url><loc>{escape(u)}</loc><lastmod>2026-11-2{n}</lastmod></url>"
                   for n, u in enumerate(locs))
    child = server.route("/sm/sitemap-news.xml", respond(
        200, f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}">{urls}</urlset>',
        "application/xml"))
    index = Conditional(f'<?xml version="1.0"?><sitemapindex xmlns="{SITEMAP_NS}"><sitemap>'
                        f"<loc>{escape(child)}</loc></sitemap></sitemapindex>",
                        content_type="application/xml")
    server.route("/sm/sitemap-index.xml", index)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        {"name": NAME, "kind": "sitemap", "urls": [server.url("/sm/sitemap-index.xml")]}]))

    await crawl_case(settings, store)
    assert _stored(store) == {titles[1]}
    second = await crawl_case(settings, store)
    assert _stored(store) == set(titles)
    await crawl_case(settings, store)
    assert index.answers == [200, 200, 304] and server.hits["/sm/sitemap-news.xml"] == 2
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"a sitemap index with an ETag; an article in its child sitemap "
           f"answers a challenge page first ({backend})",
           "the index's ETag was not saved while the article was missing; the next run read "
           "index and child again and stored it; the run after got 304", case=second,
           source=NAME, stored="1, then 2")


@reactor_test
async def test_an_entry_two_feeds_list_counts_once_stored(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    feed, titles, paths = _articles(server, 2)
    other = Conditional(feed.body.decode(), etag='"other-v1"')
    server.route("/cond/other.xml", other)
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source(NAME, [server.url("/cond/feed.xml"), server.url("/cond/other.xml")])]))

    await crawl_case(settings, store)
    assert _stored(store) == set(titles)
    # Both feeds change (new ETags, same entries): the stored entries are skipped by the
    # first feed read, and must count as settled for the second too.
    feed.etag, other.etag = '"feed-v2"', '"other-v2"'
    changed = await crawl_case(settings, store)
    await crawl_case(settings, store)
    assert feed.answers == [200, 200, 304] and other.answers == [200, 200, 304]
    assert all(server.hits[p] == 1 for p in paths) and store.count_articles(NAME) == 2
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"two feeds of one source list the same stored articles, and both "
           f"change their ETag ({backend})",
           "both new ETags were saved (the entries were already stored); the next run got "
           "304 from both", case=changed, source=NAME)


# -- a listing page of 50,000 links -----------------------------------------------------------

LINKS = 50_000


def _listing(server: FaultServer, count: int) -> tuple[str, list[str]]:
    rows = "".join(
        f'<li><a href="/big/news/convoy-route-{i}-reopened-after-landslide-4{i:05d}.html">'
        f"Convoy route {i} reopened after the landslide</a></li>" for i in range(count))
    page = f"<!doctype html><html><body><main><ul>{rows}</ul></main></body></html>"
    titles = []
    for i in range(3):  # max_articles: 3 -> the first three links are fetched
        title = f"Convoy route {i} reopened after the landslide"
        server.route(f"/big/news/convoy-route-{i}-reopened-after-landslide-4{i:05d}.html",
                     respond(200, article_html(title, i), HTML))
        titles.append(title)
    return server.route("/big/", respond(200, page, HTML)), titles


@pytest.mark.slow
def test_listing_page_of_50000_links_finishes_and_closes_its_run(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    with FaultServer() as server:
        url, titles = _listing(server, LINKS)
        config = write_config(tmp_path / "cfg", db_url, [
            {"name": "big-listing", "kind": "listing", "urls": [url], "max_articles": 3}],
            crawl={"source_timeout": "20s"})
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        started = time.monotonic()
        with (tmp_path / "crawl.log").open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "newsmon", "crawl", "--config",
                                     str(config)], cwd=tmp_path, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("newsmon crawl of a 50,000-link listing page ran past 60 s "
                        "(its source_timeout is 20 s)")
        took = time.monotonic() - started
    store = Store.from_url(db_url)
    try:
        runs = store.runs("big-listing")
        assert len(runs) == 1 and runs[0].status == "ok" and runs[0].finished_at is not None
        assert sorted(a.title for a in store.articles(source="big-listing")) == sorted(titles)
    finally:
        store.close()
    assert took < 40, f"took {took:.1f} s"
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"a listing page of 50,000 article links (`newsmon crawl`, {backend})",
           "links read in page order up to the 2,000-link cap (the rest counted as "
           "links_over_cap, not examined); the run finished within its 20 s timeout, its "
           "row closed", status=runs[0].status, stored=f"{len(titles)} (max_articles: 3)")


# -- Age ---------------------------------------------------------------------------------------

def _relative_page(title: str) -> str:
    paras = "".join(f"<p>{escape(p.format(n=7))}</p>\n" for p in _PARAGRAPHS)
    return (f"<!doctype html><html lang=\"en\"><head><title>{escape(title)}</title></head>"
            f"<body><article><h1>{escape(title)}</h1><p class=\"byline\">Updated 2 hours "
            f"ago</p>\n{paras}</article></body></html>\n")


@reactor_test
async def test_age_header_moves_relative_times_back_and_leaves_dates_alone(
        server: FaultServer, store: Store, db_url: str, tmp_path: Path,
        record: Callable[..., None]) -> None:
    pages = {
        "fresh": (_relative_page("Harbour dredging finishes early at the eastern port"), []),
        "cached": (_relative_page("Harbour dredging finishes early at the western port"),
                   [("Age", "7200")]),
        "junk": (_relative_page("Harbour dredging finishes early at the northern port"),
                 [("Age", "two hours")]),
        "dated": (article_html("Harbour dredging finishes early at the southern port", 4),
                  [("Age", "7200")]),
    }
    items, urls = [], {}
    for name, (body, headers) in pages.items():
        urls[name] = server.route(f"/age/news/harbour-dredging-{name}-port-50001.html",
                                  respond(200, body, HTML, headers))
        items.append(rss_item(urls[name], name, pub_date=""))
    server.route("/age/feed.xml", respond(200, rss(items), "application/rss+xml"))
    settings = load(write_config(tmp_path / "cfg", db_url, [
        rss_source("age-wire", server.url("/age/feed.xml"), timezone="UTC")]))

    case = await crawl_case(settings, store)
    got = {name: store.article_by_url(url_key(url)) for name, url in urls.items()}
    assert all(a is not None for a in got.values()), got
    ago = {n: a.fetched_at - a.published_at for n, a in got.items()  # type: ignore[union-attr,operator]
           if n != "dated"}
    assert ago == {"fresh": timedelta(hours=2), "cached": timedelta(hours=4),
                   "junk": timedelta(hours=2)}
    assert got["cached"].published_raw == "Updated 2 hours ago (Age: 7200 s)"  # type: ignore[union-attr]
    assert got["fresh"].published_raw == "Updated 2 hours ago"  # type: ignore[union-attr]
    dated = got["dated"]
    assert dated is not None and dated.published_at is not None
    assert dated.published_at.replace(tzinfo=None) == datetime(2026, 11, 20, 4, 30)
    assert dated.published_raw is not None and "Age" not in dated.published_raw
    backend = make_url(db_url).get_backend_name()
    record("integrity", f"'Updated 2 hours ago' on a cached copy with Age: 7200 ({backend})",
           "published_at is fetch − 2 h − Age (4 h before the fetch, not 2), the raw evidence "
           "notes the Age; an absolute date on a cached copy and an Age of junk are as "
           "without it", case=case, source="age-wire")
