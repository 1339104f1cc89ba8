"""Pages that are not articles (about, tag, author and section indexes, a video with a
one-line caption) are recognised and not stored; their drops are counted with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_twisted

from config import Settings
from crawler.extraction import extract_article
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from storage import Store

FETCHED = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
STORY = "".join(
    f"<p>The defence ministry signed a contract for {n} fast patrol vessels on Monday, "
    "officials said, the third such order this year for the Coast Guard's fleet.</p>"
    for n in ("four", "six", "eight"))
ARTICLE = ("<html><head><title>Coast Guard orders patrol vessels</title>"
           "<script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"headline\": "
           "\"Coast Guard orders patrol vessels\", \"datePublished\": \"2026-12-01T09:00:00Z\"}"
           "</script></head><body><article><h1>Coast Guard orders patrol vessels</h1>"
           f"<p class='byline'>By Asha Rao</p>{STORY}</article></body></html>")
ABOUT = ("<html><head><title>About us</title><script type='application/ld+json'>"
         "{\"@type\": \"AboutPage\", \"name\": \"About us\"}</script></head><body><h1>About us"
         f"</h1>{STORY}</body></html>")
TAG = ("<html><head><title>Coast Guard - Defence Daily</title></head><body><h1>Coast Guard</h1>"
       + STORY + "</body></html>")
VIDEO = ("<html><head><title>Watch: patrol vessel sea trials</title>"
         "<meta property='og:type' content='video.other'></head><body>"
         "<h1>Watch: patrol vessel sea trials</h1><video src='/v.mp4'></video>"
         "<p>The new vessel during its sea trials off Goa.</p></body></html>")


@pytest.mark.parametrize(("html", "path", "why"), [
    (ABOUT, "/company/", "AboutPage"),
    (TAG, "/tag/coast-guard/", "address"),
    (VIDEO, "/videos/sea-trials-1234", "video.other"),
])
def test_not_an_article(html: str, path: str, why: str) -> None:
    art = extract_article(html, f"https://d.example{path}", fetched_at=FETCHED)
    assert art.not_article is not None and why in art.not_article


def test_an_article_is_an_article_whatever_its_address() -> None:
    for path in ("/news/coast-guard-orders-vessels", "/tag/coast-guard/vessels-ordered"):
        art = extract_article(ARTICLE, f"https://d.example{path}", fetched_at=FETCHED)
        assert art.not_article is None, path


@pytest_twisted.ensureDeferred
async def test_a_sitemap_of_pages_stores_only_the_article(tmp_path: Path, store: Store,
                                                          db_url: str) -> None:
    pages = {"news/coast-guard-orders-vessels.html": ARTICLE, "company/index.html": ABOUT,
             "tag/coast-guard/index.html": TAG, "videos/sea-trials.html": VIDEO}
    for rel, html in pages.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(html)
    with SampleSite(root=tmp_path) as site:
        locs = [site.url("/news/coast-guard-orders-vessels.html"), site.url("/company/"),
                site.url("/tag/coast-guard/"), site.url("/videos/sea-trials.html")]
        (tmp_path / "sitemap.xml").write_text(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{u}</loc></url>" for u in locs) + "</urlset>")
        settings = Settings.model_validate({
            "database_url": db_url,
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": "pages", "kind": "sitemap", "urls": [site.url("/sitemap.xml")],
                         "topic": "defence"}]})
        (result,) = await crawl_async(settings, settings.sources, store=store)
    assert [a.title for a in store.articles()] == ["Coast Guard orders patrol vessels"]
    assert (result.stats.new, result.stats.dropped) == (1, 3)
