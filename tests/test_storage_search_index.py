"""The queued search index (PostgreSQL) and its indexers; on SQLite, triggers index on write."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text
from typer.testing import CliRunner

from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from storage import ArticleRecord, Store, search_index
from storage.search import search

T0 = datetime(2026, 11, 25, 6, tzinfo=UTC)


def rec(i: int, word: str = "harbour", **kw: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url_key": f"example.com/{i}", "canonical_url": f"https://example.com/{i}",
        "url": f"https://example.com/{i}", "source": "src", "title": f"Report {i}",
        "body": f"The {word} authority said on Tuesday that traffic grew. " * 5,
        "fetched_at": T0,
    }
    values.update(kw)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def found(store: Store, query: str) -> set[str]:
    return {h.url.removeprefix("https://") for h in search(store, query, limit=100)}


def test_a_writer_indexes_what_it_wrote(store: Store) -> None:
    store.upsert_articles([rec(1), rec(2)])
    assert search_index.pending(store.engine) == 0
    assert found(store, "harbour") == {"example.com/1", "example.com/2"}


def test_deferred_writes_wait_for_the_indexer(db_url: str) -> None:
    store = Store.from_url(db_url, defer_search_index=True)
    try:
        store.upsert_articles([rec(i) for i in range(7)])
        if store.engine.dialect.name != "postgresql":  # SQLite: triggers, nothing waits
            assert search_index.pending(store.engine) == 0
            assert len(found(store, "harbour")) == 7
            return
        assert search_index.pending(store.engine) == 7
        assert found(store, "harbour") == set()
        batches: list[int] = []
        assert search_index.index_pending(store.engine, batch=3,
                                          progress=batches.append) == 7
        assert batches == [3, 3, 1]
        assert search_index.pending(store.engine) == 0
        assert len(found(store, "harbour")) == 7
    finally:
        store.close()


def test_a_changed_article_is_indexed_again(db_url: str) -> None:
    store = Store.from_url(db_url, defer_search_index=True)
    try:
        store.upsert_articles([rec(1, "harbour")])
        store.index_search()
        store.upsert_articles([rec(1, "airport")])  # the text changed
        if store.engine.dialect.name == "postgresql":
            assert search_index.pending(store.engine) == 1
            assert found(store, "airport") == set()  # not yet: the old vectors stand
            assert store.index_search() == 1
        assert found(store, "airport") == {"example.com/1"}
        assert found(store, "harbour") == set()
        store.upsert_articles([rec(1, "airport")])  # unchanged: nothing to index
        assert search_index.pending(store.engine) == 0
    finally:
        store.close()


def test_concurrent_indexers_share_the_queue(db_url: str) -> None:
    writer = Store.from_url(db_url, defer_search_index=True)
    try:
        writer.upsert_articles([rec(i) for i in range(60)])
        queued = search_index.pending(writer.engine)
        counts: list[int] = []
        barrier = threading.Barrier(3)

        def work() -> None:
            barrier.wait()
            counts.append(search_index.index_pending(writer.engine, batch=5))

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Every queued article indexed by exactly one indexer.
        assert sum(counts) == queued
        assert search_index.pending(writer.engine) == 0
        assert len(found(writer, "harbour")) == 60
    finally:
        writer.close()


def test_an_article_deleted_while_queued_is_skipped(db_url: str) -> None:
    store = Store.from_url(db_url, defer_search_index=True)
    try:
        store.upsert_articles([rec(1), rec(2)])
        if store.engine.dialect.name != "postgresql":
            return
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM articles WHERE url_key = 'example.com/1'"))
        assert store.index_search() == 2  # both taken off the queue, one written
        assert search_index.pending(store.engine) == 0
        assert found(store, "harbour") == {"example.com/2"}
    finally:
        store.close()


def test_db_index_command_drains_the_queue(db_url: str) -> None:
    store = Store.from_url(db_url, defer_search_index=True)
    try:
        store.upsert_articles([rec(i) for i in range(4)])
    finally:
        store.close()
    load_commands()
    result = CliRunner().invoke(app, ["db", "index"], env={"NEWSMON_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    pg = db_url.startswith("postgresql")
    assert f"indexed {4 if pg else 0:,} articles for search" in result.stdout
    store = Store.from_url(db_url)
    try:
        assert search_index.pending(store.engine) == 0
        assert len(found(store, "harbour")) == 4
    finally:
        store.close()
