"""Broken and hostile content: encodings, broken feeds, XML attacks, pages without an article."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from faults.harness import CaseRun, crawl_case, load, reactor_test, rss_source, write_config
from faults.server import FaultServer, gzip_bomb, respond
from faults.site import HealthySource, article_html, laughs_doctype, rss, rss_item
from faults.test_faults_http import check_healthy
from storage import Store

FAULTY = "faulty-wire"
RSS_TYPE = "application/rss+xml; charset=utf-8"


async def _crawl(server: FaultServer, healthy: HealthySource, store: Store, db_url: str,
                 folder: Path, faulty: dict[str, Any]) -> CaseRun:
    settings = load(write_config(folder, db_url, [
        rss_source(healthy.name, healthy.feed_url), faulty]))
    result = await crawl_case(settings, store)
    check_healthy(result, healthy)
    return result


# -- encodings ---------------------------------------------------------------------------------

_LATIN_TITLE = "Café owners’ “naïve” bid: €5 m for Zürich–Genève rail"
_LATIN_BODY = (
    "The consortium’s “naïve” opening bid of €5 m for the Zürich–Genève freight slots was "
    "rejected on Tuesday, officials in Bern said.",
    "Négociations continue, and the façade of unity among the partners — Müller, Søren & "
    "Fils and Ødegård — is showing strain.",
    "Traders in Genève expect a revised offer of at least €7 m before the déjà-vu deadline.")
_JA_TITLE = "防衛省、沿岸監視レーダー十二基の追加調達を承認"
_JA_BODY = (
    "防衛省は火曜日、沿岸監視レーダー十二基の追加調達を承認したと発表した。契約額は約三百億円で、"
    "国内メーカーが受注し、十年間の保守も含まれる。",
    "納入は契約締結から十八か月以内に始まる予定だ。海上自衛隊の幹部は、低高度を航行する小型船舶の"
    "探知に空白があると長年指摘してきた。",
    "新たな監視拠点はその空白を埋めることを目的としており、離島周辺の警戒態勢も強化される。"
    "政府関係者によると、来年度予算にも関連経費が計上される見通しである。")


@dataclass(frozen=True)
class EncodingCase:
    id: str
    fault: str
    title: str
    body: tuple[str, ...]
    encoding: str
    content_type: str
    meta: str = ""


ENCODINGS = [
    EncodingCase("windows-1252", "page in windows-1252, declared in the header",
                 _LATIN_TITLE, _LATIN_BODY, "cp1252", "text/html; charset=windows-1252"),
    EncodingCase("shift-jis", "page in Shift-JIS, declared in the header",
                 _JA_TITLE, _JA_BODY, "shift_jis", "text/html; charset=Shift_JIS"),
    EncodingCase("shift-jis-meta", "page in Shift-JIS, declared only in <meta>",
                 _JA_TITLE, _JA_BODY, "shift_jis", "text/html",
                 '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'),
    EncodingCase("utf8-labelled-latin1", "UTF-8 page whose header says ISO-8859-1 (wrong)",
                 _LATIN_TITLE, _LATIN_BODY, "utf-8", "text/html; charset=ISO-8859-1"),
    EncodingCase("cp1252-labelled-utf8", "windows-1252 page whose header says UTF-8 (wrong)",
                 _LATIN_TITLE, _LATIN_BODY, "cp1252", "text/html; charset=utf-8"),
    EncodingCase("sjis-labelled-utf8", "Shift-JIS page whose header says UTF-8 (wrong)",
                 _JA_TITLE, _JA_BODY, "shift_jis", "text/html; charset=utf-8"),
    EncodingCase("utf8-meta-sjis", "UTF-8 page whose <meta> says Shift-JIS (wrong)",
                 _JA_TITLE, _JA_BODY, "utf-8", "text/html",
                 '<meta charset="Shift_JIS">'),
    EncodingCase("cp1252-no-charset", "windows-1252 page with no charset anywhere",
                 _LATIN_TITLE, _LATIN_BODY, "cp1252", "text/html"),
    EncodingCase("utf8-no-charset", "UTF-8 page with no charset anywhere",
                 _LATIN_TITLE, _LATIN_BODY, "utf-8", "text/html"),
]


@pytest.mark.parametrize("case", ENCODINGS, ids=lambda c: getattr(c, "id", None))
@reactor_test
async def test_page_encoding(case: EncodingCase, server: FaultServer, healthy: HealthySource,
                             fstore: Store, sqlite_url: str, tmp_path: Path,
                             record: Callable[..., None]) -> None:
    paragraphs = "".join(f"<p>{p}</p>\n" for p in case.body)
    page = article_html(case.title, body_text=paragraphs, head_extra=case.meta)
    url = server.route("/enc/news/coastal-radar-story-100200.html",
                       respond(200, page.encode(case.encoding), case.content_type))
    # The feed (UTF-8) gives a different title: the one stored must come from the page.
    feed = server.route("/enc/feed.xml", respond(200, rss([rss_item(url, "Feed title")]),
                                                 RSS_TYPE))

    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed))

    run = result.run(FAULTY)
    stored = fstore.articles(source=FAULTY)
    if not stored:
        record("content", case.fault, "NOT STORED: the article was kept out (see dropped)",
               case=result, source=FAULTY, healthy=healthy)
    assert (run.status, run.first_error) == ("ok", None)
    [article] = stored
    assert article.title == case.title
    for paragraph in case.body:
        assert paragraph in article.body, article.body[:200]
    assert "\ufffd" not in article.body and "Ã" not in article.body
    record("content", case.fault, "decoded correctly: title and body stored as written",
           case=result, source=FAULTY, healthy=healthy)


# -- broken feeds ------------------------------------------------------------------------------

def _items(server: FaultServer, prefix: str, titles: list[str]) -> tuple[list[str], list[str]]:
    """Article pages for ``titles`` under ``prefix``; their URLs and RSS items."""
    urls, items = [], []
    for i, title in enumerate(titles, 1):
        url = server.route(f"{prefix}/news/story-{i}-30{i:04d}.html",
                           respond(200, article_html(title, i), "text/html; charset=utf-8"))
        urls.append(url)
        items.append(rss_item(url, title))
    return urls, items


@reactor_test
async def test_feed_with_unclosed_tags(server: FaultServer, healthy: HealthySource,
                                       fstore: Store, sqlite_url: str, tmp_path: Path,
                                       record: Callable[..., None]) -> None:
    titles = ["Frigate trials resume after propeller repair at the naval dockyard",
              "Tariff talks stall over steel quotas as both sides dig in"]
    urls, _ = _items(server, "/broken", titles)
    # Unclosed <b> and <p> in a description, an <item> never closed, no </channel></rss>.
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>Broken</title><link>http://127.0.0.1/</link>\n"
            f"<item><title>{titles[0]}</title><link>{urls[0]}</link>"
            "<description>&lt;p&gt;&lt;b&gt;Trials resume</description></item>\n"
            f"<item><title>{titles[1]}</title><link>{urls[1]}</link>"
            "<description>Steel quotas")
    feed = server.route("/broken/feed.xml", respond(200, body, RSS_TYPE))

    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed))

    run = result.run(FAULTY)
    assert (run.status, run.first_error) == ("ok", None)
    assert sorted(result.titles[FAULTY]) == sorted(titles)
    record("content", "feed with unclosed tags and no closing </channel></rss>",
           "read leniently: both items followed and stored", case=result, source=FAULTY,
           healthy=healthy)


@reactor_test
async def test_feed_with_invalid_dates(server: FaultServer, healthy: HealthySource,
                                       fstore: Store, sqlite_url: str, tmp_path: Path,
                                       record: Callable[..., None]) -> None:
    dates = {"Budget allocation for border roads raised in supplementary demand":
             "Mon, 32 Foo 2026 25:61:00 +0530",
             "Customs portal outage delays cargo clearance at three ports": "0000-00-00 00:00:00",
             "Shipyard wins follow-on order for fast patrol vessels":
             "Fri, 20 Nov 2099 10:00:00 +0000",
             "Export credit agency widens cover for defence shipments":
             "2026-13-45T99:99:99Z"}
    items = [rss_item(f"{server.base_url}/dates/news/item-{i}-40{i:04d}.html", t, d,
                      description="Long enough summary of the item. " * 8)
             for i, (t, d) in enumerate(dates.items(), 1)]
    feed = server.route("/dates/feed.xml", respond(200, rss(items), RSS_TYPE))
    before = datetime.now(UTC)

    # Feed-only: the feed's date is all there is, so a bad one cannot hide behind the page's.
    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed, fetch_articles=False))

    run = result.run(FAULTY)
    assert (run.status, run.first_error) == ("ok", None)
    stored = fstore.articles(source=FAULTY)
    assert sorted(a.title for a in stored) == sorted(dates)
    future = [a.title for a in stored if a.published_at is not None
              and a.published_at > before + timedelta(days=1)]
    assert future == [], "a date in 2099 was stored as the publication time"
    assert all(a.published_at is None for a in stored)
    record("content", "feed with invalid dates (day 32, 0000-00-00, month 13, year 2099)",
           "every item stored without a publication time; none dated in the future",
           case=result, source=FAULTY, healthy=healthy)


@reactor_test
async def test_feed_with_html_in_titles(server: FaultServer, healthy: HealthySource,
                                        fstore: Store, sqlite_url: str, tmp_path: Path,
                                        record: Callable[..., None]) -> None:
    raw = {
        "escaped": ("&lt;b&gt;Navy&lt;/b&gt; orders &lt;script&gt;alert(1)&lt;/script&gt;"
                    "two survey ships", "Navy orders two survey ships"),
        "cdata": ("<![CDATA[Army <em>tests</em> <img src=x onerror=alert(1)>new rifle "
                  "<a href=\"javascript:alert(2)\">sights</a>]]>", "Army tests new rifle sights"),
        "entities": ("Trade deficit narrows &amp;amp; exports rise &#8212; ministry",
                     "Trade deficit narrows & exports rise — ministry"),
    }
    items = [f"<item><title>{markup}</title>"
             f"<link>{server.base_url}/html/news/item-{key}-50001.html</link>"
             f"<description>{'A summary that is long enough to be kept. ' * 6}</description>"
             "</item>\n" for key, (markup, _) in raw.items()]
    feed = server.route("/html/feed.xml", respond(200, rss(items), RSS_TYPE))

    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed, fetch_articles=False))

    run = result.run(FAULTY)
    assert (run.status, run.first_error) == ("ok", None)
    assert sorted(result.titles[FAULTY]) == sorted(want for _, want in raw.values())
    for title in result.titles[FAULTY]:
        assert "<" not in title and "alert" not in title and "javascript" not in title
    record("content", "HTML in feed titles: escaped <b> and <script>, CDATA with <img "
           "onerror> and a javascript: link, double-escaped entities",
           "tags and script text removed; titles stored as plain text", case=result,
           source=FAULTY, healthy=healthy)


@reactor_test
async def test_empty_channel(server: FaultServer, healthy: HealthySource, fstore: Store,
                             sqlite_url: str, tmp_path: Path,
                             record: Callable[..., None]) -> None:
    feed = server.route("/empty/feed.xml", respond(200, rss([]), RSS_TYPE))
    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed))
    run = result.run(FAULTY)
    assert (run.status, run.first_error, result.stored(FAULTY)) == ("ok", None, 0)
    record("content", "an RSS channel with no items", "nothing to store, and no error: the run "
           "is ok", case=result, source=FAULTY, healthy=healthy)


NOT_FEEDS = [
    ("html-error-page", "a feed URL answering 200 with an HTML error page",
     "<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>"
     "<body><h1>Service Temporarily Unavailable</h1></body></html>", "text/html",
     "{url}: not a feed (got an HTML page)"),
    ("html-as-xml", "an HTML error page served as application/rss+xml",
     "<html><body><h1>Error 500</h1><p>Something went wrong.</p></body></html>", RSS_TYPE,
     "{url}: not a feed (got an HTML page)"),
    ("empty-body", "a feed URL answering 200 with an empty body", "", RSS_TYPE,
     "{url}: not a feed (the response was empty)"),
]


@pytest.mark.parametrize("case", NOT_FEEDS, ids=[c[0] for c in NOT_FEEDS])
@reactor_test
async def test_not_a_feed(case: tuple[str, str, str, str, str], server: FaultServer,
                          healthy: HealthySource, fstore: Store, sqlite_url: str,
                          tmp_path: Path, record: Callable[..., None]) -> None:
    _, fault, body, ctype, error = case
    feed = server.route("/notfeed/feed.xml", respond(200, body, ctype))
    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          rss_source(FAULTY, feed))
    run = result.run(FAULTY)
    assert (run.status, run.first_error) == ("failed", error.format(url=feed))
    record("content", fault, "refused as not a feed; the run failed", case=result,
           source=FAULTY, healthy=healthy)


# -- XML attacks -------------------------------------------------------------------------------

_LAUGHS = laughs_doctype()


def _xml_attacks(canary: Path, base: str) -> list[tuple[str, str, str, str, str]]:
    """(id, fault, kind, body, expected first error) for feeds and sitemaps."""
    xxe = f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{canary}">]>'
    remote = f'<!DOCTYPE r [<!ENTITY % dtd SYSTEM "{base}/evil.dtd"> %dtd;]>'
    rss_root = '<rss version="2.0"><channel><title>t</title><item><title>&{e};</title>' \
               '<link>{base}/x/news/a-1.html</link></item></channel></rss>'
    urlset = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
              "<loc>{base}/x/news/a-1-{e}.html</loc></url></urlset>")
    refused = "{url}: XML declares entities (possible XXE or billion-laughs); refused"
    head = '<?xml version="1.0"?>\n'
    return [
        ("xxe-file-feed", "feed with an external entity reading a local file (XXE)", "rss",
         head + xxe + rss_root.format(e="xxe", base=base), refused),
        ("xxe-file-sitemap", "sitemap with an external entity reading a local file (XXE)",
         "sitemap", head + xxe + urlset.format(e="&xxe;", base=base), refused),
        ("xxe-remote-dtd", "feed with a parameter entity fetching a remote DTD", "rss",
         head + remote + rss_root.format(e="x", base=base), refused),
        ("billion-laughs-feed", "billion-laughs feed (10^9 expansions)", "rss",
         head + _LAUGHS + rss_root.format(e="lol9", base=base), refused),
        ("billion-laughs-sitemap", "billion-laughs sitemap", "sitemap",
         head + _LAUGHS + urlset.format(e="&lol9;", base=base), refused),
        ("billion-laughs-padded", "billion-laughs behind 100 KB of comment (past a 64 KiB "
         "sniff window)", "rss",
         head + "<!--" + "x" * 100_000 + "-->\n" + _LAUGHS
         + rss_root.format(e="lol9", base=base), refused),
        ("external-dtd", "RSS 0.91 DOCTYPE naming an external DTD (legitimate; must not be "
         "fetched)", "rss",
         head + f'<!DOCTYPE rss SYSTEM "{base}/evil.dtd">'
         + rss_root.format(e="amp", base=base), ""),
    ]


XML_IDS = ["xxe-file-feed", "xxe-file-sitemap", "xxe-remote-dtd", "billion-laughs-feed",
           "billion-laughs-sitemap", "billion-laughs-padded", "external-dtd"]


@pytest.mark.parametrize("attack", XML_IDS)
@reactor_test
async def test_xml_attack(attack: str, server: FaultServer, healthy: HealthySource,
                          fstore: Store, sqlite_url: str, tmp_path: Path,
                          record: Callable[..., None]) -> None:
    canary = tmp_path / "secret.txt"
    canary.write_text("CANARY-4f1c2e-do-not-read")
    server.route("/evil.dtd", respond(200, '<!ENTITY x SYSTEM "file:///etc/passwd">',
                                      "application/xml-dtd"))
    cases = {c[0]: c for c in _xml_attacks(canary, server.base_url)}
    _, fault, kind, body, error = cases[attack]
    url = server.route("/xml/feed.xml", respond(200, body, "application/xml; charset=utf-8"))
    server.route("/x/news/a-1.html", respond(200, article_html(
        "Coast guard commissions two interceptor boats for the northern coast", 1),
        "text/html; charset=utf-8"))
    source = rss_source(FAULTY, url) if kind == "rss" else {
        "name": FAULTY, "kind": "sitemap", "urls": [url]}

    started = time.monotonic()
    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg", source)
    elapsed = time.monotonic() - started

    run = result.run(FAULTY)
    assert server.hits["/evil.dtd"] == 0, "an external DTD or entity was fetched"
    with fstore.session() as session:
        dump = "\n".join(str(row) for table in ("articles", "crawl_runs")
                         for row in session.execute(text(f"SELECT * FROM {table}")))
    assert "CANARY" not in dump, "the local file was read into the database"
    if error:
        assert (run.status, run.first_error) == ("failed", error.format(url=url))
        happened = "refused before parsing; no file read, no request made"
    else:
        assert (run.status, run.first_error) == ("ok", None)
        happened = "parsed without fetching the DTD"
    assert elapsed < 15
    record("content", fault, happened, case=result, source=FAULTY, healthy=healthy)


@reactor_test
async def test_gzip_bomb_sitemap_file(server: FaultServer, healthy: HealthySource,
                                      fstore: Store, sqlite_url: str, tmp_path: Path,
                                      record: Callable[..., None]) -> None:
    url = server.route("/bomb/sitemap.xml.gz", respond(200, gzip_bomb(256),
                                                       "application/x-gzip"))
    result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                          {"name": FAULTY, "kind": "sitemap", "urls": [url]})
    run = result.run(FAULTY)
    assert (run.status, run.first_error) == (
        "failed", f"{url}: not a sitemap (gzip content expands beyond the 10 MiB cap "
        "(DOWNLOAD_MAXSIZE))")
    record("content", "a .xml.gz sitemap file that is a gzip bomb (256 KB to 256 MiB)",
           "inflation stopped at the 10 MiB cap; refused", case=result, source=FAULTY,
           healthy=healthy)


# -- pages without an article ------------------------------------------------------------------

@reactor_test
async def test_page_without_article_body(server: FaultServer, healthy: HealthySource,
                                         fstore: Store, sqlite_url: str, tmp_path: Path,
                                         record: Callable[..., None],
                                         caplog: pytest.LogCaptureFixture) -> None:
    title = "Watch: the new light tank on its first desert trial run"
    video = ("<!doctype html><html><head><title>" + title + "</title></head><body>"
             "<nav><a href='/'>Home</a></nav><h1>" + title + "</h1>"
             "<div class='player'><video src='/v.mp4' controls></video></div>"
             "<footer>Copyright</footer></body></html>")
    url = server.route("/video/news/light-tank-desert-trial-600001.html",
                       respond(200, video, "text/html; charset=utf-8"))
    feed = server.route("/video/feed.xml", respond(200, rss([rss_item(url, title)]), RSS_TYPE))

    with caplog.at_level(logging.INFO):
        result = await _crawl(server, healthy, fstore, sqlite_url, tmp_path / "cfg",
                              rss_source(FAULTY, feed))

    run = result.run(FAULTY)
    assert (run.status, run.first_error, result.stored(FAULTY), run.dropped) == (
        "ok", None, 0, 1)
    assert f"Dropped: no article body: {url}" in caplog.text
    record("content", "an article page with no article body (a video page)",
           "kept out and counted as dropped, reason 'no article body'; the run is ok",
           case=result, source=FAULTY, healthy=healthy)
