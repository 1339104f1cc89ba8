"""Recounting stories from their articles: the primary article, title, counts and times of a
story after articles left or joined it (reprocessing, a credit that moved, a merge)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import Article, Story
from storage.stories.common import _aware


def recount(session: Session, story_ids: Sequence[int]) -> None:
    """Recompute the primary, title, counts and times of ``story_ids`` from their articles;
    drop those left without articles."""
    for i in range(0, len(story_ids), 500):
        chunk = list(story_ids[i:i + 500])
        session.execute(delete(Story).where(
            Story.id.in_(chunk),
            ~select(Article.id).where(Article.story_id == Story.id).exists()))
        stats = session.execute(
            select(Article.story_id, func.count(Article.id),
                   func.count(func.distinct(Article.source_id)),
                   func.min(Article.first_seen_at),
                   func.max(func.coalesce(Article.published_at, Article.first_seen_at)))
            .where(Article.story_id.in_(chunk)).group_by(Article.story_id)).all()
        for story_id, n, sources, first, last in stats:
            primary = session.execute(
                select(Article.id, Article.title).where(Article.story_id == story_id)
                .order_by(Article.first_seen_at, Article.id).limit(1)).one()
            session.execute(update(Story).where(Story.id == story_id).values(
                article_count=n, source_count=sources, first_seen_at=_when(first),
                last_seen_at=_when(last), primary_article_id=primary[0], title=primary[1]))


def _when(value: datetime | str) -> datetime:
    """Aggregates over times come back as text on SQLite, bypassing the column type."""
    return _aware(value)
