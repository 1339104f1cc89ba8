"""What is new about a story in a period: first reported in it, or developing since.

:func:`story_developments` answers, for the stories of a digest period ``[since, until)``:
when each story was first reported (its earliest dated article, ever), which sources had
reported it before ``since``, and which of its articles were materially revised in the
period (an accepted version fetched in the period after an earlier accepted one, whose
change :func:`storage.diffs.describe_change` calls material). :func:`revised_in` finds the
articles revised in a period, so that a story whose only news is a correction still reaches
the digest.

The previous digest is taken to cover everything before ``since``: "developing" means new
reports or revisions since then. Read-only; aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from storage.diffs import describe_change
from storage.models import Article, ArticleVersion, SourceRow
from storage.revisions import unpack
from storage.search_filters import dated_at
from storage.store import Store

_CHUNK = 500


@dataclass(slots=True)
class Revision:
    """A material change to one article, seen at ``fetched_at``."""

    article_id: int
    fetched_at: datetime
    change: str


@dataclass(slots=True)
class Development:
    """One story's history as a digest of ``[since, until)`` needs it."""

    story_id: int
    first_reported_at: datetime
    earlier_sources: set[str] = field(default_factory=set)
    revisions: list[Revision] = field(default_factory=list)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def revised_in(store: Store, since: datetime, until: datetime) -> list[int]:
    """Ids of articles with an accepted version fetched in ``[since, until)`` that follows an
    earlier accepted version (a re-fetch that changed the article), oldest change first."""
    earlier = aliased(ArticleVersion)
    stmt = (select(ArticleVersion.article_id)
            .where(ArticleVersion.fetched_at >= since, ArticleVersion.fetched_at < until,
                   ArticleVersion.status == "accepted",
                   exists().where(and_(earlier.article_id == ArticleVersion.article_id,
                                       earlier.id < ArticleVersion.id,
                                       earlier.status == "accepted")))
            .order_by(ArticleVersion.fetched_at, ArticleVersion.id))
    with store.engine.connect() as conn:
        return list(dict.fromkeys(int(r) for r in conn.execute(stmt).scalars()))


def story_developments(store: Store, story_ids: list[int], since: datetime,
                       until: datetime) -> dict[int, Development]:
    """Each of ``story_ids``'s first report, sources before ``since`` and material revisions
    in ``[since, until)``; stories with no articles are left out."""
    out: dict[int, Development] = {}
    when = dated_at()
    with store.engine.connect() as conn:
        for part in _chunks(sorted(set(story_ids))):
            for sid, first in conn.execute(
                    select(Article.story_id, func.min(when))
                    .where(Article.story_id.in_(part)).group_by(Article.story_id)):
                if sid is not None:
                    out[sid] = Development(story_id=sid, first_reported_at=first)
            for sid, name in conn.execute(
                    select(Article.story_id, SourceRow.name).distinct()
                    .join(SourceRow, SourceRow.id == Article.source_id)
                    .where(Article.story_id.in_(part), when < since)):
                if sid in out:
                    out[sid].earlier_sources.add(str(name))
            # Every accepted version of the stories' articles that changed in the period,
            # beside the accepted version before it.
            changed = (select(ArticleVersion.article_id).join(
                           Article, Article.id == ArticleVersion.article_id)
                       .where(Article.story_id.in_(part), ArticleVersion.status == "accepted",
                              ArticleVersion.fetched_at >= since,
                              ArticleVersion.fetched_at < until))
            rows = conn.execute(
                select(Article.story_id, ArticleVersion.article_id, ArticleVersion.fetched_at,
                       ArticleVersion.title, ArticleVersion.body)
                .join(Article, Article.id == ArticleVersion.article_id)
                .where(ArticleVersion.article_id.in_(changed),
                       ArticleVersion.status == "accepted", ArticleVersion.fetched_at < until)
                .order_by(ArticleVersion.article_id, ArticleVersion.id)).all()
            previous: dict[int, tuple[str, str | None]] = {}
            for sid, aid, fetched, title, body in rows:
                text = unpack(body)
                before = previous.get(aid)
                previous[aid] = (title, text)
                if before is None or fetched < since:
                    continue
                change = describe_change(before[0], before[1], title, text)
                if change is not None and sid is not None and int(sid) in out:
                    out[int(sid)].revisions.append(
                        Revision(article_id=int(aid), fetched_at=fetched, change=change))
    return out


__all__ = ["Development", "Revision", "revised_in", "story_developments"]
