"""The real pages of ``../shared/bench/article-extraction`` served on 127.0.0.1 as three sources.

Each of the benchmark's 181 pages is served at ``/news/<id>.html`` and listed by one of a
generated RSS feed (``/feeds/latest.xml``: title, date, a summary), a news sitemap
(``/sitemaps/news.xml``: title, date) and a listing page (``/section/``: the link's text), in
turn. Some pages are refused, rate-limited or replaced by a bot wall, by their position in
the benchmark (a fixed order, the item ids sorted):

- ``403``: every try answers 403 Forbidden;
- ``503``: every try answers 503 (the run's retries fail too);
- ``wall``: a Cloudflare "Just a moment..." challenge page, status 200;
- ``robots``: robots.txt disallows the page (``/news/private/<id>.html``);
- ``429``: the first try answers 429 with ``Retry-After: 1``, the retry the page
  (rate-limited, then served: the article comes from its page);
- ``ok``: the page as it is.

An article is expected stored once per page: from its page (body as extraction gives it) when
the page is served, from its entry (body source "feed") otherwise. Used by
``benchmarks/realweb_bench.py`` and ``tests/test_crawler_realweb.py``.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared next to the checkout (a worktree one level deeper: two levels up).
DEFAULT_BENCH_DIR = next(
    (d for d in (REPO_ROOT.parent / "shared" / "bench" / "article-extraction",
                 REPO_ROOT.parent.parent / "shared" / "bench" / "article-extraction")
     if d.exists()), REPO_ROOT.parent / "shared" / "bench" / "article-extraction")
# Position in the benchmark (item ids sorted) modulo CYCLE -> what the page does.
CYCLE = 20
_FATES = {3: "403", 7: "wall", 11: "429", 13: "robots", 17: "503"}
REFUSED = frozenset({"403", "503", "wall", "robots"})
KINDS = ("rss", "news_sitemap", "listing")
SOURCE_NAMES = {"rss": "realweb-feed", "news_sitemap": "realweb-sitemap",
                "listing": "realweb-section"}
SUMMARY_WORDS = 30
FIRST_DATE = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
CHALLENGE = ("<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
             "<meta http-equiv=\"refresh\" content=\"390\"></head><body><div class=\"main\">"
             "<h1>127.0.0.1</h1><h2>Checking if the site connection is secure</h2>"
             "<noscript>Enable JavaScript and cookies to continue</noscript>"
             "<script>window._cf_chl_opt={cvId: '3'};</script></div></body></html>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Page:
    """One benchmark page as the site serves it."""

    item_id: str
    position: int
    raw: bytes
    truth: str
    title: str
    fate: str
    kind: str
    published: datetime

    @property
    def path(self) -> str:
        folder = "/news/private/" if self.fate == "robots" else "/news/"
        return f"{folder}{self.item_id[:24]}.html"

    @property
    def summary(self) -> str:
        return " ".join(_WORDS.findall(self.truth)[:SUMMARY_WORDS])

    @property
    def from_page(self) -> bool:
        """Whether the article is to be stored from its page (else from its entry)."""
        return self.fate not in REFUSED


def _title(raw: bytes, item_id: str) -> str:
    found = _TITLE.search(raw[:200_000].decode("utf-8", "replace"))
    text = " ".join(html.unescape(found.group(1)).split()) if found else ""
    return text or f"Article {item_id[:8]}"


def load_pages(bench_dir: Path = DEFAULT_BENCH_DIR, limit: int | None = None) -> list[Page]:
    """The benchmark's pages in a fixed order, each with its fate and the source listing it."""
    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for i, item_id in enumerate(sorted(truth)[:limit]):
        raw = gzip.decompress((bench_dir / "html" / f"{item_id}.html.gz").read_bytes())
        pages.append(Page(item_id=item_id, position=i, raw=raw,
                          truth=truth[item_id]["articleBody"], title=_title(raw, item_id),
                          fate=_FATES.get(i % CYCLE, "ok"), kind=KINDS[i % len(KINDS)],
                          published=FIRST_DATE + timedelta(hours=i)))
    return pages


def _rss(pages: list[Page], base: str) -> bytes:
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{base}{p.path}</link>"
        f"<guid>{base}{p.path}</guid>"
        f"<pubDate>{p.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{html.escape(p.summary)}</description></item>\n" for p in pages)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Real web feed</title><link>{base}/</link><description>Latest"
            f"</description>\n{items}</channel></rss>\n").encode()


def _sitemap(pages: list[Page], base: str) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{p.path}</loc><news:news><news:publication><news:name>Real web"
        "</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{p.published.isoformat()}</news:publication_date>"
        f"<news:title>{html.escape(p.title)}</news:title></news:news></url>\n" for p in pages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{urls}</urlset>\n").encode()


def _listing(pages: list[Page]) -> bytes:
    cards = "".join(
        f'<li class="card"><a class="story" href="{p.path}">{html.escape(p.title)}</a> '
        f'<time datetime="{p.published.isoformat()}"></time></li>\n' for p in pages)
    return ("<!doctype html><html><head><title>Section</title></head><body><h1>Latest</h1>"
            f"<ul>{cards}</ul></body></html>").encode()


class RealWebSite:
    """``with RealWebSite(pages) as site: site.url(...)``: the pages, their feed, sitemap and
    listing, robots.txt, and the refusals, on 127.0.0.1 (a port of its own)."""

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._routes: dict[str, tuple[int, bytes, str, list[tuple[str, str]]]] = {}
        self._by_path = {p.path: p for p in pages}

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def source_entries(self, tz: str = "UTC") -> list[dict[str, Any]]:
        """The three sources as sources.yaml entries."""
        paths = {"rss": "/feeds/latest.xml", "news_sitemap": "/sitemaps/news.xml",
                 "listing": "/section/"}
        out: list[dict[str, Any]] = []
        for kind in KINDS:
            entry: dict[str, Any] = {"name": SOURCE_NAMES[kind], "kind": kind,
                                     "urls": [self.url(paths[kind])], "timezone": tz}
            if kind == "listing":
                entry["selectors"] = {"links": "a.story"}
            out.append(entry)
        return out

    def _answer(self, path: str) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        with self._lock:
            self.hits[path] += 1
            hits = self.hits[path]
        if path in self._routes:
            return self._routes[path]
        page = self._by_path.get(path)
        if page is None:
            return 404, b"<h1>Not found</h1>", "text/html", []
        html_type = "text/html; charset=utf-8"
        if page.fate == "403":
            return 403, b"<html><body><h1>403 Forbidden</h1></body></html>", html_type, []
        if page.fate == "503":
            return 503, b"<html><body><h1>Service Unavailable</h1></body></html>", html_type, []
        if page.fate == "wall":
            return 200, CHALLENGE.encode(), html_type, []
        if page.fate == "429" and hits == 1:
            return 429, b"Too Many Requests", "text/plain", [("Retry-After", "1")]
        return 200, page.raw, html_type, []

    def __enter__(self) -> RealWebSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                status, body, ctype, headers = site._answer(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        by_kind = {k: [p for p in self.pages if p.kind == k] for k in KINDS}
        self._routes = {
            "/robots.txt": (200, b"User-agent: *\nDisallow: /news/private/\n", "text/plain",
                            []),
            "/feeds/latest.xml": (200, _rss(by_kind["rss"], self.base),
                                  "application/rss+xml; charset=utf-8", []),
            "/sitemaps/news.xml": (200, _sitemap(by_kind["news_sitemap"], self.base),
                                   "application/xml", []),
            "/section/": (200, _listing(by_kind["listing"]), "text/html; charset=utf-8", []),
        }
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="realweb-site", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def expected_body(page: Page, url: str) -> str:
    """The body an article served from its page is stored with: what ``newsmon extract``
    gives for the page (``extract_article``), cleaned as every stored text is."""
    from crawler.extraction import extract_article
    from storage.text import CAPS, cap_text, clean_text

    body = extract_article(page.raw, url, fetched_at=page.published).body or ""
    return cap_text(clean_text(body), CAPS["body"])


__all__ = ["CHALLENGE", "DEFAULT_BENCH_DIR", "KINDS", "REFUSED", "SOURCE_NAMES", "Page",
           "RealWebSite", "expected_body", "load_pages"]
