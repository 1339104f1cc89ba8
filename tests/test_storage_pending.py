"""PendingStore (storage/pending.py): entries kept without an article until their page can be
had: kept and updated, handed out when due (longest-waiting first), a try counted before it
is made, their tries told to the spider, removed once an article is stored under their URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import ArticleRecord, Store
from storage.pending import PendingStore

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_pending_entries_wait_for_their_page_and_go_when_it_is_stored(store: Store) -> None:
    pending = PendingStore(store.engine)
    for key, due in (("wire.example/a", T0 + timedelta(hours=2)),
                     ("wire.example/b", T0 + timedelta(hours=1))):
        pending.keep("wire", key, f"https://{key}", {"tags": ["navy"]}, "HTTP 403", 1, due,
                     now=T0)
    pending.keep("other", "other.example/c", "https://other.example/c", {}, "HTTP 403", 1,
                 T0, now=T0)
    assert pending.due("wire", T0 + timedelta(minutes=30), 10) == []
    due = pending.due("wire", T0 + timedelta(hours=3), 10)
    assert [(p.url_key, p.entry, p.page_attempts) for p in due] == [
        ("wire.example/b", {"tags": ["navy"]}, 1), ("wire.example/a", {"tags": ["navy"]}, 1)]
    assert [p.url_key for p in pending.due("wire", T0 + timedelta(hours=3), 1)] == [
        "wire.example/b"]
    # A try counted before it is made: not due again until its next wait.
    pending.postpone("wire.example/b", 2, T0 + timedelta(hours=5))
    assert [p.url_key for p in pending.due("wire", T0 + timedelta(hours=3), 10)] == [
        "wire.example/a"]
    # Refused again with its tries spent: kept, never due.
    pending.keep("wire", "wire.example/a", "https://wire.example/a", {}, "HTTP 451", 5, None,
                 now=T0 + timedelta(hours=3))
    (spent,) = [p for p in pending.all("wire") if p.url_key == "wire.example/a"]
    assert (spent.page_error, spent.page_attempts, spent.page_retry_at) == ("HTTP 451", 5, None)
    # What the spider learns of listed entries: the tries so far, None once spent.
    assert pending.tries(["wire.example/a", "wire.example/b", "wire.example/z"]) == {
        "wire.example/a": None, "wire.example/b": 2}

    store.upsert_articles([ArticleRecord(
        url_key="wire.example/b", canonical_url="https://wire.example/b",
        url="https://wire.example/b", source="wire", title="Frigate joins the fleet",
        body="The frigate joined the fleet. " * 20, fetched_at=T0)])
    assert pending.settle("wire") == 1
    assert [p.url_key for p in pending.all()] == ["other.example/c", "wire.example/a"]
    assert (pending.count("wire"), pending.count()) == (1, 2)
