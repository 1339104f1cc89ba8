"""Hostile text from outside: NUL bytes and other controls, bidi overrides, a 2 MB headline, a
1,500-word headline, an 8 KB URL. Text is cleaned and capped once, where it enters
(storage.text), so SQLite and PostgreSQL store the same and a batch keeps its healthy
articles. Real crawls of a local server, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from faults.harness import crawl_case, load, reactor_test, rss_source, throwaway_pg, write_config
from faults.server import FaultServer, respond
from faults.site import article_html, rss, rss_item
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from storage import ArticleRecord, Store
from storage.models import Article, ArticleTermPair
from storage.text import CAPS, MAX_TITLE_TERMS

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
SOURCE = "hostile-wire"
MATES = [f"Ministry clears coastal radar order number {i} for the western seaboard"
         for i in range(1, 6)]


def _backend(db_url: str) -> str:
    return "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"


def _ld_page(headline: str, n: int = 1, **extra: object) -> str:
    """An article whose headline comes from its JSON-LD only (no <h1>, no <title>)."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                     "headline": headline, **extra})
    html = article_html("x", n, head_extra=f'<script type="application/ld+json">{ld}</script>')
    return html.replace("<title>x</title>", "").replace("<h1>x</h1>", "")


def _serve(server: FaultServer, pages: list[tuple[str, str]]) -> str:
    """Route each (feed title, page) under /news/ and a feed listing them all."""
    items = []
    for i, (title, page) in enumerate(pages, start=1):
        url = server.route(f"/news/story-{i}-2026112{i % 10}.html", respond(200, page, HTML))
        items.append(rss_item(url, title))
    return server.route("/feed.xml", respond(200, rss(items, link=server.url("/")), RSS))


def _stored(store: Store) -> list[Article]:
    with store.session() as session:
        return list(session.execute(select(Article).order_by(Article.id)).unique().scalars())


def _pairs(store: Store, article_id: int) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count()).select_from(ArticleTermPair).where(
            ArticleTermPair.article_id == article_id)).scalar_one())


@reactor_test
async def test_nul_and_controls_in_a_headline_do_not_lose_the_batch(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    hostile = "Coastal radar\u0000 chain\u0007 extended to the \ud800islands\ufffe"
    with FaultServer() as server:
        pages = [(t, article_html(t, i)) for i, t in enumerate(MATES, start=1)]
        pages.append(("Coastal radar chain extended", _ld_page(
            hostile, 7, author={"@type": "Person", "name": "Staff\u0000 Reporter\u202e"},
            articleSection="Defence\u202e\u2066", description="Summary\u0000 of the day")))
        feed = _serve(server, pages)
        settings = load(write_config(tmp_path / "cfg", db_url, [rss_source(SOURCE, feed)]))
        store = Store.from_url(db_url)
        try:
            case = await crawl_case(settings, store)
            rows = _stored(store)
        finally:
            store.close()
    assert case.run(SOURCE).status == "ok", case.run(SOURCE).first_error
    assert sorted(a.title for a in rows) == sorted(
        [*MATES, "Coastal radar chain extended to the islands"])
    bad = next(a for a in rows if a.title.startswith("Coastal"))
    assert bad.authors == ["Staff Reporter"] and bad.section == "Defence"
    assert bad.summary == "Summary of the day"
    record("integrity", f"NUL, BEL, a lone surrogate and U+FFFE in a JSON-LD headline, NUL "
           f"and U+202E in its author and section ({_backend(db_url)})",
           "all 6 articles of the batch stored; the controls removed from every field",
           case=case, source=SOURCE)


@reactor_test
async def test_a_feed_title_with_a_nul_character_reference(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """A feed-only source: the feed's title is the article's title."""
    with FaultServer() as server:
        items = [rss_item(server.url(f"/news/brief-{i}-2026112{i}.html"), t,
                          description="A brief from the wire desk. " * 10)
                 for i, t in enumerate(MATES[:3], start=1)]
        items.append(rss_item(server.url("/news/brief-9-20261129.html"), "x",
                              description="A brief from the wire desk. " * 10).replace(
            "<title>x</title>", "<title>Radar &#0;order cleared&#x202E; at last</title>"))
        feed = server.route("/feed.xml", respond(200, rss(items), RSS))
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, fetch_articles=False)]))
        store = Store.from_url(db_url)
        try:
            case = await crawl_case(settings, store)
        finally:
            store.close()
    assert case.run(SOURCE).status == "ok", case.run(SOURCE).first_error
    assert sorted(case.titles[SOURCE]) == sorted([*MATES[:3], "Radar order cleared at last"])
    record("integrity", f"feed title with `&#0;` and `&#x202E;`, feed-only source "
           f"({_backend(db_url)})", "all 4 entries stored; NUL and the bidi override removed",
           case=case, source=SOURCE)


@reactor_test
async def test_huge_headlines_are_capped_and_their_pairs_bounded(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    words = [f"word{i:04d}" for i in range(1_500)]
    long_title = " ".join(words)
    huge_title = "Radar " + "coastal seaboard " * 125_000  # 2 MB
    with FaultServer() as server:
        pages = [(t, article_html(t, i)) for i, t in enumerate(MATES[:3], start=1)]
        pages.append(("A long one", _ld_page(long_title, 4)))
        pages.append(("A huge one", _ld_page(huge_title, 5)))
        feed = _serve(server, pages)
        settings = load(write_config(tmp_path / "cfg", db_url, [rss_source(SOURCE, feed)]))
        store = Store.from_url(db_url)
        try:
            case = await crawl_case(settings, store)
            rows = _stored(store)
            pairs = {a.title[:10]: _pairs(store, a.id) for a in rows}
        finally:
            store.close()
    assert case.run(SOURCE).status == "ok", case.run(SOURCE).first_error
    assert len(rows) == 5 and {a.title for a in rows} >= set(MATES[:3])
    assert all(len(a.title) <= CAPS["title"] for a in rows)
    long_row = next(a for a in rows if a.title.startswith("word0000"))
    assert long_row.title.endswith("\u2026") and " ".join(long_row.title[:-1].split()) == (
        long_row.title[:-1]) and long_row.title[:-1].split()[-1] in words  # cut between words
    most = MAX_TITLE_TERMS * (MAX_TITLE_TERMS - 1) // 2
    assert pairs["word0000 w"] == most and max(pairs.values()) <= most
    record("integrity", f"a 1,500-word and a 2 MB headline in one batch ({_backend(db_url)})",
           f"all 5 stored; titles cut at a word to {CAPS['title']:,} characters; at most "
           f"{most} headline pair rows each (first {MAX_TITLE_TERMS} content words)",
           case=case, source=SOURCE)


@reactor_test
async def test_a_url_over_its_cap_is_dropped_with_its_reason(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    with FaultServer() as server:
        long_url = server.url("/news/" + "a" * 9_000 + ".html")
        items = [rss_item(server.url(f"/news/brief-{i}-2026112{i}.html"), t,
                          description="A brief from the wire desk. " * 10)
                 for i, t in enumerate(MATES[:3], start=1)]
        items.append(rss_item(long_url, "A brief with a very long address",
                              description="A brief from the wire desk. " * 10))
        feed = server.route("/feed.xml", respond(200, rss(items), RSS))
        settings = load(write_config(tmp_path / "cfg", db_url, [
            rss_source(SOURCE, feed, fetch_articles=False)]))
        store = Store.from_url(db_url)
        try:
            case = await crawl_case(settings, store)
        finally:
            store.close()
    assert sorted(case.titles[SOURCE]) == sorted(MATES[:3])
    stats = case.results[SOURCE].stats
    assert stats.dropped == 1
    record("integrity", f"a 9,000-character article URL, feed-only source "
           f"({_backend(db_url)})", "its batch-mates stored; it is dropped, counted as "
           "`url too long` (a URL is an identity and is never cut)", case=case, source=SOURCE)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from throwaway_pg()


def test_a_sqlite_file_with_a_nul_migrates_to_postgresql(
        tmp_path: Path, pg_url: str, record: Callable[..., None]) -> None:
    """A file written before text was sanitised holds the NUL as SQLite stored it."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.from_url(url)
    try:
        recs = [ArticleRecord(url_key=f"example.org/{i}", canonical_url=f"https://example.org/{i}",
                              url=f"https://example.org/{i}", source="old-wire", title=title,
                              body="Body text of the article. " * 20,
                              fetched_at=datetime.now(UTC), authors=["Desk"])
                for i, title in enumerate(MATES[:3])]
        store.upsert_articles(recs)
        with store.engine.begin() as conn:  # as an older newsmon left it
            conn.execute(update(Article).where(Article.url_key == "example.org/0").values(
                title="Radar\x00 order", authors=["Desk\x00"]))
    finally:
        store.close()
    config = tmp_path / "target.yaml"
    config.write_text(yaml.safe_dump({"database_url": pg_url, "data_dir": str(tmp_path),
                                      "sources": []}))
    load_commands()
    result = CliRunner().invoke(app, ["db", "migrate-from", url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    target = Store.from_url(pg_url)
    try:
        got = {a.url_key: (a.title, a.authors) for a in _stored(target)}
    finally:
        target.close()
    assert got["example.org/0"] == ("Radar order", ["Desk"]) and len(got) == 3
    record("integrity", "`db migrate-from` a SQLite file holding NUL in a title and an author "
           "to PostgreSQL", "every row copied (3 of 3 articles); the NULs removed, each "
           "cleaned row logged", stored="3 / 0")


FORMULAS = ['=HYPERLINK("http://evil.example/","radar order")', "+1 radar order cmd",
            "-2+3 radar order", "@SUM(A1) radar order", "\tradar order tab", "\rradar order"]


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    from newsfactory import open_newsroom

    room = open_newsroom(db_url)
    try:
        room.add(*[room.article(t, source="wire", topics={"defence": 9}, body=t + "\r\nmore")
                   for t in FORMULAS],
                 room.article("Plain radar order", source="wire", topics={"defence": 9}))
    finally:
        room.store.close()
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                      "sources": []}))
    load_commands()
    out = tmp_path / "all.csv"
    exported = CliRunner().invoke(app, ["export", "--config", str(config), "--format", "csv",
                                        "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    titles = sorted(r["title"] for r in rows)
    safe = ["'" + t.replace("\r", "\n") for t in FORMULAS]
    assert titles == sorted([*safe, "Plain radar order"])
    assert sorted(r["body"] for r in rows if r["title"] != "Plain radar order") == sorted(
        s + "\nmore" for s in safe)
    found = CliRunner().invoke(app, ["search", "radar", "--config", str(config), "--format",
                                     "csv", "--limit", "50"])
    assert found.exit_code == 0, found.output
    hits = sorted(r["title"] for r in csv.DictReader(io.StringIO(found.stdout, newline="")))
    assert hits == titles
    record("integrity", f"titles starting with = + - @, a tab or a carriage return, "
           f"`export` and `search --format csv` ({_backend(db_url)})",
           "each such cell written with a leading single quote (OWASP); other cells as they "
           "are", stored="7 / 0")
