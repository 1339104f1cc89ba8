"""Read-side pages of the alerts for the web app and its API: each watchlist's counts, its hits
(the alert events, newest first) and its deliveries (newest first), a page at a time.

Contract: like :mod:`storage.browse`, every function takes a :class:`~storage.store.Store`,
returns plain dataclasses with aware datetimes, and never writes. Pages are keyset pages on
the row id (``next_cursor`` is the id to continue below), asking for ``limit + 1`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.alert_models import AlertDelivery, AlertEvent
from storage.browse import Page, _page
from storage.models import Article, SourceRow
from storage.store import Store


def _aware(value: datetime | None) -> datetime | None:
    # An aggregate (max) may come back without the column's type: naive, in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(slots=True)
class WatchlistSummary:
    """A watchlist as the database knows it: how many hits, the newest, deliveries by
    status (``pending``, ``sent``, ``failed``)."""

    name: str
    hits: int = 0
    last_hit: datetime | None = None
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class WatchHit:
    """One alert of a watchlist: the story and the article that set it off, and when."""

    id: int
    watchlist: str
    event: str
    story_id: int
    article_id: int
    title: str
    url: str
    source: str
    at: datetime


@dataclass(slots=True)
class WatchDelivery:
    """One alert sent (or to be sent) to one target, with its attempts and last error."""

    id: int
    watchlist: str
    event_id: int
    event: str
    story_id: int
    article_id: int
    title: str
    target: str
    status: str
    attempts: int
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None


def watchlist_summaries(store: Store, names: Iterable[str] = ()) -> list[WatchlistSummary]:
    """``names`` (the configured watchlists) and every other watchlist the database has hits
    or deliveries of, by name."""
    out: dict[str, WatchlistSummary] = {n: WatchlistSummary(n) for n in names}
    with store.engine.connect() as conn:
        for name, n, last in conn.execute(
                select(AlertEvent.watchlist, func.count(), func.max(AlertEvent.created_at))
                .group_by(AlertEvent.watchlist)):
            s = out.setdefault(name, WatchlistSummary(name))
            s.hits, s.last_hit = int(n), _aware(last)
        for name, status, n in conn.execute(
                select(AlertDelivery.watchlist, AlertDelivery.status, func.count())
                .group_by(AlertDelivery.watchlist, AlertDelivery.status)):
            out.setdefault(name, WatchlistSummary(name)).deliveries[status] = int(n)
    return [out[n] for n in sorted(out)]


def _title(payload: dict[str, object], article_title: str | None) -> str:
    return article_title if article_title is not None else str(payload.get("title", ""))


def hit_page(store: Store, watchlist: str, *, limit: int = 50,
             before: int | None = None) -> Page[WatchHit]:
    """The watchlist's hits, newest (highest id) first, below ``before``; each with its
    article's title, URL and source as stored now (as the alert had them, if the article is
    gone)."""
    stmt = (select(AlertEvent, Article.title, Article.canonical_url, SourceRow.name)
            .outerjoin(Article, Article.id == AlertEvent.article_id)
            .outerjoin(SourceRow, SourceRow.id == Article.source_id)
            .where(AlertEvent.watchlist == watchlist))
    if before is not None:
        stmt = stmt.where(AlertEvent.id < before)
    with store.session() as s:
        rows = [WatchHit(id=e.id, watchlist=e.watchlist, event=e.event, story_id=e.story_id,
                         article_id=e.article_id, title=_title(e.payload, title),
                         url=url if url is not None else str(e.payload.get("url", "")),
                         source=source if source is not None
                         else str(e.payload.get("source", "")),
                         at=e.created_at)
                for e, title, url, source in s.execute(
                    stmt.order_by(AlertEvent.id.desc()).limit(limit + 1))]
    return _page(rows, limit, lambda h: h.id)


def delivery_page(store: Store, watchlist: str, *, limit: int = 50,
                  before: int | None = None) -> Page[WatchDelivery]:
    """The watchlist's deliveries, newest (highest id) first, below ``before``."""
    stmt = (select(AlertDelivery, AlertEvent, Article.title)
            .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
            .outerjoin(Article, Article.id == AlertEvent.article_id)
            .where(AlertDelivery.watchlist == watchlist))
    if before is not None:
        stmt = stmt.where(AlertDelivery.id < before)
    with store.session() as s:
        rows = [WatchDelivery(id=d.id, watchlist=d.watchlist, event_id=e.id, event=e.event,
                              story_id=e.story_id, article_id=e.article_id,
                              title=_title(e.payload, title), target=d.target,
                              status=d.status, attempts=d.attempts,
                              created_at=d.created_at, due_at=d.due_at,
                              sent_at=d.sent_at, last_error=d.last_error)
                for d, e, title in s.execute(
                    stmt.order_by(AlertDelivery.id.desc()).limit(limit + 1))]
    return _page(rows, limit, lambda d: d.id)


__all__ = ["WatchDelivery", "WatchHit", "WatchlistSummary", "delivery_page", "hit_page",
           "watchlist_summaries"]
