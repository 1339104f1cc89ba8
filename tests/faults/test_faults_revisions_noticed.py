"""Revisions are noticed: a sitemap's newer lastmod makes the crawl fetch a known article
again at any age; a young article is re-fetched with a conditional GET at most every
``refetch_every``, so an unchanged page costs a 304 and stores nothing; a changed page becomes
a new version. Real crawls (Scrapy, the project's settings) of a local server, SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from sqlalchemy import select

from faults.harness import crawl_case, load, reactor_test, rss_source, write_config
from faults.server import FaultHandler, FaultServer, respond
from faults.site import rss, rss_item
from faults.test_faults_refetch import HTML, PARAGRAPHS, REVISED, TITLE, page
from storage import Store
from storage.models import Article, ArticleVersion

SOURCE = "revisions-wire"
GOOD = page(TITLE, PARAGRAPHS)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


class Page:
    """An article page that honours If-Modified-Since against its own Last-Modified, and
    notes the conditional headers it was asked with."""

    def __init__(self, html: str, modified: datetime) -> None:
        self.html, self.modified = html, modified
        self.asked: list[str | None] = []

    def __call__(self, h: FaultHandler) -> None:
        since = h.headers.get("If-Modified-Since")
        self.asked.append(since)
        last = self.modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
        if since and parsedate_to_datetime(since) >= self.modified:
            h.send_body(304, b"", "text/html", [("Last-Modified", last)])
        else:
            h.send_body(200, self.html.encode(), HTML, [("Last-Modified", last)])


def sitemap(url: str, lastmod: str) -> str:
    return (f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}"><url><loc>{url}</loc>'
            f"<lastmod>{lastmod}</lastmod></url></urlset>")


def _versions(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.execute(select(ArticleVersion.status).order_by(ArticleVersion.id))
                    .scalars())


def _fetched_at(store: Store) -> datetime:
    with store.session() as s:
        return s.execute(select(Article.fetched_at)).scalar_one()


@reactor_test
async def test_a_young_article_is_asked_again_conditionally_and_not_too_often(
        db_url: str, tmp_path: Path) -> None:
    with FaultServer() as server:
        article = Page(GOOD, datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
        url = server.route("/news/radars.html", article)
        feed = server.route("/feed.xml", respond(200, rss([rss_item(url, TITLE)]),
                                                 "application/rss+xml; charset=utf-8"))
        # Re-fetch what is younger than a week, at most every 5 s (4 h by default): room for
        # two crawls in a row on a loaded machine, which must not ask again.
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, refetch_within="7d", refetch_every="5s")]))
        store = Store.from_url(db_url)
        try:
            await crawl_case(settings, store)
            assert article.asked == [None]
            first_fetch = _fetched_at(store)
            await crawl_case(settings, store)  # within refetch_every: not asked again
            assert article.asked == [None]
            server.wait(5.1)
            await crawl_case(settings, store)  # due: a conditional GET, answered 304
            assert len(article.asked) == 2 and article.asked[1] is not None
            assert parsedate_to_datetime(article.asked[1]) == first_fetch.replace(microsecond=0)
            assert _versions(store) == ["accepted"]  # a 304 stores nothing
            assert _fetched_at(store) > first_fetch  # but counts as a fetch
            await crawl_case(settings, store)  # the 304 moved the last fetch on
            assert len(article.asked) == 2
            # The page changes; the next due re-fetch gets it and keeps it as a version.
            server.wait(5.1)
            article.html = REVISED
            article.modified = datetime.now(UTC).replace(microsecond=0)
            await crawl_case(settings, store)
            assert len(article.asked) == 3
            assert _versions(store) == ["accepted", "accepted"]
            with store.session() as s:
                assert "1,250 crore" in s.execute(select(Article.body)).scalar_one()
        finally:
            store.close()


@reactor_test
async def test_a_newer_lastmod_fetches_an_old_article_again(db_url: str, tmp_path: Path) -> None:
    with FaultServer() as server:
        article = Page(GOOD, datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
        url = server.route("/news/radars.html", article)
        maps = [sitemap(url, "2026-11-20T10:00:00+05:30")]
        server.route("/sitemap.xml", lambda h: h.send_body(
            200, maps[-1].encode(), "application/xml"))
        # No age makes it due (refetch_within: null): only a newer lastmod does.
        settings = load(write_config(tmp_path / "cfg", db_url, [
            {"name": SOURCE, "kind": "sitemap", "urls": [server.url("/sitemap.xml")],
             "timezone": "Asia/Kolkata", "refetch_within": None, "refetch_every": "0.001s"}]))
        store = Store.from_url(db_url)
        try:
            await crawl_case(settings, store)
            await crawl_case(settings, store)  # lastmod unchanged, before the fetch: skipped
            assert article.asked == [None]
            server.wait(1.1)  # HTTP dates count seconds: the change is a second later
            article.html = REVISED
            article.modified = datetime.now(UTC).replace(microsecond=0)
            maps.append(sitemap(url, datetime.now(UTC).isoformat()))
            await crawl_case(settings, store)
            assert len(article.asked) == 2
            assert _versions(store) == ["accepted", "accepted"]
        finally:
            store.close()
