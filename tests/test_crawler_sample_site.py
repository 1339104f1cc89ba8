"""Tests for the bundled sample site and the local server that serves it."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import pytest
import yaml

from crawler.sample_site import (
    EXPECTED_PATH,
    SITE_ROOT,
    SOURCES_PATH,
    SampleSite,
    load_expected,
    render_sources,
)

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
_STORY_ID = re.compile(r"-\d{6,}\.html$")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, Message[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def canonical_of(html: bytes, url: str) -> str:
    doc = lxml.html.fromstring(html)
    hrefs = doc.xpath('//link[@rel="canonical"]/@href')
    return urljoin(url, hrefs[0]) if hrefs else url


@pytest.fixture(scope="module")
def bundled_site() -> Iterator[SampleSite]:
    with SampleSite() as running:
        yield running


@pytest.fixture
def fresh_site(bundled_site: SampleSite) -> SampleSite:
    bundled_site.reset()
    return bundled_site


# -- the server ------------------------------------------------------------------------------


def test_starts_on_a_free_port_and_fills_in_base(fresh_site: SampleSite) -> None:
    assert fresh_site.port > 0
    assert fresh_site.base_url == f"http://127.0.0.1:{fresh_site.port}"
    status, headers, body = fetch(fresh_site.url("/bharat-defence-wire/feed.xml"))
    assert status == 200
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert b"{{BASE}}" not in body
    assert f"<link>{fresh_site.base_url}/bharat-defence-wire/</link>".encode() in body
    assert int(headers["Content-Length"]) == len(body)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/capitol-defense-daily/feeds/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/global-trade-desk/sitemap-index.xml", "application/xml; charset=utf-8"),
        ("/press-information-desk/news-sitemap.xml", "application/xml; charset=utf-8"),
        ("/global-trade-desk/sitemaps/articles-2026-11-b.xml.gz", "application/x-gzip"),
        ("/indus-ledger/defence/", "text/html; charset=utf-8"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/indus-ledger/static/lead-image.svg", "image/svg+xml"),
    ],
)
def test_content_type_per_file(fresh_site: SampleSite, path: str, content_type: str) -> None:
    status, headers, _ = fetch(fresh_site.url(path))
    assert status == 200
    assert headers["Content-Type"] == content_type


def test_validators_are_strong_etag_and_last_modified(fresh_site: SampleSite) -> None:
    _, headers, _ = fetch(fresh_site.url("/robots.txt"))
    etag = headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert email.utils.parsedate_to_datetime(headers["Last-Modified"]).tzinfo is not None
    _, again, _ = fetch(fresh_site.url("/robots.txt"))
    assert again["ETag"] == etag


def test_if_none_match_gives_304(fresh_site: SampleSite) -> None:
    url = fresh_site.url("/capitol-defense-daily/feeds/atom.xml")
    _, headers, _ = fetch(url)
    status, headers_304, body = fetch(url, {"If-None-Match": headers["ETag"]})
    assert status == 304
    assert body == b""
    assert headers_304["ETag"] == headers["ETag"]
    status, _, body = fetch(url, {"If-None-Match": '"something-else"'})
    assert status == 200 and body


def test_if_modified_since_gives_304_unless_older(fresh_site: SampleSite) -> None:
    url = fresh_site.url("/press-information-desk/news-sitemap.xml")
    _, headers, _ = fetch(url)
    status, _, _ = fetch(url, {"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    status, _, _ = fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    status, _, _ = fetch(
        url, {"If-None-Match": '"stale"', "If-Modified-Since": headers["Last-Modified"]}
    )
    assert status == 200


def test_missing_file_is_404(fresh_site: SampleSite) -> None:
    status, headers, body = fetch(fresh_site.url("/no-such-outlet/story.html"))
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"Not Found" in body


def test_paths_cannot_leave_the_root(fresh_site: SampleSite) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fresh_site.port, timeout=10)
    try:
        conn.request("GET", "/../sources.yaml")
        response = conn.getresponse()
        response.read()
        assert response.status == 404
    finally:
        conn.close()


def test_directory_without_slash_redirects(fresh_site: SampleSite) -> None:
    status, headers, _ = fetch(fresh_site.url("/indus-ledger/defence"))
    assert status == 301
    assert headers["Location"] == fresh_site.url("/indus-ledger/defence/")


def test_gzip_sitemap_is_served_as_raw_gzip(fresh_site: SampleSite) -> None:
    status, headers, body = fetch(
        fresh_site.url("/global-trade-desk/sitemaps/articles-2026-11-b.xml.gz"),
        {"Accept-Encoding": "gzip"},
    )
    assert status == 200
    assert headers["Content-Encoding"] is None
    assert body[:2] == b"\x1f\x8b"
    root = lxml.etree.fromstring(gzip.decompress(body))
    locs = [loc.text for loc in root.iter(f"{SITEMAP_NS}loc")]
    assert locs and all(loc.startswith(fresh_site.base_url + "/") for loc in locs)


def test_head_sends_headers_only(fresh_site: SampleSite) -> None:
    status, headers, body = fetch(fresh_site.url("/robots.txt"), method="HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) > 0
    assert fresh_site.bytes_sent == 0


def test_counters_count_requests_and_bytes(fresh_site: SampleSite) -> None:
    url = fresh_site.url("/robots.txt")
    _, headers, first = fetch(url)
    _, _, second = fetch(url)
    fetch(url, {"If-None-Match": headers["ETag"]})
    fetch(fresh_site.url("/missing.html"))
    assert fresh_site.requests["/robots.txt"] == 3
    assert fresh_site.requests["/missing.html"] == 1
    assert fresh_site.requests["/never-asked"] == 0
    _, _, missing_body = fetch(fresh_site.url("/missing.html"))
    assert fresh_site.bytes_sent == len(first) + len(second) + 2 * len(missing_body)
    assert [r.status for r in fresh_site.records][:3] == [200, 200, 304]
    assert fresh_site.records[2].headers["If-None-Match"] == headers["ETag"]
    fresh_site.reset()
    assert fresh_site.requests == {} and fresh_site.bytes_sent == 0 and fresh_site.records == []


def test_requests_are_counted_by_path_without_query(fresh_site: SampleSite) -> None:
    fetch(fresh_site.url("/robots.txt?utm_source=rss"))
    assert fresh_site.requests["/robots.txt"] == 1
    assert fresh_site.records[0].query == "utm_source=rss"


def test_set_status_and_set_delay(fresh_site: SampleSite) -> None:
    fresh_site.set_status("/robots.txt", 503)
    status, _, _ = fetch(fresh_site.url("/robots.txt"))
    assert status == 503
    fresh_site.set_status("/robots.txt", None)
    fresh_site.set_delay("/robots.txt", 0.3)
    started = time.monotonic()
    status, _, _ = fetch(fresh_site.url("/robots.txt"))
    assert status == 200
    assert time.monotonic() - started >= 0.3
    fresh_site.reset()
    started = time.monotonic()
    fetch(fresh_site.url("/robots.txt"))
    assert time.monotonic() - started < 0.3


def test_no_request_logging_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with SampleSite() as quiet:
        fetch(quiet.url("/robots.txt"))
        fetch(quiet.url("/missing.html"))
    assert capfd.readouterr().err == ""


def test_serves_another_root(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text("<rss><channel><link>{{BASE}}/</link></channel></rss>")
    with SampleSite(root=tmp_path) as custom:
        status, _, body = fetch(custom.url("/feed.xml"))
        assert status == 200
        assert body == f"<rss><channel><link>{custom.base_url}/</link></channel></rss>".encode()
        assert fetch(custom.url("/robots.txt"))[0] == 404


def test_missing_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        SampleSite(root=tmp_path / "nope")


def test_stop_releases_the_port_and_open_connections() -> None:
    running = SampleSite().start()
    port = running.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/robots.txt")
    conn.getresponse().read()  # keep-alive: the connection stays open
    running.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/robots.txt")
        conn.getresponse().read()
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with SampleSite(port=port) as again:
        assert again.port == port
        assert fetch(again.url("/robots.txt"))[0] == 200
    running.stop()  # a second stop is harmless


def test_base_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = SampleSite().base_url


# -- the bundled site ------------------------------------------------------------------------


def test_robots_allows_all_and_points_to_sitemaps(fresh_site: SampleSite) -> None:
    _, _, body = fetch(fresh_site.url("/robots.txt"))
    text = body.decode()
    assert "User-agent: *" in text and "Disallow: /" not in text
    assert f"Sitemap: {fresh_site.base_url}/global-trade-desk/sitemap-index.xml" in text


def test_every_feed_and_sitemap_parses(fresh_site: SampleSite) -> None:
    roots = {}
    for file in sorted(SITE_ROOT.rglob("*.xml*")):
        path = "/" + file.relative_to(SITE_ROOT).as_posix()
        status, _, body = fetch(fresh_site.url(path))
        assert status == 200, path
        if path.endswith(".gz"):
            body = gzip.decompress(body)
        root = lxml.etree.fromstring(body)
        assert "{{BASE}}" not in lxml.etree.tostring(root, encoding="unicode")
        roots[path] = root.tag
    assert roots["/bharat-defence-wire/feed.xml"] == "rss"
    assert roots["/capitol-defense-daily/feeds/atom.xml"] == f"{ATOM_NS}feed"
    assert roots["/global-trade-desk/sitemap-index.xml"] == f"{SITEMAP_NS}sitemapindex"
    assert roots["/press-information-desk/news-sitemap.xml"] == f"{SITEMAP_NS}urlset"


def test_news_sitemap_has_news_dates_and_titles(fresh_site: SampleSite) -> None:
    _, _, body = fetch(fresh_site.url("/press-information-desk/news-sitemap.xml"))
    root = lxml.etree.fromstring(body)
    urls = root.findall(f"{SITEMAP_NS}url")
    assert urls
    for url in urls:
        assert url.findtext(f".//{NEWS_NS}publication_date")
        assert url.findtext(f".//{NEWS_NS}title")


def test_every_expected_url_is_served(fresh_site: SampleSite) -> None:
    expected = load_expected(fresh_site.base_url)
    assert 12 <= len(expected) <= 16
    for entry in expected:
        status, headers, body = fetch(entry["url"])
        assert status == 200, entry["url"]
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert canonical_of(body, entry["url"]) == entry["url"]
        for other in entry.get("linked_as", []):
            status, _, other_body = fetch(other)
            assert status == 200, other
            assert canonical_of(other_body, other) == entry["url"]
            assert other != entry["url"]


def test_expected_manifest_is_complete(fresh_site: SampleSite) -> None:
    expected = load_expected(fresh_site.base_url)
    sources = {s["name"] for s in yaml.safe_load(render_sources(fresh_site.base_url))["sources"]}
    assert len({e["url"] for e in expected}) == len(expected)
    assert sum(e["dropped"] for e in expected) == 1
    assert sum("published_ago_seconds" in e for e in expected) == 1
    for entry in expected:
        assert entry["source"] in sources
        assert entry["title"]
        assert ("published_utc" in entry) != ("published_ago_seconds" in entry)
        assert isinstance(entry["authors"], list) and isinstance(entry["highlights"], list)
        if not entry["dropped"]:
            _, _, body = fetch(entry["url"])
            page = lxml.html.fromstring(body).text_content()
            assert entry["body_starts_with"] in page
            assert entry["title"] in page
            for junk in entry["body_must_not_contain"]:
                assert junk in page, (entry["url"], junk)


def _linked_urls(site: SampleSite, kind: str, url: str, selectors: dict[str, str]) -> list[str]:
    """What a source of ``kind`` links to, read the simplest way (the crawler does it properly)."""
    _, _, body = fetch(url)
    if kind == "rss":
        return [item.findtext("link") for item in lxml.etree.fromstring(body).iter("item")]
    if kind == "atom":
        return [
            link.get("href")
            for link in lxml.etree.fromstring(body).iter(f"{ATOM_NS}link")
            if link.getparent().tag == f"{ATOM_NS}entry"
        ]
    if kind in ("sitemap", "news_sitemap"):
        if url.endswith(".gz"):
            body = gzip.decompress(body)
        root = lxml.etree.fromstring(body)
        locs = [loc.text for loc in root.iter(f"{SITEMAP_NS}loc")]
        if root.tag == f"{SITEMAP_NS}sitemapindex":
            return [u for loc in locs for u in _linked_urls(site, kind, loc, selectors)]
        return locs
    doc = lxml.html.fromstring(body, base_url=url)
    doc.make_links_absolute(url)
    if "links" in selectors:
        return [a.get("href") for a in doc.cssselect(selectors["links"])]
    # Stand-in for the crawler's heuristics: on-site slugs that end in a numeric story id.
    hrefs = [a.get("href", "") for a in doc.iter("a")]
    return [h for h in hrefs if h.startswith(site.base_url) and _STORY_ID.search(h)]


def test_first_source_that_links_an_article_is_its_expected_source(
    fresh_site: SampleSite,
) -> None:
    config = yaml.safe_load(render_sources(fresh_site.base_url))
    kinds = {s["kind"] for s in config["sources"]}
    assert kinds == {"rss", "atom", "sitemap", "news_sitemap", "listing"}
    first_source: dict[str, str] = {}
    linked_by: dict[str, list[str]] = {}
    for source in config["sources"]:
        for url in source["urls"]:
            for link in _linked_urls(fresh_site, source["kind"], url, source["selectors"]):
                _, _, body = fetch(link)
                canonical = canonical_of(body, strip_tracking(link))
                first_source.setdefault(canonical, source["name"])
                linked_by.setdefault(canonical, []).append(source["name"])
    expected = load_expected(fresh_site.base_url)
    assert set(first_source) == {e["url"] for e in expected}
    for entry in expected:
        assert first_source[entry["url"]] == entry["source"], entry["url"]
        assert linked_by[entry["url"]][1:] == entry.get("also_linked_by", [])


def test_sources_yaml_passes_the_config_schema(tmp_path: Path) -> None:
    from config.loader import load_settings

    (tmp_path / "sources.yaml").write_text(render_sources("http://127.0.0.1:8000"))
    (tmp_path / "settings.yaml").write_text("sources_file: sources.yaml\n")
    settings = load_settings(tmp_path / "settings.yaml", env={})
    assert [s.name for s in settings.sources] == [
        "bharat-defence-wire",
        "capitol-defense-daily",
        "global-trade-desk",
        "press-information-desk",
        "euro-security-review",
        "indus-ledger",
    ]


def test_bundled_files_are_package_data() -> None:
    assert SOURCES_PATH.is_file() and EXPECTED_PATH.is_file()
    assert (SITE_ROOT / "robots.txt").is_file()


def test_dates_shift_by_whole_days_in_the_forms_the_site_prints() -> None:
    from crawler.sample_site.dates import shift_dates, shift_path

    text = ("<pubDate>Tue, 24 Nov 2026 23:02:00 +0530</pubDate> Monday, November 23, 2026; "
            "Updated: Nov 24, 2026, 11:02 pm IST; Posted On: 24 NOV 2026 6:15PM; "
            "22 November 2026; 24.11.2026 &ndash; 08:30; 2026-11-24T14:30:00-05:00 "
            "/land/2026/11/24/army cdd-2026-11-24-4411 targets for 2027–2030, October 2026, "
            "articles-2026-11-a.xml, id 101732901")
    assert shift_dates(text, 8) == (
        "<pubDate>Wed, 2 Dec 2026 23:02:00 +0530</pubDate> Tuesday, December 1, 2026; "
        "Updated: Dec 2, 2026, 11:02 pm IST; Posted On: 2 DEC 2026 6:15PM; "
        "30 November 2026; 02.12.2026 &ndash; 08:30; 2026-12-02T14:30:00-05:00 "
        "/land/2026/12/02/army cdd-2026-12-02-4411 targets for 2027–2030, October 2026, "
        "articles-2026-11-a.xml, id 101732901")
    assert shift_dates(text, 0) == text
    assert shift_path("/cdd/land/2026/12/02/army.html", -8) == "/cdd/land/2026/11/24/army.html"
    assert shift_dates("Thu, 31 Dec 2026", 1) == "Fri, 1 Jan 2027"
