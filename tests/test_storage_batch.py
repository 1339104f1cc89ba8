"""store_batch: a refused record is isolated, an unavailable database is not retried."""

from __future__ import annotations

import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from storage import ArticleRecord, Outcome, Store
from storage.batch import store_batch

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def record(key: str, **kw: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url_key": key, "canonical_url": f"https://{key}", "url": f"https://{key}",
        "source": "src", "title": f"Title of {key[:40]}", "body": f"Body of {key[:40]} " * 30,
        "fetched_at": T0, "published_at": T0 - timedelta(hours=2),
    }
    values.update(kw)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def test_a_clean_batch_takes_the_fast_path(db_url: str) -> None:
    store = Store.from_url(db_url)
    try:
        result = store_batch(store, [record("example.com/a"), record("example.com/b")])
        assert result.outcomes == [Outcome.NEW, Outcome.NEW]
        assert (result.refused, result.unavailable, result.index_error) == ([], None, None)
        assert store.count_articles() == 2
    finally:
        store.close()


def test_a_naive_time_in_one_record_drops_only_that_record(db_url: str) -> None:
    store = Store.from_url(db_url)
    try:
        bad = record("example.com/bad", fetched_at=datetime(2026, 1, 1))  # naive: refused
        result = store_batch(store, [record("example.com/a"), bad, record("example.com/b")])
        assert result.outcomes == [Outcome.NEW, None, Outcome.NEW]
        assert [r.record.url_key for r in result.refused] == ["example.com/bad"]
        assert result.refused[0].message.startswith("article https://example.com/bad not "
                                                    "stored: ")
        assert "naive datetime" in result.refused[0].message
        assert store.known_keys(["example.com/a", "example.com/b", "example.com/bad"]) == {
            "example.com/a", "example.com/b"}
    finally:
        store.close()


def test_a_key_too_large_for_its_index_is_the_record_s_fault(db_url: str) -> None:
    """PostgreSQL reports an index row too large as "program limit exceeded", an
    OperationalError to the driver: still the record's fault, not an unavailable database."""
    store = Store.from_url(db_url)
    try:
        # Within the column's 2,048 characters, but ~6 KB of incompressible UTF-8: more than
        # a B-tree entry holds (2,704 bytes).
        huge = "example.com/" + "".join(chr(0x4E00 + secrets.randbelow(20000))
                                        for _ in range(2000))
        result = store_batch(store, [record("example.com/a"), record(huge)])
        assert result.outcomes[0] == Outcome.NEW and result.unavailable is None
        if store.engine.dialect.name == "postgresql":
            assert result.outcomes[1] is None
            assert "index row size" in result.refused[0].reason
        else:  # SQLite has no such limit
            assert result.outcomes[1] == Outcome.NEW
    finally:
        store.close()


def test_a_locked_database_loses_the_batch_without_retrying_each_record(tmp_path: object
                                                                        ) -> None:
    path = f"{tmp_path}/locked.db"
    store = Store.from_url(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        store.source_id("src")
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        started = time.monotonic()
        result = store_batch(store, [record(f"example.com/{i}") for i in range(3)])
        waited = time.monotonic() - started
        assert result.unavailable == "database is locked"
        assert result.outcomes == [None, None, None] and result.lost == 3
        assert not result.refused
        # Writers queue for the write lock up to 60 s (storage.engine); once per batch, not once
        # per record (3 records: 180 s).
        assert waited < 90, "one write-lock wait (60 s), not one per record"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()
