"""The article's own time among other articles' times (trending strips, latest lists, "also
read" teasers, comments): pages in tests/sample_data/own_time with the times expected of them,
written before the code. A time in a list of links to other articles is never the article's."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from config import Settings
from crawler.extraction import extract_article
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from storage import Store

HERE = Path(__file__).resolve().parent / "sample_data" / "own_time"
EXPECTED: dict[str, Any] = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED["pages"]))
def test_the_article_gets_its_own_time_or_none(name: str) -> None:
    want = EXPECTED["pages"][name]
    art = extract_article((HERE / name).read_bytes(), f"https://news.example/{name}",
                          fetched_at=datetime.fromisoformat(EXPECTED["fetched_at"]),
                          site_tz=EXPECTED["site_tz"])
    got = art.published_at.isoformat() if art.published_at else None
    assert got == want["published"], (name, art.published_raw, art.published_source,
                                      [c.to_dict() for c in art.date_candidates])
    if "modified" in want:
        assert art.modified_at is not None and art.modified_at.isoformat() == want["modified"]
    if want.get("published_from_updated"):
        # The record says the published time is an estimate from an "updated" label.
        assert art.published_source is not None and "updated" in art.published_source


def test_rejected_candidates_say_why() -> None:
    art = extract_article((HERE / "trending_strip_before_byline.html").read_bytes(),
                          "https://news.example/a", site_tz="Asia/Kolkata",
                          fetched_at=datetime.fromisoformat(EXPECTED["fetched_at"]))
    rejected = [c for c in art.date_candidates if c.rejected]
    assert {c.raw for c in rejected} >= {"5 hours ago", "1 day ago", "3 hours ago"}
    assert all("links to other" in (c.rejected or "") for c in rejected)


@pytest_twisted.ensureDeferred
async def test_a_crawl_stores_each_page_with_its_own_time(tmp_path: Path, store: Store,
                                                          db_url: str) -> None:
    """The pages served by a local site under a listing page, crawled by the real pipeline:
    relative byline times count back from the fetch, other articles' times are never used."""
    (tmp_path / "news").mkdir()
    for name in EXPECTED["pages"]:
        shutil.copy(HERE / name, tmp_path / "news" / name)
    (tmp_path / "index.html").write_text("<html><body><h1>Latest</h1><ul>" + "".join(
        f'<li><a class="story" href="/news/{n}">{n}</a></li>' for n in EXPECTED["pages"])
        + "</ul></body></html>")
    with SampleSite(root=tmp_path) as site:
        settings = Settings.model_validate({
            "database_url": db_url,
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": "own-time", "kind": "listing", "urls": [site.url("/")],
                         "timezone": EXPECTED["site_tz"], "selectors": {"links": "a.story"},
                         "topic": "defence"}],
        })
        (result,) = await crawl_async(settings, settings.sources, store=store)
    assert result.status == "ok", result.stats
    stored = {a.url.rsplit("/", 1)[-1]: a for a in store.articles()}
    assert set(stored) == set(EXPECTED["pages"])
    fetched = datetime.fromisoformat(EXPECTED["fetched_at"])
    for name, want in EXPECTED["pages"].items():
        art = stored[name]
        if want["published"] is None:
            assert art.published_at is None, (name, art.published_raw)
            continue
        assert art.published_at is not None, name
        expected = datetime.fromisoformat(want["published"])
        got = art.published_at.replace(tzinfo=UTC)
        if art.published_raw and "ago" in art.published_raw:  # counted back from this fetch
            assert got == art.fetched_at.replace(tzinfo=UTC) - (fetched - expected), name
        else:
            assert got == expected, name


_PAGE = """<html><head><title>{title}</title></head><body><div class="wrap">
<h1>{title}</h1>{byline}<div class="text"><p>The Army inducted the first regiment of the
new air-defence system on Monday at a ceremony attended by the chief of staff.</p>
<p>{para}</p><p>Officials said the remaining regiments would follow next year.</p></div>
</div></body></html>"""


@pytest.mark.parametrize(("byline", "para", "expected"), [
    # All-digit dates are dates, not counts.
    ('<div class="info">03.11.2021</div>', "No other dates here.", "2021-11-03"),
    ('<div class="info">10.06.2018 22:00</div>', "No other dates here.", "2018-06-10"),
    # "today" in a heading or sentence is no date; a bare clock needs a label.
    ("<h3>What are we doing today?</h3>", "Short line.", None),
    ("<p>Öffnungszeiten: 08.30 Uhr bis 13.30 Uhr</p>", "Short line.", None),
    ('<p class="byline">Veröffentlicht 08:30 Uhr</p>', "Short line.", "2026-12-02"),
    # A forum's clock is not a publication date.
    ("<p>Aktuelle Zeit: 14.10.2020, 12:18</p>", "Short line.", None),
    # A yearless date counts only in the byline.
    ("<p>Termin: 18. Nov</p>", "Short line.", None),
    ('<p class="date">18. Nov</p>', "Short line.", "2026-11-18"),
])
def test_visible_text_dates(byline: str, para: str, expected: str | None) -> None:
    html = _PAGE.format(title="Army inducts air-defence regiment", byline=byline, para=para)
    art = extract_article(html, "https://news.example/a", site_tz="Europe/Berlin",
                          fetched_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    got = art.published_date.isoformat() if art.published_date else None
    assert got == expected, [c.to_dict() for c in art.date_candidates]


def test_a_webpage_in_a_jsonld_graph_dates_the_page_when_no_article_object_does() -> None:
    graph = ('{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "@id": "s"}, '
             '{"@type": "WebPage", "@id": "https://news.example/a", '
             '"datePublished": "2021-03-04T09:15:00+01:00", '
             '"dateModified": "2021-03-05T10:00:00+01:00"}]}')
    html = _PAGE.format(title="Army inducts air-defence regiment", byline="",
                        para="No dates in the text.").replace(
        "</head>", f'<script type="application/ld+json">{graph}</script></head>')
    art = extract_article(html, "https://news.example/a", site_tz="Europe/Berlin",
                          fetched_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    assert art.published_at == datetime(2021, 3, 4, 8, 15, tzinfo=UTC)
    assert art.published_source == "jsonld"
    assert art.modified_at == datetime(2021, 3, 5, 9, 0, tzinfo=UTC)


def test_the_day_in_the_address_wins_over_a_page_date_of_another_day() -> None:
    html = _PAGE.format(title="Army inducts air-defence regiment",
                        byline='<p class="date">Updated: 11.04.2009</p>', para="Short line.")
    fetched = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    art = extract_article(html, "https://blog.example/2019/10/22/army-inducts/",
                          site_tz="Europe/Berlin", fetched_at=fetched)
    assert (art.published_date, art.published_source) == (date(2019, 10, 22), "url")
    # Where the page agrees with its address, the page's more precise time is kept.
    html = html.replace("Updated: 11.04.2009", "22.10.2019, 14:05 Uhr")
    art = extract_article(html, "https://blog.example/2019/10/22/army-inducts/",
                          site_tz="Europe/Berlin", fetched_at=fetched)
    assert art.published_at == datetime(2019, 10, 22, 12, 5, tzinfo=UTC)
    # Not a date: an id, an impossible month, a future day.
    for url in ("https://x.example/news/12345678/", "https://x.example/2020/13/01/a",
                "https://x.example/2031/01/01/a"):
        art = extract_article(html, url, site_tz="Europe/Berlin", fetched_at=fetched)
        assert art.published_source != "url", url


@pytest_twisted.ensureDeferred
async def test_a_day_stays_its_day_through_the_crawl_and_the_export(
        tmp_path: Path, store: Store, db_url: str) -> None:
    from storage.queries import iter_export

    (tmp_path / "news").mkdir()
    dated = _PAGE.format(title="Army inducts air-defence regiment", byline="",
                         para="More on the regiment.").replace(
        "</head>", '<script type="application/ld+json">{"@type": "NewsArticle", '
                   '"datePublished": "2026-11-20"}</script></head>')
    undated = _PAGE.format(title="Navy commissions survey vessel", byline="",
                           para="More on the vessel.")
    (tmp_path / "news" / "regiment.html").write_text(dated)
    (tmp_path / "news" / "vessel.html").write_text(undated)
    with SampleSite(root=tmp_path) as site:
        items = "".join(
            f"<item><title>{t}</title><link>{site.url('/news/' + f)}</link>"
            f"<pubDate>{d}</pubDate></item>"
            for t, f, d in (("Army inducts air-defence regiment", "regiment.html",
                             "Fri, 20 Nov 2026 00:30:00 +0100"),
                            ("Navy commissions survey vessel", "vessel.html",
                             "Tue, 24 Nov 2026 00:30:00 +0530")))
        (tmp_path / "feed.xml").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
            "</channel></rss>")
        settings = Settings.model_validate({
            "database_url": db_url,
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0},
            "sources": [{"name": "days", "kind": "rss", "urls": [site.url("/feed.xml")],
                         "timezone": "Europe/Berlin", "topic": "defence"}]})
        (result,) = await crawl_async(settings, settings.sources, store=store)
    assert result.status == "ok", result.stats
    rows = {r["title"]: r for r in iter_export(store)}
    # 20 Nov 00:30 in Berlin is 19 Nov in UTC; 24 Nov 00:30 in India is 23 Nov in UTC.
    regiment, vessel = rows["Army inducts air-defence regiment"], rows[
        "Navy commissions survey vessel"]
    assert regiment["published_at"].date() == date(2026, 11, 19)
    assert regiment["published_date"] == date(2026, 11, 20)
    assert vessel["published_at"].date() == date(2026, 11, 23)
    assert vessel["published_date"] == date(2026, 11, 24)
