"""The JSON API under ``/api/v1`` and the Atom feeds under ``/feeds``.

Lists are newest first and page with a keyset cursor: a response's ``next`` (null on the last
page) is passed back as ``cursor``. Search's ``next`` is an opaque string (the last hit's place
in its order, :mod:`storage.search_cursor`), valid for the same query, filters and ``sort``.
Every JSON answer has an ETag; a request whose ``If-None-Match`` matches gets a 304 with no
body.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from storage.reading import one_connection
from storage.search_filters import SearchFilters
from storage.store import Store
from web.params import (
    Cursor,
    Day,
    Entity,
    Limit,
    Q,
    SearchCursor,
    Source,
    StoryId,
    Topic,
    filters,
    query,
)
from web.render import MARKS, jsonable

router = APIRouter(prefix="/api/v1", tags=["api"])
feeds = APIRouter(prefix="/feeds", tags=["feeds"])
FEED_ITEMS = 50


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def etagged(request: Request, data: Any, media_type: str = "application/json") -> Response:
    """``data`` as JSON (or text already rendered) with a strong ETag; 304 if it matches."""
    body = (data if isinstance(data, str) else
            json.dumps(jsonable(data), ensure_ascii=False, sort_keys=True)).encode("utf-8")
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    match = request.headers.get("if-none-match", "")
    if tag in [t.strip().removeprefix("W/") for t in match.split(",")] or match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/articles", summary="Articles, newest stored first, with the search filters")
def articles(request: Request, topic: Topic = None, source: Source = None,
             entity: Entity = None, since: Day = None, until: Day = None,
             story: StoryId = None, limit: Limit = 50, cursor: Cursor = None) -> Response:
    from storage.browse import article_page

    f = filters(request.app.state.tz, topic=topic, source=source, entity=entity, since=since,
                until=until, story=story)
    page = article_page(_store(request), f, limit=limit, before=cursor)
    return etagged(request, {"items": page.items, "next": page.next_cursor})


def article_data(store: Store, article_id: int) -> dict[str, Any]:
    from storage.browse import published_evidence
    from storage.queries import article_detail
    from storage.timeline import story_link

    detail = article_detail(store, article_id)
    if detail is None:
        raise HTTPException(404, f"no article with id {article_id}")
    link = story_link(store, article_id)
    data: dict[str, Any] = jsonable(detail.row)
    data.pop("lead", None)
    data.update(body=detail.body, authors=detail.authors, language=detail.language,
                section=detail.section, tags=detail.tags, modified_at=detail.modified_at,
                entities=detail.entities, story=detail.story,
                siblings=[{k: v for k, v in jsonable(s).items() if k != "lead"}
                          for s in detail.siblings],
                versions=detail.versions, published=published_evidence(store, article_id),
                linked={"to": link[0], "reason": link[1]} if link else None)
    return data


@router.get("/articles/{article_id}", summary="One article in full, with its versions")
def article(request: Request, article_id: Annotated[int, Path(ge=1)]) -> Response:
    with one_connection(_store(request)):
        data = article_data(_store(request), article_id)
    return etagged(request, data)


@router.get("/stories", summary="Stories, newest first")
def stories(request: Request, limit: Limit = 50, cursor: Cursor = None,
            min_sources: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
    from storage.browse import story_page

    page = story_page(_store(request), limit=limit, before=cursor, min_sources=min_sources)
    return etagged(request, {"items": page.items, "next": page.next_cursor})


@router.get("/stories/{story_id}", summary="A story's timeline")
def story(request: Request, story_id: Annotated[int, Path(ge=1)]) -> Response:
    from storage.browse import story_entities
    from storage.timeline import story_timeline

    store = _store(request)
    with one_connection(store):
        t = story_timeline(store, story_id)
        if t is None:
            raise HTTPException(404, f"no story with id {story_id}")
        entities = dict(story_entities(store, story_id))
    data = jsonable(t)
    data.update(copies=t.copies, independent=t.independent, entities=entities)
    return etagged(request, data)


def run_search(request: Request, q: str | None, f: SearchFilters, *, limit: int,
               cursor: str | None, order: Literal["rank", "date"]
               ) -> tuple[list[Any], str | None]:
    """One page of search hits and the cursor of the next page (None: the last); a
    malformed cursor is a 400 naming ``cursor``."""
    from storage.search import CursorError, search_page

    node = query(q)
    try:
        page = search_page(_store(request), node, f, limit=limit, order=order, marks=MARKS,
                           cursor=cursor)
    except CursorError as exc:
        raise HTTPException(400, str(exc)) from exc
    return page.hits, page.next_cursor


@router.get("/search", summary="Full-text search in the query language, with the filters")
def search_api(request: Request, q: Q = None, topic: Topic = None, source: Source = None,
               entity: Entity = None, since: Day = None, until: Day = None,
               story: StoryId = None, sort: Literal["rank", "date"] = "rank",
               limit: Limit = 20, cursor: SearchCursor = None) -> Response:
    f = filters(request.app.state.tz, topic=topic, source=source, entity=entity, since=since,
                until=until, story=story)
    hits, nxt = run_search(request, q, f, limit=limit, cursor=cursor, order=sort)
    items = [{**h.to_dict(), "snippet": h.snippet.replace(MARKS[0], "**")
              .replace(MARKS[1], "**")} for h in hits]
    return etagged(request, {"items": items, "next": nxt})


@router.get("/sources", summary="Each source: articles, last run, articles per day")
def sources(request: Request) -> Response:
    from storage.browse import source_health

    rows = source_health(_store(request), now=datetime.now(UTC))
    return etagged(request, {"items": rows})


@router.get("/runs", summary="Crawl runs, newest first")
def runs(request: Request, source: Source = None, limit: Limit = 50,
         cursor: Cursor = None) -> Response:
    from storage.browse import run_page

    page = run_page(_store(request), source=source, limit=limit, before=cursor)
    return etagged(request, {"items": page.items, "next": page.next_cursor})


@router.get("/stats", summary="Article counts: totals, or by day, source or topic")
def stats_api(request: Request, by: Literal["day", "source", "topic"] | None = None,
              since: Day = None, until: Day = None) -> Response:
    from storage.queries import stats

    f = filters(request.app.state.tz, since=since, until=until)
    rows = stats(_store(request), by, request.app.state.tz, since=f.since, until=f.until)
    return etagged(request, {"items": rows})


def atom(request: Request, title: str, self_path: str, entries: list[dict[str, Any]]
         ) -> Response:
    updated = max((e["dated_at"] for e in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    text = request.app.state.templates.get_template("feed.atom").render(
        title=title, id=f"urn:newsmon:{self_path}", self_url=str(request.url),
        updated=updated, entries=entries)
    return etagged(request, text, media_type="application/atom+xml; charset=utf-8")


@feeds.get("/topics/{topic}.atom", summary="The newest articles of a topic, as Atom")
def topic_feed(request: Request,
               topic: Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]) -> Response:
    from storage.browse import article_page

    page = article_page(_store(request), SearchFilters(topic=topic), limit=FEED_ITEMS)
    entries = [{"id": a.id, "title": a.title, "url": a.url, "source": a.source,
                "dated_at": a.dated_at, "summary": a.summary or a.lead[:300]}
               for a in page.items]
    return atom(request, f"newsmon: {topic}", f"topic:{topic}", entries)


@feeds.get("/search.atom", summary="The newest articles matching a search, as Atom")
def search_feed(request: Request, q: Q = None, topic: Topic = None,
                source: Source = None) -> Response:
    if not q:
        raise HTTPException(400, "q: give a search query")
    f = filters(request.app.state.tz, topic=topic, source=source)
    hits, _ = run_search(request, q, f, limit=FEED_ITEMS, cursor=None, order="date")
    entries = [{"id": h.id, "title": h.title, "url": h.url, "source": h.source,
                "dated_at": h.dated_at,
                "summary": h.snippet.replace(MARKS[0], "").replace(MARKS[1], "")}
               for h in hits]
    return atom(request, f"newsmon search: {q}", f"search:{q}", entries)
