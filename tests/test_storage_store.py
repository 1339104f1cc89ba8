"""Store: upserts by URL key, versions, aliases, runs and validators, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from storage import ArticleRecord, Outcome, RunStats, Store
from storage.migrate import current_revisions, head_revisions

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def record(key: str = "example.com/a", **kw: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url_key": key, "canonical_url": f"https://{key}", "url": f"https://{key}?utm_source=x",
        "source": "src", "title": "Title", "body": "Body text " * 30, "fetched_at": T0,
        "published_at": T0 - timedelta(hours=2), "published_raw": "2 hours ago",
        "published_precision": "hour", "published_source": "text",
    }
    values.update(kw)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def test_migrations_reach_head(store: Store) -> None:
    assert current_revisions(store.engine) == head_revisions()
    assert "0001" not in head_revisions()


def test_the_migration_history_has_one_head() -> None:
    """`newsmon db upgrade` reports one revision: every new revision follows the last; the
    quick check of every start (storage.migrate.HEAD) names it."""
    from storage.migrate import HEAD

    assert head_revisions() == (HEAD,)


def test_a_database_left_on_the_old_two_heads_upgrades_to_the_one(tmp_path: Path) -> None:
    from storage.engine import make_engine
    from storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0009")
    upgrade(engine, "0014")
    assert current_revisions(engine) == ("0009", "0014")
    upgrade(engine)
    assert current_revisions(engine) == head_revisions()
    engine.dispose()


def test_insert_then_unchanged_then_update(store: Store) -> None:
    assert store.upsert_articles([record()]) == [Outcome.NEW]
    assert store.upsert_articles([record(fetched_at=T0 + timedelta(hours=1))]) == [
        Outcome.UNCHANGED]
    later = T0 + timedelta(hours=2)
    assert store.upsert_articles([record(body="Corrected text " * 30, fetched_at=later)]) == [
        Outcome.UPDATED]
    assert store.count_articles() == 1
    (art,) = store.articles()
    assert art.body.startswith("Corrected")
    assert art.modified_at == later
    assert art.first_seen_at == T0
    with store.session() as session:  # closed at once: an open one blocks the next test's reset
        stored = session.get(type(art), art.id)
        assert stored is not None
        assert [v.fetched_at for v in stored.versions] == [T0, later]


def test_update_keeps_a_known_publication_time(store: Store) -> None:
    store.upsert_articles([record()])
    store.upsert_articles([record(body="New " * 40, published_at=None, published_raw=None)])
    (art,) = store.articles()
    assert art.published_at == T0 - timedelta(hours=2)
    assert art.published_raw == "2 hours ago"


def test_aliases_find_the_same_article(store: Store) -> None:
    store.upsert_articles([record(alias_keys=["example.com/a?id=1"])])
    assert store.known_keys(["example.com/a?id=1", "example.com/b"]) == {"example.com/a?id=1"}
    # Seen again under its alias only: still the same article.
    out = store.upsert_articles([record(key="example.com/a?id=1", body="Changed text " * 30)])
    assert out == [Outcome.UPDATED]
    assert store.count_articles() == 1


def test_same_key_twice_in_one_batch(store: Store) -> None:
    assert store.upsert_articles([record(), record()]) == [Outcome.NEW, Outcome.UNCHANGED]


def test_aware_times_round_trip_as_utc(store: Store) -> None:
    ist = datetime(2026, 11, 24, 23, 2, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    store.upsert_articles([record(published_at=ist)])
    (art,) = store.articles()
    assert art.published_at == datetime(2026, 11, 24, 23, 2, tzinfo=UTC)
    assert art.published_at.tzinfo == UTC


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.upsert_articles([record(published_at=datetime(2026, 1, 1))])
    assert store.count_articles() == 0


def test_failed_batch_stores_nothing(store: Store) -> None:
    good = record(key="example.com/good")
    bad = record(key="example.com/bad", fetched_at=datetime(2026, 1, 1))  # naive: refused
    # SQLAlchemy wraps the refusal in a StatementError; the COPY path raises it bare.
    with pytest.raises((StatementError, ValueError), match="naive datetime"):
        store.upsert_articles([good, bad])
    assert store.count_articles() == 0
    assert store.known_keys(["example.com/good"]) == set()


def test_concurrent_writers_insert_one_row(db_url: str) -> None:
    stores = [Store.from_url(db_url) for _ in range(4)]
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(len(stores))

    def write(s: Store) -> None:
        barrier.wait()
        outcomes.extend(s.upsert_articles([record()]))

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([Outcome.NEW] + [Outcome.UNCHANGED] * 3)
    assert stores[0].count_articles() == 1
    for s in stores:
        s.close()


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run("src")
    store.finish_run(run_id, "partial", RunStats(requests=5, new=2, errors=1,
                                                 first_error="http://x/feed: HTTP 503"))
    (run,) = store.runs("src")
    assert (run.status, run.requests, run.new, run.errors, run.first_error) == (
        "partial", 5, 2, 1, "http://x/feed: HTTP 503")
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_validators_upsert(store: Store) -> None:
    assert store.validators("http://x/feed") == (None, None)
    store.save_validators("http://x/feed", '"abc"', None)
    store.save_validators("http://x/feed", '"def"', "Tue, 24 Nov 2026 10:00:00 GMT")
    assert store.validators("http://x/feed") == ('"def"', "Tue, 24 Nov 2026 10:00:00 GMT")


def test_refetch_due_young_or_modified_and_not_fetched_lately(store: Store) -> None:
    store.upsert_articles([record(key="example.com/old", fetched_at=T0 - timedelta(days=5)),
                           record(key="example.com/young", fetched_at=T0 - timedelta(hours=6)),
                           record(key="example.com/recent", fetched_at=T0 - timedelta(hours=1))])
    keys = {"example.com/old", "example.com/young", "example.com/recent", "example.com/none"}
    checked_before = T0 - timedelta(hours=4)
    # Young enough (first seen within two days) and not fetched in the last four hours.
    assert store.refetch_due(keys, {}, first_seen_since=T0 - timedelta(days=2),
                             checked_before=checked_before) == {
        "example.com/young": T0 - timedelta(hours=6)}
    # An old article listed with a modified time after its last fetch is due at any age; one
    # whose modified time is older than its fetch is not; one fetched lately never is.
    modified = {"example.com/old": T0 - timedelta(days=1),
                "example.com/young": T0 - timedelta(days=1),
                "example.com/recent": T0}
    assert store.refetch_due(keys, modified, first_seen_since=None,
                             checked_before=checked_before) == {
        "example.com/old": T0 - timedelta(days=5)}
    # A 304 moves the last fetch on: it is not due again for refetch_every.
    store.mark_fetched({"example.com/young": T0})
    assert store.refetch_due(keys, {}, first_seen_since=T0 - timedelta(days=2),
                             checked_before=checked_before) == {}


def test_deleting_an_article_deletes_its_lookup_rows(store: Store) -> None:
    """The LSH band and headline-pair rows go with their article: by foreign key on SQLite,
    by the statement trigger of revision 0006 on PostgreSQL (where the foreign keys were
    dropped for write speed)."""
    from sqlalchemy import text

    kept = record("example.com/kept", title="Navy commissions frigate", bands=[11, 12],
                  title_terms=["navy", "commissions", "frigate"])
    gone = record("example.com/gone", title="Army orders rifles", bands=[21, 22, 23],
                  title_terms=["army", "orders", "rifles"])
    store.upsert_articles([kept, gone])

    def counts() -> tuple[int, int]:
        with store.engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM article_bands")).scalar_one(),
                    conn.execute(text("SELECT count(*) FROM article_term_pairs")).scalar_one())

    assert counts() == (5, 6)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM articles WHERE url_key = 'example.com/gone'"))
    assert counts() == (2, 3)


def test_long_texts_are_compressed_as_the_articles_table_says(pg_database: str) -> None:
    """PostgreSQL: new rows pass through a staging table, whose values keep their
    compression on the way into ``articles``; they must end up compressed with the method
    the ``articles`` columns name (lz4 where the server has it, revision 0005); so must the
    search vectors (revision 0007)."""
    from conftest import _reset_pg
    from sqlalchemy import text

    _reset_pg(pg_database)
    s = Store.from_url(pg_database)
    with s.engine.connect() as conn:
        wanted = conn.execute(text(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'articles'::regclass "
            "AND attname = 'body'")).scalar_one()
    # Prose that compresses (not one phrase repeated, which stays inline after compression).
    words = [f"w{(i * 7919) % 1009}" for i in range(3000)]
    s.upsert_articles([record(key=f"example.com/{k}", body=" ".join(words[k:] + words[:k]),
                              highlights=[" ".join(words[k:k + 600])]) for k in range(3)])
    s.upsert_articles([record(key="example.com/alone", body=" ".join(words),
                              highlights=[" ".join(words[:600])])])
    with s.engine.connect() as conn:
        got = set(conn.execute(text(
            "SELECT pg_column_compression(body) FROM articles UNION "
            "SELECT pg_column_compression(highlights) FROM articles")).scalars())
        vectors = set(conn.execute(text(
            "SELECT pg_column_compression(search_vector) FROM search_docs")).scalars())
    s.close()
    if wanted == "l":  # the search vectors too (revision 0007)
        assert got == vectors == {"lz4"}
    else:  # a server without lz4: pglz, or stored plain where pglz gives up
        assert "lz4" not in got | vectors


def test_source_kind_is_written_and_follows_the_configuration(store: Store) -> None:
    def kind() -> str:
        with store.engine.connect() as conn:
            return str(conn.execute(text("SELECT kind FROM sources WHERE name = 's'")).scalar())

    sid = store.source_id("s")
    assert kind() == "unknown"
    assert store.source_id("s", "rss") == sid and kind() == "rss"
    assert store.source_id("s") == sid and kind() == "rss"  # 'unknown' never overwrites
    assert store.source_id("s", "atom") == sid and kind() == "atom"  # the config changed
    assert Store(store.engine).source_id("s", "atom") == sid and kind() == "atom"


def test_opening_a_database_at_its_head_reads_and_never_waits_for_a_writer(
        tmp_path: Path) -> None:
    """A reading command beside a writer: the schema check is one read, so it neither takes
    SQLite's write lock nor queues behind a writer that holds it (BEGIN IMMEDIATE)."""
    import sqlite3
    import time

    from storage.migrate import at_head

    path = tmp_path / "busy.db"
    Store.from_url(f"sqlite:///{path}").close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        started = time.monotonic()
        store = Store.from_url(f"sqlite:///{path}")
        waited = time.monotonic() - started
        assert at_head(store.engine)
        assert store.count_articles() == 0
        store.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    # The slow path would wait for the lock for up to 60 s (storage.engine); a read does not.
    assert waited < 4, waited


def test_an_article_several_sources_lead_to_is_credited_to_the_first_configured(
        store: Store) -> None:
    order = ["home", "partner", "aggregator"]
    store.upsert_articles([record(source="aggregator", alias_keys=["agg.example/x"])])

    def credited() -> str:
        (article,) = store.articles()
        return article.source.name

    assert store.credit(["example.com/a"], "unconfigured", order) == 0  # not in the order
    assert store.credit(["example.com/b"], "home", order) == 0  # no such article
    assert store.credit(["agg.example/x"], "partner", order) == 1  # under an alias too
    assert credited() == "partner"
    assert store.credit(["example.com/a"], "aggregator", order) == 0  # later: keeps partner
    assert credited() == "partner"
    assert store.credit(["example.com/a"], "home", order) == 1
    assert credited() == "home"
    assert store.credit(["example.com/a"], "home", order) == 0  # already
    assert store.credit(["example.com/a"], "partner", order) == 0
    assert credited() == "home"
    # A source no longer configured loses to any configured one.
    assert store.credit(["example.com/a"], "aggregator", ["aggregator"]) == 1
    assert credited() == "aggregator"
