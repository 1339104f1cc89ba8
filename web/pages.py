"""The HTML pages: Today, Story, Article (and a version's diff), Search, Sources.

Server-rendered, no script: every control is a link or a GET form, so each page works with
JavaScript off. Data comes from the Store's read API (``storage.queries``, ``storage.timeline``,
``storage.search``, ``storage.browse``) and the digest builder (``digest.build``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from storage.reading import one_connection
from storage.store import Store
from web.params import Day, Entity, Q, SearchCursor, Source, Topic, filters

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
MAX_PAGE = 50
# Today is the digest built live, the costliest page: each (day, topic) is built at most once
# per this many seconds, by whichever request comes first; the others wait for it.
TODAY_TTL_S = 30.0
_today_lock = threading.Lock()


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def page(request: Request, name: str, **context: Any) -> HTMLResponse:
    html = request.app.state.templates.get_template(name).render(**context)
    return HTMLResponse(html)


@router.get("/")
def today(request: Request, day: Day = None, topic: Topic = None) -> HTMLResponse:
    """The day's stories by topic, most-reported first (the digest, live; see TODAY_TTL_S)."""
    from digest.build import digest_zone

    settings = request.app.state.settings
    zone = digest_zone(settings)
    current = datetime.now(UTC).astimezone(zone).date()
    day = day or current
    cache: dict[tuple[date, str | None], tuple[float, HTMLResponse]] = getattr(
        request.app.state, "today_cache", {})
    request.app.state.today_cache = cache
    with _today_lock:
        hit = cache.get((day, topic))
        if hit is not None and hit[0] > time.monotonic():
            return HTMLResponse(hit[1].body)
        response = _today(request, day, current, topic)
        cache[(day, topic)] = (time.monotonic() + TODAY_TTL_S, response)
        if len(cache) > 64:
            cache.pop(next(iter(cache)))
        return response


def _today(request: Request, day: date, current: date, topic: str | None) -> HTMLResponse:
    from digest.build import build_digest

    settings = request.app.state.settings
    digest = build_digest(_store(request), settings, day=day, topic=topic)
    # New (first reported that day) or developing, as the digest says (storage.developments).
    marks = {s.story_id: s.status for sec in digest.sections for s in sec.stories
             if s.story_id}
    return page(request, "today.html", digest=digest, marks=marks, day=day,
                previous=day - timedelta(days=1),
                following=day + timedelta(days=1) if day < current else None, topic=topic)


@router.get("/stories/{story_id}")
def story(request: Request, story_id: Annotated[int, Path(ge=1)]) -> HTMLResponse:
    from storage.browse import story_entities
    from storage.timeline import story_timeline

    store = _store(request)
    with one_connection(store):
        t = story_timeline(store, story_id)
        if t is None:
            raise HTTPException(404, f"no story with id {story_id}")
        entities = story_entities(store, story_id)
    return page(request, "story.html", t=t, entities=entities)


@router.get("/articles/{article_id}")
def article(request: Request, article_id: Annotated[int, Path(ge=1)]) -> HTMLResponse:
    from storage.browse import published_evidence
    from storage.queries import article_detail
    from storage.timeline import story_link

    store = _store(request)
    with one_connection(store):
        detail = article_detail(store, article_id)
        if detail is None:
            raise HTTPException(404, f"no article with id {article_id}")
        evidence = published_evidence(store, article_id)
        link = story_link(store, article_id)
    return page(request, "article.html", d=detail, r=detail.row, evidence=evidence,
                link=link)


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """Two texts word by word (:func:`storage.diffs.word_diff`, unchanged runs cut to a few
    words either side of a change), as (kind, words) pairs: kind is ``same``, ``del``,
    ``add``, or ``hunk`` where words were left out."""
    from storage.diffs import condensed, word_diff

    out: list[tuple[str, str]] = []
    for c in condensed(word_diff(old, new)):
        if c is None:
            out.append(("hunk", "…"))
        elif c.op == "equal":
            out.append(("same", " ".join(c.new)))
        else:
            if c.old:
                out.append(("del", " ".join(c.old)))
            if c.new:
                out.append(("add", " ".join(c.new)))
    return out


@router.get("/articles/{article_id}/diff")
def version_diff(request: Request, article_id: Annotated[int, Path(ge=1)],
                 version: Annotated[int, Query(ge=1)]) -> HTMLResponse:
    """What changed from the version before ``version`` to it (title and text)."""
    from storage.queries import article_detail

    with one_connection(_store(request)):
        detail = article_detail(_store(request), article_id)
    if detail is None:
        raise HTTPException(404, f"no article with id {article_id}")
    versions = detail.versions
    index = next((i for i, v in enumerate(versions) if v.id == version), None)
    if index is None:
        raise HTTPException(404, f"article {article_id} has no version {version}")
    new = versions[index]
    old = versions[index - 1] if index else None
    old_text = "" if old is None else (old.body or "")
    from storage.diffs import describe_change

    change = (describe_change(old.title, old.body, new.title, new.body)
              if old is not None else None)
    return page(request, "diff.html", d=detail, r=detail.row, old=old, new=new,
                change=change, title_changed=old is not None and old.title != new.title,
                lines=diff_lines(old_text, new.body or ""),
                missing=new.body is None or (old is not None and old.body is None))


@router.get("/search")
def search_page(request: Request, q: Q = None, topic: Topic = None, source: Source = None,
                entity: Entity = None, since: Day = None, until: Day = None,
                sort: Literal["rank", "date"] = "rank", cursor: SearchCursor = None,
                back: Annotated[str | None, Query(max_length=MAX_PAGE * 401,
                                                  pattern=r"^[A-Za-z0-9_.-]+$")] = None,
                p: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1) -> HTMLResponse:
    """Search, a page at a time: ``cursor`` is where this page starts (the search's keyset
    cursor), ``back`` the cursors of the pages between the first and this one (for the link
    back, no script needed), ``p`` this page's number."""
    from web.api import run_search

    f = filters(request.app.state.tz, topic=topic, source=source, entity=entity, since=since,
                until=until)
    hits, nxt = run_search(request, q, f, limit=PAGE_SIZE, cursor=cursor, order=sort)
    form = {"q": q or "", "topic": topic or "", "source": source or "",
            "entity": entity or "", "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "", "sort": sort}
    params = {k: v for k, v in form.items() if v}
    feed = {k: v for k, v in params.items() if k in ("q", "topic", "source")}
    trail = back.split(".") if back and cursor else []
    p = p if cursor is not None else 1
    prev_link = next_link = None
    if cursor is not None:
        earlier = trail[:-1]
        prev_link = urlencode({**params, **({"cursor": trail[-1]} if trail else {}),
                               **({"back": ".".join(earlier)} if earlier else {}),
                               "p": max(p - 1, 1)})
    if nxt is not None and p < MAX_PAGE:
        later = [*trail, cursor] if cursor is not None else []
        next_link = urlencode({**params, "cursor": nxt,
                               **({"back": ".".join(later)} if later else {}), "p": p + 1})
    return page(request, "search.html", hits=hits, form=form, feed=feed, p=p,
                first=(p - 1) * PAGE_SIZE + 1, prev_link=prev_link, next_link=next_link)


@router.get("/sources")
def sources(request: Request,
            before: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    from storage.browse import run_page, source_health

    now = datetime.now(UTC)
    health = source_health(_store(request), now=now)
    configured = _configured(request)
    runs = run_page(_store(request), limit=50, before=before)
    days = [(now - timedelta(days=13 - i)).date() for i in range(14)]
    return page(request, "sources.html", health=health, configured=configured, runs=runs,
                days=days, stale_after=timedelta(days=2), now=now)


def _configured(request: Request) -> dict[str, dict[str, Any]]:
    """The scheduler's view of each configured source (state, next run), by name."""
    from scheduler.report import source_rows
    from storage.scheduler_store import SchedulerStore

    rows = source_rows(request.app.state.settings, SchedulerStore(_store(request).engine))
    # On a database none of them ran on, source_rows lists that database's sources instead:
    # this page lists those anyway (from the database) and calls them "not configured".
    return {r["name"]: r for r in rows if r["configured"]}


__all__ = ["router"]
