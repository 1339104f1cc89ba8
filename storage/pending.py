"""PendingStore: entries kept without an article until their page can be had.

An entry whose page was refused and which says too little to store an article from (no
title: a sitemap entry without ``news:title``) is kept in ``pending_pages``
(:mod:`storage.pending_models`) with what it said, the failure and when to try the page
again. A pending entry is no article: its feed's validators are not saved while it waits,
so the feed is read in full again, and each read that lists it tries its page again
(:meth:`PendingStore.tries`); the spider also asks for the due ones at its start
(:meth:`PendingStore.due`), as it asks for the refused pages of stored articles, so an entry
its feed no longer lists is still tried as ``crawl.page_retry`` says. Every try is counted
before it is made (:meth:`PendingStore.postpone`). A row whose URL is an article's by now
(a try worked) is removed (:meth:`PendingStore.settle`). A row whose tries are spent stays,
with ``page_retry_at`` NULL, as the record of what was lost and why; it is done with (its
feed's validators may be saved again).

Writes queue for SQLite's write lock (BEGIN IMMEDIATE, :data:`storage.engine.WRITES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update

from storage.engine import WRITES, dialect_insert
from storage.models import ArticleURL
from storage.pending_models import PendingPage


@dataclass(frozen=True, slots=True)
class Pending:
    url_key: str
    url: str
    entry: dict[str, Any]
    page_error: str
    page_attempts: int
    page_retry_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PendingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writes = engine.execution_options(**{WRITES: True})

    def keep(self, source: str, url_key: str, url: str, entry: dict[str, Any], page_error: str,
             page_attempts: int, page_retry_at: datetime | None,
             now: datetime | None = None) -> None:
        """Keep (or update) the entry at ``url_key`` as pending, after a failed try."""
        now = now or datetime.now(UTC)
        values = {"source_name": source, "url": url, "entry": entry, "page_error": page_error,
                  "page_attempts": page_attempts, "page_retry_at": page_retry_at,
                  "last_failed_at": now}
        stmt = (dialect_insert(self.engine, PendingPage.__table__)
                .values(url_key=url_key, first_seen_at=now, **values)
                .on_conflict_do_update(index_elements=["url_key"], set_=values))
        with self._writes.begin() as conn:
            conn.execute(stmt)

    def due(self, source: str, now: datetime, limit: int) -> list[Pending]:
        """``source``'s pending entries whose page is due to be tried again, the
        longest-waiting first."""
        table = PendingPage.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table).where(table.c.source_name == source,
                                    table.c.page_retry_at.is_not(None),
                                    table.c.page_retry_at <= now)
                .order_by(table.c.page_retry_at, table.c.url_key).limit(limit)).all()
        return [Pending(r.url_key, r.url, dict(r.entry or {}), r.page_error, r.page_attempts,
                        _aware(r.page_retry_at)) for r in rows]

    def postpone(self, url_key: str, page_attempts: int, page_retry_at: datetime | None) -> None:
        """Count a try of ``url_key``'s page before it is made, so a try that ends in
        nothing (the page is no article, the crawl is killed) still spends one; a try that
        is refused again writes the same values (:meth:`keep`)."""
        with self._writes.begin() as conn:
            conn.execute(update(PendingPage).where(PendingPage.url_key == url_key).values(
                page_attempts=page_attempts, page_retry_at=page_retry_at))

    def any_due(self, source: str, now: datetime) -> bool:
        table = PendingPage.__table__
        with self.engine.connect() as conn:
            return conn.execute(select(table.c.url_key).where(
                table.c.source_name == source, table.c.page_retry_at.is_not(None),
                table.c.page_retry_at <= now).limit(1)).first() is not None

    def tries(self, keys: Iterable[str]) -> dict[str, int | None]:
        """Those of ``keys`` that are pending, each with the tries of its page so far, None
        for one whose tries are spent (done with)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, int | None] = {}
        table = PendingPage.__table__
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                for row in conn.execute(select(
                        table.c.url_key, table.c.page_attempts, table.c.page_retry_at).where(
                        table.c.url_key.in_(wanted[i:i + 500]))):
                    found[row.url_key] = (row.page_attempts if row.page_retry_at is not None
                                          else None)
        return found

    def settle(self, source: str) -> int:
        """Remove ``source``'s pending rows whose URL an article is stored under by now."""
        with self._writes.begin() as conn:
            return int(conn.execute(delete(PendingPage).where(
                PendingPage.source_name == source,
                PendingPage.url_key.in_(select(ArticleURL.url_key)))).rowcount)

    def all(self, source: str | None = None) -> list[Pending]:
        """Every pending entry (of ``source``), by URL."""
        table = PendingPage.__table__
        stmt = select(table).order_by(table.c.url_key)
        if source is not None:
            stmt = stmt.where(table.c.source_name == source)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [Pending(r.url_key, r.url, dict(r.entry or {}), r.page_error, r.page_attempts,
                        _aware(r.page_retry_at)) for r in rows]

    def count(self, source: str | None = None) -> int:
        stmt = select(func.count()).select_from(PendingPage)
        if source is not None:
            stmt = stmt.where(PendingPage.source_name == source)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)
