"""One article the database refuses is dropped with its reason and its batch-mates are stored;
a search-index step that fails after the commit loses nothing and is not counted as a loss;
the sources row says the configured kind. Real crawls of a local server, SQLite and
PostgreSQL; the refusal is the database's own (a trigger the test creates), so it outlives
the sanitising of NUL bytes and long fields at the record boundary."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from faults.harness import crawl_case, load, reactor_test, rss_source, throwaway_pg, write_config
from faults.server import FaultServer, respond
from faults.site import article_html, rss, rss_item
from storage import Store
from storage.article import ArticleRecord
from storage.batch import store_batch
from storage.models import SourceRow
from storage.records import Outcome

SOURCE = "batch-wire"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
MARK = "REFUSEDMARK"
REFUSAL = "title refused by the test's trigger"
TITLES = [
    "Ministry clears coastal radar order for the western seaboard",
    f"Port authority {MARK} awards dredging contract for the eastern harbour",
    "Coast Guard commissions two fast patrol vessels at the southern base",
    "Navy opens a new air station on the island territories",
]
# Many articles at once, one batch: the refused one shares its transaction with the others.
ONE_BATCH = {"NEWSMON_BATCH_SECONDS": 600.0, "NEWSMON_BATCH_SIZE": 50}


def _refuse_marked_titles(store: Store) -> None:
    """A trigger that makes the database itself refuse an article whose title has MARK."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(text(
                f"CREATE TRIGGER refuse_marked BEFORE INSERT ON articles "
                f"WHEN NEW.title LIKE '%{MARK}%' "
                f"BEGIN SELECT RAISE(ABORT, 'title refused by the test''s trigger'); END"))
            return
        conn.execute(text(
            "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.title LIKE '%{MARK}%' THEN RAISE EXCEPTION "
            "'title refused by the test''s trigger' USING ERRCODE = 'check_violation'; "
            "END IF; RETURN NEW; END $$"))
        conn.execute(text("CREATE TRIGGER refuse_marked BEFORE INSERT ON articles "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_marked()"))


def _site(server: FaultServer, titles: list[str]) -> tuple[str, list[str]]:
    urls = [server.route(f"/news/story-{i}-20261120.html", respond(200, article_html(t, i), HTML))
            for i, t in enumerate(titles, start=1)]
    feed = server.route("/feed.xml", respond(200, rss([rss_item(u, t) for u, t in zip(
        urls, titles, strict=True)]), RSS))
    return feed, urls


def _backend(db_url: str) -> str:
    return "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"


@reactor_test
async def test_an_article_the_database_refuses_does_not_take_its_batch_with_it(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    with FaultServer() as server:
        feed, urls = _site(server, TITLES)
        settings = load(write_config(tmp_path / "cfg", db_url, [rss_source(SOURCE, feed)]))
        store = Store.from_url(db_url)
        try:
            _refuse_marked_titles(store)
            case = await crawl_case(settings, store, **ONE_BATCH)
            assert sorted(case.titles[SOURCE]) == sorted(t for t in TITLES if MARK not in t)
            run = case.run(SOURCE)
            assert run.first_error == f"article {urls[1]} not stored: {REFUSAL}"
            assert (run.new, run.dropped, run.status) == (3, 1, "partial")
            stats = case.results[SOURCE].stats
            assert stats.dropped == 1
            again = await crawl_case(settings, store, **ONE_BATCH)  # refused again, nothing lost
            assert sorted(again.titles[SOURCE]) == sorted(case.titles[SOURCE])
            assert again.run(SOURCE).first_error == f"article {urls[1]} not stored: {REFUSAL}"
        finally:
            store.close()
    record("integrity", f"one article of a batch refused by the database ({_backend(db_url)})",
           "the batch is stored again article by article: the refused one is dropped with "
           "its URL and the database's reason, its 3 batch-mates are stored", case=case,
           source=SOURCE)


def _record(i: int, title: str) -> ArticleRecord:
    return ArticleRecord(
        url_key=f"example.com/batch/{i}", url=f"https://example.com/batch/{i}",
        canonical_url=f"https://example.com/batch/{i}",
        source=SOURCE, title=title, body=f"Body of article {i}. " * 30,
        fetched_at=datetime(2026, 11, 20, 10, i, tzinfo=UTC))


def test_a_nul_byte_in_one_record_never_loses_its_batch_mates(
        db_url: str, record: Callable[..., None]) -> None:
    """Through Store directly: PostgreSQL cannot hold NUL in text, SQLite can; whether the
    record is cleaned before it gets here or refused, the other two are stored."""
    store = Store.from_url(db_url)
    try:
        records = [_record(1, TITLES[0]), _record(2, "Radar\x00 order"), _record(3, TITLES[2])]
        result = store_batch(store, records)
        assert result.outcomes[0] == result.outcomes[2] == Outcome.NEW
        assert result.unavailable is None
        stored = store.known_keys(r.url_key for r in records)
        assert {"example.com/batch/1", "example.com/batch/3"} <= stored
        if "example.com/batch/2" in stored:
            assert result.outcomes[1] == Outcome.NEW and not result.refused
            what = "all 3 stored"
        else:
            assert result.outcomes[1] is None
            assert [r.record.url for r in result.refused] == ["https://example.com/batch/2"]
            assert "NUL" in result.refused[0].message
            what = f"2 of 3 stored; refused: {result.refused[0].message}"
    finally:
        store.close()
    record("integrity", f"a NUL byte in one title of a batch, through Store ({_backend(db_url)})",
           what, stored=f"{len(stored)} / {3 - len(stored)}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from throwaway_pg()


@reactor_test
async def test_a_failed_search_index_step_after_the_commit_is_not_a_loss(
        pg_url: str, tmp_path: Path, record: Callable[..., None],
        caplog: pytest.LogCaptureFixture) -> None:
    titles = [t for t in TITLES if MARK not in t]
    with FaultServer() as server:
        feed, _urls = _site(server, titles)
        settings = load(write_config(tmp_path / "cfg", pg_url, [rss_source(SOURCE, feed)]))
        store = Store.from_url(pg_url)
        try:
            with store.engine.begin() as conn:  # the index step fails, the write does not
                conn.execute(text(
                    "CREATE FUNCTION refuse_docs() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'search_docs refused by the test'; END $$"))
                conn.execute(text("CREATE TRIGGER refuse_docs BEFORE INSERT ON search_docs "
                                  "FOR EACH ROW EXECUTE FUNCTION refuse_docs()"))
            with caplog.at_level(logging.WARNING, logger="storage.store"):
                case = await crawl_case(settings, store, **ONE_BATCH)
            run = case.run(SOURCE)
            assert sorted(case.titles[SOURCE]) == sorted(titles)
            assert (run.status, run.new, run.errors, run.first_error) == ("ok", 3, 0, None)
            assert "3 articles are stored and stay queued for the indexer" in caplog.text
            with store.engine.begin() as conn:
                assert conn.execute(text("SELECT count(*) FROM search_queue")).scalar() == 3
                conn.execute(text("DROP TRIGGER refuse_docs ON search_docs"))
            assert store.index_search() == 3  # the indexer picks them up
        finally:
            store.close()
    record("integrity", "the search-index step fails after the commit (PostgreSQL)",
           "3 new, 0 errors, run ok: a warning says the articles are stored and stay queued; "
           "`newsmon db index` indexes them", case=case, source=SOURCE)


@reactor_test
async def test_the_sources_row_says_the_configured_kind(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    with FaultServer() as server:
        feed, _urls = _site(server, TITLES[:1])
        settings = load(write_config(tmp_path / "cfg", db_url, [rss_source(SOURCE, feed)]))
        store = Store.from_url(db_url)
        try:
            old = Store.from_url(db_url, migrate=False)
            old.source_id(SOURCE)  # a row as earlier versions left it: kind 'unknown'
            old.close()
            case = await crawl_case(settings, store)
            with store.session() as session:
                kinds = dict(session.execute(select(SourceRow.name, SourceRow.kind)).all())
        finally:
            store.close()
    assert case.titles[SOURCE] == TITLES[:1]
    assert kinds == {SOURCE: "rss"}
    record("integrity", f"sources.kind of a crawled rss source ({_backend(db_url)})",
           "rss (an existing row saying unknown is updated)", case=case, source=SOURCE)
