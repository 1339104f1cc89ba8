"""A story's timeline (``newsmon show --story``): its first report, when each source picked it
up and how long after the first, copies apart from reports written independently, the
revisions each article went through, and why each article was linked to the story."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select

from storage.models import Article, ArticleVersion, SourceRow, Story, StoryLink
from storage.reading import connection
from storage.search_filters import dated_at
from storage.store import Store


@dataclass(slots=True)
class TimelineEntry:
    """One article of a story, in the order of its time (published, else first seen).
    ``kind``: "first" (the first report), "copy" (a near-duplicate of ``copy_of``) or
    "report" (written independently). ``lag``: how long after the first report.
    ``revisions``: changes seen after its first fetch. ``linked_to`` and ``reason``: the
    article it was filed with and why (None for the article that opened the story, and for
    articles filed before revision 0016)."""

    article_id: int
    source: str
    title: str
    url: str
    dated_at: datetime
    first_seen_at: datetime
    lag: timedelta
    kind: str
    copy_of: int | None
    revisions: int
    linked_to: int | None
    reason: str | None


@dataclass(slots=True)
class Pickup:
    """When a source first carried the story, how long after the first report, and how
    many of its articles are in the story."""

    source: str
    at: datetime
    lag: timedelta
    articles: int


@dataclass(slots=True)
class StoryTimeline:
    id: int
    title: str
    article_count: int
    source_count: int
    first_report_at: datetime
    last_report_at: datetime
    entries: list[TimelineEntry] = field(default_factory=list)
    pickups: list[Pickup] = field(default_factory=list)

    @property
    def copies(self) -> int:
        return sum(e.kind == "copy" for e in self.entries)

    @property
    def independent(self) -> int:
        """Reports written apart, the first one included."""
        return len(self.entries) - self.copies


def story_link(store: Store, article_id: int) -> tuple[int, str] | None:
    """The article ``article_id`` was filed with, and why; None if it opened its story or
    was filed before revision 0016."""
    with connection(store) as conn:
        row = conn.execute(_LINK(), {"article_id": article_id}).first()
    return None if row is None else (int(row[0]), str(row[1]))


# Built once, with bound parameters (see storage.queries._DETAIL).
@cache
def _LINK() -> Any:  # noqa: N802 - a constant, built on first use
    return (select(StoryLink.linked_to_id, StoryLink.reason)
            .where(StoryLink.article_id == bindparam("article_id")))


@cache
def _TIMELINE() -> tuple[Any, Any]:  # noqa: N802
    when = dated_at()
    versions = (select(ArticleVersion.article_id, func.count().label("n"))
                .where(ArticleVersion.status == "accepted")
                .group_by(ArticleVersion.article_id).subquery("accepted"))
    story: Any = bindparam("story_id")
    return (select(Story).where(Story.id == story),
            select(Article.id, SourceRow.name, Article.title, Article.url, when,
                   Article.first_seen_at, Article.duplicate_of_id, versions.c.n,
                   StoryLink.linked_to_id, StoryLink.reason)
            .join(SourceRow, SourceRow.id == Article.source_id)
            .outerjoin(versions, versions.c.article_id == Article.id)
            .outerjoin(StoryLink, StoryLink.article_id == Article.id)
            .where(Article.story_id == story)
            .order_by(when, Article.id))


def story_timeline(store: Store, story_id: int) -> StoryTimeline | None:
    """The timeline of story ``story_id``; None if there is no such story."""
    story_stmt, rows_stmt = _TIMELINE()
    with connection(store) as conn:
        story = conn.execute(story_stmt, {"story_id": story_id}).first()
        if story is None:
            return None
        rows = conn.execute(rows_stmt, {"story_id": story_id}).all()
    if not rows:
        return None
    first = rows[0][4]
    out = StoryTimeline(id=story.id, title=story.title, article_count=story.article_count,
                        source_count=story.source_count, first_report_at=first,
                        last_report_at=max(r[4] for r in rows))
    seen: dict[str, Pickup] = {}
    for i, (aid, source, title, url, at, first_seen, dup, n, linked, reason) in enumerate(rows):
        kind = "first" if i == 0 else ("copy" if dup is not None else "report")
        out.entries.append(TimelineEntry(
            article_id=aid, source=source, title=title, url=url, dated_at=at,
            first_seen_at=first_seen, lag=at - first, kind=kind, copy_of=dup,
            revisions=max(int(n or 1) - 1, 0), linked_to=linked, reason=reason))
        if source in seen:
            seen[source].articles += 1
        else:
            seen[source] = Pickup(source=source, at=at, lag=at - first, articles=1)
    out.pickups = list(seen.values())
    return out
