"""Query parameters shared by the pages, the API and the feeds, validated (a bad value is a
400 naming it): the search filters, days, and the query string."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query

from storage.query_language import Query as QueryNode
from storage.query_language import QuerySyntaxError, parse_query
from storage.search_filters import SearchFilters

NAME = r"^[A-Za-z0-9_.:\-]{1,64}$"
Topic = Annotated[str | None, Query(pattern=NAME, description="A topic id (defence, trade).")]
Source = Annotated[str | None, Query(pattern=NAME, description="A source name.")]
Entity = Annotated[str | None, Query(pattern=NAME,
                                     description="An entity id (country:us) or slug (us).")]
Day = Annotated[date | None, Query(description="A local day, YYYY-MM-DD.")]
StoryId = Annotated[int | None, Query(ge=1, description="Only this story's articles.")]
Limit = Annotated[int, Query(ge=1, le=200, description="At most this many rows.")]
Cursor = Annotated[int | None, Query(ge=1, description="The `next` of the previous page.")]
SearchCursor = Annotated[str | None, Query(
    max_length=400, pattern=r"^[A-Za-z0-9_-]+$",
    description="The `next` of the previous page of the same search, as it is.")]
Q = Annotated[str | None, Query(max_length=500, description="The search query language: "
                                "words, \"phrases\", prefix*, AND, OR, NOT/-word, (groups).")]


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def filters(tz: ZoneInfo, *, topic: str | None = None, source: str | None = None,
            entity: str | None = None, since: date | None = None, until: date | None = None,
            story: int | None = None) -> SearchFilters:
    """The search filters of the request; ``until`` includes that whole local day."""
    start = day_start(since, tz) if since else None
    end = day_start(until + timedelta(days=1), tz) if until else None
    if start is not None and end is not None and start >= end:
        raise HTTPException(400, "since: must be on or before until")
    return SearchFilters(topic=topic or None, source=source or None, entity=entity or None,
                         since=start, until=end, story_id=story)


def query(q: str | None) -> QueryNode | None:
    """The parsed query, None for none; a syntax error is a 400 with the parser's message."""
    if q is None or not q.strip():
        return None
    try:
        node = parse_query(q)
    except QuerySyntaxError as exc:
        raise HTTPException(400, f"q: {exc}") from exc
    if node is None:
        raise HTTPException(400, "q: nothing to search for; give a word")
    return node
