"""Reading the alerts back: a watchlist's dry run on the stored archive, its counts, the
delivery log and its Atom feed. Nothing here writes to the database or sends anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import func, select

from alerts.match import WatchlistMatcher, article_text
from config.watchlists import Watchlist
from storage.alert_models import AlertDelivery, AlertEvent
from storage.models import Article, ArticleEntity, ArticleTopic, SourceRow
from storage.store import Store

_CHUNK = 500


@dataclass(slots=True)
class _Stored:
    """A stored article as the matcher reads it."""

    id: int
    story_id: int | None
    title: str
    highlights: list[str]
    summary: str | None
    body: str
    source: str
    url: str
    published_at: datetime | None
    first_seen_at: datetime
    topics: dict[str, float] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class WouldAlert:
    """What a watchlist would have alerted: one line of ``newsmon watch test``."""

    event: str
    story_id: int
    article_id: int
    title: str
    source: str
    url: str
    sources_count: int
    at: datetime
    matched: list[str]


def _articles(store: Store, since: datetime) -> Iterator[_Stored]:
    """Stored articles first seen at or after ``since``, in the order they were stored."""
    last = 0
    with store.session() as s:
        while True:
            rows = s.execute(
                select(Article.id, Article.story_id, Article.title, Article.highlights,
                       Article.summary, Article.body, SourceRow.name, Article.canonical_url,
                       Article.published_at, Article.first_seen_at)
                .join(SourceRow, SourceRow.id == Article.source_id)
                .where(Article.first_seen_at >= since, Article.id > last)
                .order_by(Article.id).limit(_CHUNK)).all()
            if not rows:
                return
            arts = {r[0]: _Stored(*r) for r in rows}
            for aid, topic, score in s.execute(select(
                    ArticleTopic.article_id, ArticleTopic.topic, ArticleTopic.score)
                    .where(ArticleTopic.article_id.in_(arts))):
                arts[aid].topics[topic] = score
            for aid, ent, n in s.execute(select(
                    ArticleEntity.article_id, ArticleEntity.entity_id, ArticleEntity.mentions)
                    .where(ArticleEntity.article_id.in_(arts))):
                arts[aid].entities[ent] = n
            yield from arts.values()
            last = rows[-1][0]


def dry_run(store: Store, watchlist: Watchlist, since: datetime) -> list[WouldAlert]:
    """What ``watchlist`` would have alerted on the articles stored since ``since``, story by
    story, as the crawl decides it (alerts.evaluate): the first matching article of a story
    "new", the story reaching ``min_sources`` sources "grown". Sends nothing, writes nothing."""
    matcher = WatchlistMatcher(watchlist)
    alerted: dict[int, set[str]] = {}  # story -> its sources seen since it alerted
    sources: dict[int, set[str]] = {}
    out: list[WouldAlert] = []
    for art in _articles(store, since):
        if art.story_id is None:
            continue
        seen = sources.setdefault(art.story_id, set())
        seen.add(art.source)
        text = None
        if art.story_id not in alerted:
            text = article_text(art)
            if not matcher.matches(art, text):
                continue
            alerted[art.story_id] = set()
            out.append(_would("new", art, len(seen), matcher.matched(art, text)))
        done = alerted[art.story_id]
        if (watchlist.min_sources > 1 and "grown" not in done
                and len(seen) >= watchlist.min_sources):
            done.add("grown")
            text = text or article_text(art)
            out.append(_would("grown", art, len(seen), matcher.matched(art, text)))
    return out


def _would(event: str, art: _Stored, count: int, matched: list[str]) -> WouldAlert:
    assert art.story_id is not None
    return WouldAlert(event, art.story_id, art.id, art.title, art.source, art.url, count,
                      art.first_seen_at, matched)


def watch_stats(store: Store, names: list[str], now: datetime | None = None
                ) -> dict[str, dict[str, Any]]:
    """Per watchlist: its alerts in the last day and week, its last delivery, its failed
    and pending deliveries."""
    now = now or datetime.now(UTC)
    stats: dict[str, dict[str, Any]] = {n: {"day": 0, "week": 0, "last_delivery": None,
                                           "failed": 0, "pending": 0} for n in names}
    with store.session() as s:
        for key, since in (("day", now - timedelta(days=1)), ("week", now - timedelta(days=7))):
            for name, n in s.execute(select(AlertEvent.watchlist, func.count())
                                     .where(AlertEvent.created_at >= since)
                                     .group_by(AlertEvent.watchlist)):
                if name in stats:
                    stats[name][key] = n
        for name, last in s.execute(select(AlertDelivery.watchlist, func.max(
                AlertDelivery.sent_at)).group_by(AlertDelivery.watchlist)):
            if name in stats and last is not None:
                stats[name]["last_delivery"] = last.replace(tzinfo=UTC) if last.tzinfo is None \
                    else last
        for name, status, n in s.execute(select(AlertDelivery.watchlist, AlertDelivery.status,
                                                func.count())
                                         .where(AlertDelivery.status.in_(["failed", "pending"]))
                                         .group_by(AlertDelivery.watchlist,
                                                   AlertDelivery.status)):
            if name in stats:
                stats[name][status] = n
    return stats


def delivery_log(store: Store, *, watchlist: str | None = None, failed: bool = False,
                 limit: int = 50) -> list[dict[str, Any]]:
    """The delivery log, newest first: one row per event and target."""
    stmt = (select(AlertDelivery, AlertEvent)
            .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
            .order_by(AlertDelivery.id.desc()).limit(limit))
    if watchlist is not None:
        stmt = stmt.where(AlertDelivery.watchlist == watchlist)
    if failed:
        stmt = stmt.where(AlertDelivery.last_error.is_not(None))
    with store.session() as s:
        return [{"id": d.id, "created": d.created_at, "watchlist": d.watchlist,
                 "event": e.event, "story": e.story_id, "title": e.payload.get("title"),
                 "target": d.target, "status": d.status, "attempts": d.attempts,
                 "sent": d.sent_at, "error": d.last_error}
                for d, e in s.execute(stmt).all()]


_ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(store: Store, watchlist: str, *, limit: int = 100,
              now: datetime | None = None) -> str:
    """The watchlist's alerts, newest first, as an Atom 1.0 document."""
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", f"urn:newsmon:watchlist:{watchlist}")
    sub(feed, "title", f"newsmon watchlist {watchlist}")
    with store.session() as s:
        events = list(s.scalars(select(AlertEvent).where(AlertEvent.watchlist == watchlist)
                                .order_by(AlertEvent.id.desc()).limit(limit)))
    updated = events[0].created_at if events else (now or datetime.now(UTC))
    sub(feed, "updated", updated.isoformat())
    for ev in events:
        p = ev.payload
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:newsmon:alert:{ev.id}")
        sub(entry, "title", f"{ev.event}: {p.get('title', '')}")
        sub(entry, "link", href=str(p.get("url", "")))
        sub(entry, "updated", ev.created_at.isoformat())
        if p.get("published_at"):
            sub(entry, "published", str(p["published_at"]))
        author = sub(entry, "author")
        sub(author, "name", str(p.get("source", "")))
        sub(entry, "summary", f"{p.get('sources_count', 1)} sources. {p.get('snippet', '')}")
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["WouldAlert", "atom_feed", "delivery_log", "dry_run", "watch_stats"]
