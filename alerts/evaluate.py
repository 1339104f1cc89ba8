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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.match import MatchableArticle, WatchlistMatcher, article_text
from config.watchlists import Watchlist
from storage.alert_models import AlertDelivery, AlertEvent
from storage.article import ArticleRecord
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


class AlertEvaluator:
    """The watchlists of one crawl, matched in memory; see the module's docstring."""

    def __init__(self, watchlists: Sequence[Watchlist],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.matchers = [WatchlistMatcher(w) for w in watchlists]
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
        with store.write_session() as session, session.begin():
            stored = _stored(session, [r.url_key for r, _ in keyed])
            story_ids = {s.story_id for s in stored.values() if s.story_id is not None}
            done = _existing(session, story_ids)
            written = 0
            for rec, outcome in keyed:
                art = stored.get(rec.url_key)
                if art is None or art.story_id is None:
                    continue
                text = article_text(rec)
                for m in self.matchers:
                    written += self._decide(session, m, rec, outcome, art, text, done)
        return written

    def _decide(self, session: Session, m: WatchlistMatcher, rec: MatchableArticle,
                outcome: Outcome, art: StoredArticle, text: Any,
                done: dict[tuple[str, int, str], int]) -> int:
        wl = m.watchlist
        assert art.story_id is not None
        key = (wl.name, art.story_id)
        have_new = (*key, "new") in done
        written = 0
        if outcome is Outcome.NEW and not have_new and m.matches(rec, text):
            written += self._event(session, wl, "new", 0, art, m.matched(rec, text), done)
            have_new = (*key, "new") in done
        if (have_new and wl.min_sources > 1 and (*key, "grown") not in done
                and art.sources_count >= wl.min_sources):
            written += self._event(session, wl, "grown", 0, art, m.matched(rec, text), done)
        if (outcome is Outcome.UPDATED and wl.on_update and done.get((*key, "new"))
                == art.article_id and m.matches(rec, text)):
            versions = session.scalar(select(func.count()).select_from(ArticleVersion).where(
                ArticleVersion.article_id == art.article_id)) or 0
            written += self._event(session, wl, "updated", int(versions), art,
                                   m.matched(rec, text), done)
        return written

    def _event(self, session: Session, wl: Watchlist, event: str, event_key: int,
               art: StoredArticle, matched: list[str],
               done: dict[tuple[str, int, str], int]) -> int:
        assert art.story_id is not None
        now = self.clock()
        row = AlertEvent(watchlist=wl.name, event=event, event_key=event_key,
                         story_id=art.story_id, article_id=art.article_id, created_at=now,
                         payload=payload(wl.name, event, art, matched))
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # another writer alerted it first: it sends it
            done[(wl.name, art.story_id, event)] = art.article_id
            return 0
        done[(wl.name, art.story_id, event)] = art.article_id
        until = window_end(now, wl.batch) if wl.batch else None
        for target in wl.notify:
            session.add(AlertDelivery(event_id=row.id, watchlist=wl.name, target=target,
                                      status="pending", attempts=0, due_at=until or now,
                                      batch_until=until, created_at=now))
        logger.info("alert %s %s: story %d (article %d)", wl.name, event, art.story_id,
                    art.article_id)
        return 1


def _stored(session: Session, url_keys: list[str]) -> dict[str, StoredArticle]:
    from storage.models import SourceRow

    rows = session.execute(
        select(ArticleURL.url_key, Article.id, Article.story_id, Story.source_count,
               Article.title, Article.canonical_url, SourceRow.name, Article.published_at,
               Article.summary, Article.highlights, Article.body)
        .join(Article, Article.id == ArticleURL.article_id)
        .join(SourceRow, SourceRow.id == Article.source_id)
        .outerjoin(Story, Story.id == Article.story_id)
        .where(ArticleURL.url_key.in_(url_keys))).all()
    return {r[0]: StoredArticle(r[1], r[2], r[3] or 1, r[4], r[5], r[6], r[7],
                                snippet(r[8], r[9], r[10])) for r in rows}


def _existing(session: Session, story_ids: set[int]) -> dict[tuple[str, int, str], int]:
    if not story_ids:
        return {}
    rows = session.execute(
        select(AlertEvent.watchlist, AlertEvent.story_id, AlertEvent.event,
               AlertEvent.article_id)
        .where(AlertEvent.story_id.in_(story_ids), AlertEvent.event != "updated")).all()
    return {(w, s, e): a for w, s, e, a in rows}


__all__ = ["AlertEvaluator", "StoredArticle", "payload", "snippet", "window_end"]
