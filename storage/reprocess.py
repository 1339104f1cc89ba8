"""Re-processing stored articles (``newsmon reprocess``), one batch per transaction.

A batch — the next articles in first-seen order — is read, re-enriched by the caller's
function, taken out of its stories, filed again and its stories recounted in ONE
transaction: an interruption at any moment leaves every article in a story, the old one or
the new one, with every story's counts true to its articles.

So that the stories end up as a fresh run's would (each article filed among the articles
seen before it), articles not re-processed yet — after the batch in first-seen order — are
no story candidates while a batch is filed, though they keep their old filing until their
own batch comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update

from storage.article import ArticleRecord
from storage.models import Article, StoryLink
from storage.records import StoryMatcher
from storage.recount import recount
from storage.store import Store
from storage.stories import NewArticle, story_filer

#: (first_seen_at, id) of the last article of a batch: where the next batch starts.
Position = tuple[datetime, int]


@dataclass(slots=True)
class Batch:
    """What :func:`refile_batch` did: how many articles, and where the next batch starts
    (None: there was nothing left)."""

    done: int
    after: Position | None


def count_to_reprocess(store: Store, since: datetime | None) -> int:
    """How many articles were first seen at or after ``since`` (all, without it)."""
    stmt = select(func.count(Article.id))
    if since is not None:
        stmt = stmt.where(Article.first_seen_at >= since)
    with store.session() as session:
        return int(session.execute(stmt).scalar_one())


def _to_reprocess(since: datetime | None, after: Position | None, limit: int) -> Any:
    stmt = select(Article).order_by(Article.first_seen_at, Article.id).limit(limit)
    if since is not None:
        stmt = stmt.where(Article.first_seen_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(Article.first_seen_at, Article.id) > tuple_(*after))
    return stmt


def _record(a: Article) -> ArticleRecord:
    return ArticleRecord(
        url_key=a.url_key, canonical_url=a.canonical_url, url=a.url, source=a.source.name,
        title=a.title, body=a.body, fetched_at=a.first_seen_at, highlights=a.highlights,
        summary=a.summary, authors=a.authors, published_at=a.published_at,
        language=a.language)


def refile_batch(
    store: Store, since: datetime | None, after: Position | None, limit: int,
    enrich: Callable[[ArticleRecord], None], matcher: StoryMatcher | None,
) -> Batch:
    """Re-process the next ``limit`` articles first seen at or after ``since``, after the
    position ``after``, in one transaction: ``enrich`` fills each one's record again, then
    its topics, entities and signature are replaced, it is filed under a story again, and
    every story it left or joined is recounted (dropped when it is left empty)."""
    with store.write_session() as session, session.begin():
        rows = list(session.execute(_to_reprocess(since, after, limit)).unique().scalars())
        if not rows:
            return Batch(0, None)
        items = [(a.id, a.source_id, a.story_id, _record(a)) for a in rows]
        for _id, _source, _story, rec in items:
            enrich(rec)
        ids = [i for i, _, _, _ in items]
        session.execute(update(Article).where(Article.id.in_(ids)).values(
            story_id=None, duplicate_of_id=None))
        session.execute(delete(StoryLink).where(StoryLink.article_id.in_(ids)))
        for article_id, _source, _story, rec in items:
            session.execute(update(Article).where(Article.id == article_id).values(
                topic_scores=rec.topic_scores, primary_topic=rec.primary_topic,
                minhash=rec.minhash))
            store._write_enrichment(session, article_id, rec, replace=True)
        end: Position = (rows[-1].first_seen_at, rows[-1].id)
        pending = tuple_(Article.first_seen_at, Article.id) > tuple_(*end)
        story_filer(session, matcher, exclude=pending).file(
            [NewArticle(a, rec, s) for a, s, _, rec in items])
        touched = {s for _, _, s, _ in items if s is not None}
        touched.update(session.execute(
            select(Article.story_id).where(Article.id.in_(ids))).scalars())
        recount(session, sorted(s for s in touched if s is not None))
    return Batch(len(items), end)


