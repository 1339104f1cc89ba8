"""AlertEvaluator: decide the alerts of a stored batch and write them to the outbox.

Called in the crawl's database thread right after a batch's commit (the StoragePipeline's
``after_write``), with the records and what storing each did. Once per story and watchlist:
the first stored article that matches alerts "new"; the story reaching ``min_sources``
distinct sources alerts "grown" once; an unchanged re-fetch or a copy filed under an alerted
story alerts nothing; a stored revision of the article that alerted alerts "updated" when the
watchlist has ``on_update``. The uniqueness of ``alert_events`` makes "once" hold across
processes as well: a writer that loses the race to insert an event sends nothing for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import insert as insert_table
from sqlalchemy.orm import Session

from alerts.delivery import LEASE, DeliveryWorker, Due, apply, local_worker
from alerts.match import MatchableArticle, MatcherIndex, WatchlistMatcher, article_text
from config.watchlists import Watchlist
from storage.alert_models import AlertDelivery, AlertEvent
from storage.article import ArticleRecord
from storage.engine import dialect_insert
from storage.models import Article, ArticleURL, ArticleVersion, Story
from storage.records import Outcome
from storage.store import Store

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 280


@dataclass(slots=True)
class StoredArticle:
    """What the outbox needs of an article once it is stored."""

    article_id: int
    story_id: int | None
    sources_count: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    snippet: str


def snippet(summary: str | None, highlights: Sequence[str], body: str) -> str:
    text = " ".join((summary or (highlights[0] if highlights else "") or body).split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS - 1].rstrip() + "…"


def payload(wl: str, event: str, art: StoredArticle, matched: list[str]) -> dict[str, Any]:
    """The documented JSON body of one alert (docs/alerts.md)."""
    return {"watchlist": wl, "event": event, "story_id": art.story_id,
            "article_id": art.article_id, "title": art.title, "url": art.url,
            "source": art.source,
            "published_at": art.published_at.isoformat() if art.published_at else None,
            "sources_count": art.sources_count, "snippet": art.snippet, "matched": matched}


def window_end(now: datetime, batch: timedelta) -> datetime:
    """The end of the batch window ``now`` falls in (windows counted from the epoch)."""
    step = batch.total_seconds()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    n = int((now - epoch).total_seconds() // step) + 1
    return epoch + timedelta(seconds=n * step)


@dataclass(slots=True)
class _Planned:
    """An event decided in memory, written with the batch's others in one statement."""

    watchlist: Watchlist
    event: str
    event_key: int
    art: StoredArticle
    matched: list[str]


class AlertEvaluator:
    """The watchlists of one crawl, matched in memory; see the module's docstring.

    A batch costs two reads (the stored rows, the story's earlier events) outside any write
    lock, matching in memory, and, when something alerts, one short write transaction that
    inserts its events (``ON CONFLICT DO NOTHING``: the loser of a race sends nothing) and
    their deliveries; then the delivery workers of this process are woken
    (:func:`alerts.delivery.outbox_written`)."""

    def __init__(self, watchlists: Sequence[Watchlist],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.matchers = [WatchlistMatcher(w) for w in watchlists]
        self.index = MatcherIndex(self.matchers)
        self.on_update = any(w.on_update for w in watchlists)
        self.clock = clock

    def after_write(self, store: Store, records: Sequence[ArticleRecord],
                    outcomes: Sequence[Outcome | None]) -> int:
        """Write the alerts ``records`` call for; return how many events were written."""
        if not self.matchers:
            return 0
        keyed = [(r, o) for r, o in zip(records, outcomes, strict=True)
                 if o in (Outcome.NEW, Outcome.UPDATED)]
        if not keyed:
            return 0
        with store.session() as session:  # reads only: no write lock while matching
            stored = _stored(session, [r for r, _ in keyed])
            story_ids = {s.story_id for s in stored.values() if s.story_id is not None}
            done = _existing(session, story_ids)
            versions = _versions(session, [
                stored[r.url_key].article_id for r, o in keyed
                if o is Outcome.UPDATED and r.url_key in stored]) if self.on_update else {}
        # Per story, the watchlists that alerted it "new": only those can grow or update.
        alerted: dict[int, set[int]] = {}
        position = {m.watchlist.name: i for i, m in enumerate(self.matchers)}
        for (wl, story_id, event) in done:
            if event == "new" and wl in position:
                alerted.setdefault(story_id, set()).add(position[wl])
        planned: list[_Planned] = []
        for rec, outcome in keyed:
            art = stored.get(rec.url_key)
            if art is None or art.story_id is None:
                continue
            text = article_text(rec)
            earlier = alerted.setdefault(art.story_id, set())
            tried = self.index.candidates(text) if outcome is Outcome.NEW else set()
            for i in sorted(tried | earlier):
                self._decide(self.matchers[i], rec, outcome, art, text, done, versions,
                             planned)
                if (self.matchers[i].watchlist.name, art.story_id, "new") in done:
                    earlier.add(i)
        return self._write(store, planned) if planned else 0

    def _decide(self, m: WatchlistMatcher, rec: MatchableArticle, outcome: Outcome,
                art: StoredArticle, text: Any, done: dict[tuple[str, int, str], int],
                versions: dict[int, int], planned: list[_Planned]) -> None:
        wl = m.watchlist
        assert art.story_id is not None
        key = (wl.name, art.story_id)

        def plan(event: str, event_key: int = 0) -> None:
            planned.append(_Planned(wl, event, event_key, art, m.matched(rec, text)))
            if event != "updated":
                done[(*key, event)] = art.article_id

        have_new = (*key, "new") in done
        if outcome is Outcome.NEW and not have_new and m.matches(rec, text):
            plan("new")
            have_new = True
        if (have_new and wl.min_sources > 1 and (*key, "grown") not in done
                and art.sources_count >= wl.min_sources):
            plan("grown")
        if (outcome is Outcome.UPDATED and wl.on_update and done.get((*key, "new"))
                == art.article_id and m.matches(rec, text)):
            plan("updated", versions.get(art.article_id, 0))

    def _write(self, store: Store, planned: list[_Planned]) -> int:
        """Insert the planned events and their deliveries in one transaction; hand what is
        due now to this process's delivery worker, if it has one."""
        now = self.clock()
        by_key = {(p.watchlist.name, p.art.story_id, p.event, p.event_key): p
                  for p in planned}
        bodies = {k: payload(p.watchlist.name, p.event, p.art, p.matched)
                  for k, p in by_key.items()}
        # A worker in this process sends what is not batched at once: those rows are
        # written leased to it, so no other worker claims them meanwhile.
        worker = local_worker(store)
        handed: list[Due] = []
        # The attempts that worker made since: recorded here, in a transaction the crawl
        # holds anyway, rather than by a second writer competing for SQLite's lock.
        outcomes = worker.take_outcomes() if worker is not None else []
        try:
            with store.write_session() as session, session.begin():
                apply(session, outcomes)
                written, handed = self._insert(session, store, by_key, bodies, now, worker)
        except BaseException:
            if worker is not None:
                worker.give_back(outcomes)
            raise
        for k in written.values():
            p = by_key[k]
            logger.info("alert %s %s: story %d (article %d)", p.watchlist.name, p.event,
                        p.art.story_id, p.art.article_id)
        if worker is not None and handed:
            worker.hand_over(handed)
        return len(written)

    def _insert(self, session: Session, store: Store,
                by_key: dict[tuple[str, int | None, str, int], _Planned],
                bodies: dict[tuple[str, int | None, str, int], dict[str, Any]], now: datetime,
                worker: DeliveryWorker | None
                ) -> tuple[dict[int, tuple[Any, ...]], list[Due]]:
        """Insert the events (those not alerted already) and their deliveries."""
        handed: list[Due] = []
        conn = session.connection()
        # One cached statement, sent as multi-row INSERTs (SQLAlchemy's insertmanyvalues).
        # A conflict (another writer alerted it first) returns no row: that one sends it.
        stmt = dialect_insert(store.engine, AlertEvent).on_conflict_do_nothing(
            index_elements=["watchlist", "story_id", "event", "event_key"]).returning(
            AlertEvent.id, AlertEvent.watchlist, AlertEvent.story_id, AlertEvent.event,
            AlertEvent.event_key)
        result = conn.execute(stmt, [
            {"watchlist": k[0], "event": k[2], "event_key": k[3], "story_id": k[1],
             "article_id": p.art.article_id, "created_at": now, "payload": bodies[k]}
            for k, p in by_key.items()])
        written: dict[int, tuple[Any, ...]] = {
            r[0]: (r[1], r[2], r[3], r[4]) for r in result}
        deliveries = []
        for event_id, k in written.items():
            wl = by_key[k].watchlist
            until = window_end(now, wl.batch) if wl.batch else None
            due_at = until or (now + LEASE if worker is not None else now)
            deliveries += [{"event_id": event_id, "watchlist": wl.name, "target": target,
                            "status": "pending", "attempts": 0, "due_at": due_at,
                            "batch_until": until, "created_at": now}
                           for target in wl.notify]
        if deliveries:
            inserted = conn.execute(insert_table(AlertDelivery).returning(
                AlertDelivery.id, AlertDelivery.event_id, AlertDelivery.target,
                AlertDelivery.batch_until), deliveries).all()
            handed = [Due(d_id, target, written[e_id][0], None, 0, bodies[written[e_id]])
                      for d_id, e_id, target, until in inserted if until is None]
        return written, handed


def _stored(session: Session, records: list[ArticleRecord]) -> dict[str, StoredArticle]:
    """The stored rows of ``records`` by URL key; the snippet comes from the record (what
    was just stored), so the bodies are not read back."""
    from storage.models import SourceRow

    by_key = {r.url_key: r for r in records}
    rows = session.execute(
        select(ArticleURL.url_key, Article.id, Article.story_id, Story.source_count,
               Article.title, Article.canonical_url, SourceRow.name, Article.published_at)
        .join(Article, Article.id == ArticleURL.article_id)
        .join(SourceRow, SourceRow.id == Article.source_id)
        .outerjoin(Story, Story.id == Article.story_id)
        .where(ArticleURL.url_key.in_(list(by_key)))).all()
    out = {}
    for r in rows:
        rec = by_key[r[0]]
        out[r[0]] = StoredArticle(r[1], r[2], r[3] or 1, r[4], r[5], r[6], r[7],
                                  snippet(rec.summary, rec.highlights, rec.body))
    return out


def _existing(session: Session, story_ids: set[int]) -> dict[tuple[str, int, str], int]:
    if not story_ids:
        return {}
    rows = session.execute(
        select(AlertEvent.watchlist, AlertEvent.story_id, AlertEvent.event,
               AlertEvent.article_id)
        .where(AlertEvent.story_id.in_(story_ids), AlertEvent.event != "updated")).all()
    return {(w, s, e): a for w, s, e, a in rows}


def _versions(session: Session, article_ids: list[int]) -> dict[int, int]:
    """How many stored versions each article has (the "updated" event's key)."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(ArticleVersion.article_id, func.count()).where(
            ArticleVersion.article_id.in_(article_ids)).group_by(ArticleVersion.article_id))
    return {a: int(n) for a, n in rows}


__all__ = ["AlertEvaluator", "StoredArticle", "payload", "snippet", "window_end"]
