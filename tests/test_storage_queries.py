"""storage.queries on SQLite and PostgreSQL: windows, runs, article detail, stats, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from newsfactory import T0, Newsroom, open_newsroom

from storage import RunStats
from storage.queries import (
    LEAD_CHARS,
    article_detail,
    iter_export,
    stats,
    window_articles,
    window_runs,
)

IST = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def test_window_uses_publication_else_first_seen(room: Newsroom) -> None:
    start, end = T0, T0 + timedelta(hours=1)
    inside, undated, _late_found, _outside = room.add(
        room.article("Inside", at=T0 + timedelta(minutes=5)),
        room.article("Undated inside", at=T0 + timedelta(minutes=10), published=False),
        room.article("Published before, found inside", at=T0 + timedelta(minutes=20),
                     published=T0 - timedelta(hours=3)),
        room.article("At the end: excluded", at=end),
    )
    rows = window_articles(room.store, start, end)
    assert [r.id for r in rows] == [inside, undated]
    assert rows[1].published_at is None and rows[1].dated_at == T0 + timedelta(minutes=10)
    assert rows[0].topics == {}


def test_window_rows_carry_topics_and_a_bounded_lead(room: Newsroom) -> None:
    room.one("Long one", body="word " * 2000, topics={"defence": 7.5, "trade": 5.0})
    (row,) = window_articles(room.store, T0, T0 + timedelta(seconds=1))
    assert row.topics == {"defence": 7.5, "trade": 5.0}
    assert row.primary_topic == "defence"
    assert len(row.lead) == LEAD_CHARS


def test_window_runs(room: Newsroom) -> None:
    store = room.store
    first = store.start_run("a", started_at=T0)
    store.finish_run(first, "partial", RunStats(errors=1, first_error="boom"))
    store.start_run("b", started_at=T0 + timedelta(hours=2))
    runs = window_runs(store, T0, T0 + timedelta(hours=1))
    assert [(r.source, r.status, r.errors, r.first_error) for r in runs] == [
        ("a", "partial", 1, "boom")]


def test_article_detail(room: Newsroom) -> None:
    (a,) = room.add(room.article("Deal signed", source="x", story="s",
                                 entities={"country:in": 3, "organisation:hal": 1},
                                 highlights=["One"]))
    (b,) = room.add(room.article("Deal signed", source="y", at=T0 + timedelta(minutes=5)))
    (c,) = room.add(room.article("Another take on the deal", source="z", story="s",
                                 at=T0 + timedelta(minutes=9)))
    detail = article_detail(room.store, a)
    assert detail is not None
    assert detail.row.highlights == ["One"]
    assert detail.entities == {"country:in": 3, "organisation:hal": 1}
    assert detail.story is not None
    assert (detail.story.primary_article_id, detail.story.article_count,
            detail.story.source_count) == (a, 3, 3)
    assert [(s.id, s.duplicate_of_id) for s in detail.siblings] == [(b, a), (c, None)]
    assert article_detail(room.store, 10**9) is None


def test_stats(room: Newsroom) -> None:
    room.add(
        # 23:30 IST on the 24th and 00:30 IST on the 25th: two local days.
        room.article("Late", source="x", at=datetime(2026, 11, 24, 18, 0, tzinfo=UTC),
                     topics={"defence": 8}),
        room.article("Early", source="y", at=datetime(2026, 11, 24, 19, 0, tzinfo=UTC),
                     topics={"defence": 9, "trade": 6}),
        room.article("Noise", source="y", at=datetime(2026, 11, 24, 19, 30, tzinfo=UTC)),
    )
    assert stats(room.store, "day", IST) == [
        {"day": "2026-11-25", "articles": 2, "stories": 2, "sources": 1},
        {"day": "2026-11-24", "articles": 1, "stories": 1, "sources": 1}]
    assert stats(room.store, "day", UTC) == [
        {"day": "2026-11-24", "articles": 3, "stories": 3, "sources": 2}]
    by_source = stats(room.store, "source", IST)
    assert [(r["source"], r["articles"], r["stories"]) for r in by_source] == [
        ("y", 2, 2), ("x", 1, 1)]
    assert by_source[0]["newest"] == datetime(2026, 11, 24, 19, 30, tzinfo=UTC)
    assert stats(room.store, "topic", IST) == [
        {"topic": "defence", "articles": 2, "primary": 2},
        {"topic": "trade", "articles": 1, "primary": 0},
        {"topic": "(off-topic)", "articles": 0, "primary": 1}]
    (total,) = stats(room.store, None, IST, since=datetime(2026, 11, 24, 18, 30, tzinfo=UTC))
    assert {k: total[k] for k in ("articles", "stories", "sources", "on_topic", "off_topic")
            } == {"articles": 2, "stories": 2, "sources": 1, "on_topic": 1, "off_topic": 1}


def test_export_streams_in_pages(room: Newsroom) -> None:
    ids = room.add(*[room.article(f"Story {i}", at=T0 + timedelta(minutes=i),
                                  topics={"trade": 6.0} if i % 2 else {},
                                  entities={"country:us": i + 1}) for i in range(7)])
    rows = list(iter_export(room.store, batch=3))
    assert [r["id"] for r in rows] == ids
    assert rows[1]["topics"] == {"trade": 6.0} and rows[0]["topics"] == {}
    assert rows[2]["entities"] == {"country:us": 3}
    assert rows[0]["published_at"] == T0
    since = list(iter_export(room.store, since=T0 + timedelta(minutes=5), batch=2))
    assert [r["id"] for r in since] == ids[5:]
