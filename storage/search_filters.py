"""Search filters as SQL conditions over ``articles``, the same on every database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.sql.expression import Select

from storage.models import Article, ArticleEntity, ArticleTopic, SourceRow


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Conditions every hit meets; None means no condition. ``since`` is inclusive, ``until``
    exclusive, both on :func:`dated_at`. ``entity`` is an id (``country:us``) or a bare slug
    (``us``) matching any kind."""

    topic: str | None = None
    source: str | None = None
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    story_id: int | None = None


def dated_at() -> ColumnElement[datetime]:
    """When an article counts as dated: its publication time, else when it was first seen."""
    return func.coalesce(Article.published_at, Article.first_seen_at,
                         type_=Article.published_at.type)


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """``since <= dated_at < until``, written so either time index can serve it."""
    conds: list[ColumnElement[bool]] = []
    if since is None and until is None:
        return conds
    pub: list[ColumnElement[bool]] = []
    seen: list[ColumnElement[bool]] = [Article.published_at.is_(None)]
    if since is not None:
        pub.append(Article.published_at >= since)
        seen.append(Article.first_seen_at >= since)
    if until is not None:
        pub.append(Article.published_at < until)
        seen.append(Article.first_seen_at < until)
    conds.append(and_(*pub) | and_(*seen))
    return conds


def filter_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` over ``Article`` joined to ``SourceRow``."""
    conds = _window(filters.since, filters.until)
    if filters.topic is not None:
        conds.append(exists().where(ArticleTopic.article_id == Article.id,
                                    ArticleTopic.topic == filters.topic))
    if filters.source is not None:
        conds.append(SourceRow.name == filters.source)
    if filters.entity is not None:
        if ":" in filters.entity:
            ent: ColumnElement[bool] = ArticleEntity.entity_id == filters.entity
        else:
            ent = ArticleEntity.entity_id.endswith(":" + filters.entity, autoescape=True)
        conds.append(exists().where(ArticleEntity.article_id == Article.id, ent))
    if filters.story_id is not None:
        conds.append(Article.story_id == filters.story_id)
    return conds


def filtered_ids(filters: SearchFilters) -> Select[Any]:
    """The ids of the articles that pass ``filters``."""
    stmt = select(Article.id).where(*filter_conditions(filters))
    if filters.source is not None:
        stmt = stmt.join(SourceRow, SourceRow.id == Article.source_id)
    return stmt


def has_filters(filters: SearchFilters) -> bool:
    """Whether ``filters`` sets any condition."""
    return any(v is not None for v in (filters.topic, filters.source, filters.entity,
                                       filters.since, filters.until, filters.story_id))
