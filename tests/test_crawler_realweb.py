"""The 181 real pages of ../shared/bench/article-extraction crawled end to end by the real
pipeline, served on 127.0.0.1 under a generated feed, news sitemap and listing page, some
refused (403, 503), disallowed by robots.txt, rate-limited (429 then served) or replaced by a
Cloudflare challenge (benchmarks/realweb_site.py). Every page is stored once: from its page
with the body ``newsmon extract`` gives for it, or from its entry when the page was refused,
the challenge's text never stored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from faults.harness import crawl_case, load, reactor_test, write_config

from crawler.urls import url_key
from storage import Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import realweb_site as rw  # noqa: E402

pytestmark = pytest.mark.skipif(not (rw.DEFAULT_BENCH_DIR / "ground-truth.json").exists(),
                                reason="the article-extraction benchmark is not here")


@pytest.fixture(scope="module")
def pages() -> list[rw.Page]:
    return rw.load_pages()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@reactor_test
async def test_every_real_page_is_stored_once_from_its_page_or_its_entry(
        pages: list[rw.Page], store: Store, db_url: str, tmp_path: Path) -> None:
    assert len(pages) == 181
    with rw.RealWebSite(pages) as site:
        settings = load(write_config(tmp_path / "cfg", db_url, site.source_entries(),
                                     crawl={"max_articles_per_run": 500}))
        case = await crawl_case(settings, store, NEWSMON_RETRY_AFTER_MAX=2.0)
        stored = {a.url_key: a for a in store.articles()}
        hits = dict(site.hits)
    for name in rw.SOURCE_NAMES.values():
        assert case.run(name).status == "ok", (name, case.run(name).first_error)
    wrong: list[str] = []
    for page in pages:
        url = site.url(page.path)
        article = stored.get(url_key(url))
        if article is None:
            wrong.append(f"{page.position} {page.fate}: not stored")
            continue
        if page.from_page:
            if (article.body_source, article.body) != ("page", rw.expected_body(page, url)):
                wrong.append(f"{page.position} {page.fate}: body is not extraction's "
                             f"({article.body_source})")
        else:
            if article.body_source != "feed" or not article.page_error:
                wrong.append(f"{page.position} {page.fate}: not kept from its entry")
            if "Checking if the site connection" in article.body or (
                    article.title == "Just a moment..."):
                wrong.append(f"{page.position} {page.fate}: the wall's text was stored")
            if article.title != page.title:
                wrong.append(f"{page.position} {page.fate}: title {article.title!r}")
    assert wrong == []
    # Once each: one article per page, nothing else.
    assert len(stored) == len(pages)
    fates = {p.fate for p in pages}
    assert fates == {"ok", "403", "503", "wall", "robots", "429"}
    # The disallowed pages were never fetched; the rate-limited ones at least twice (429, then
    # the page after its Retry-After; once more where a loaded machine timed a download out),
    # and stored from the page (checked above).
    for page in pages:
        if page.fate == "robots":
            assert page.path not in hits
        if page.fate == "429":
            assert hits[page.path] >= 2
