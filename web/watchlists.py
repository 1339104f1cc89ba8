"""The watchlists, read-only: the Watchlists page (each watchlist with its recent hits and
deliveries), one watchlist's page, and ``/api/v1/watchlists`` (keyset pages, as the other
lists). Data comes from :mod:`storage.alert_pages`; the settings name the configured
watchlists, their queries and the channel of each target."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from config.schema import Settings
from storage.alert_pages import WatchlistSummary
from storage.store import Store
from web.params import Cursor, Limit

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["api"])
RECENT = 10
PAGE_SIZE = 50
Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
                           description="A watchlist's name.")]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _described(settings: Settings, s: WatchlistSummary) -> dict[str, Any]:
    """A summary with what the settings say of it (query, filters, targets)."""
    wl = next((w for w in settings.watchlists if w.name == s.name), None)
    return {"name": s.name, "configured": wl is not None,
            "query": wl.query if wl else None, "topics": wl.topics if wl else [],
            "entities": wl.entities if wl else [], "sources": wl.sources if wl else [],
            "min_sources": wl.min_sources if wl else None,
            "notify": wl.notify if wl else [], "hits": s.hits, "last_hit": s.last_hit,
            "deliveries": s.deliveries}


def channel(settings: Settings, target: str) -> str | None:
    """The kind of a notify target (webhook, email, apprise); None if no longer configured."""
    t = settings.notify.get(target)
    return t.kind if t is not None else None


def _summaries(request: Request) -> list[dict[str, Any]]:
    from storage.alert_pages import watchlist_summaries

    settings = _settings(request)
    return [_described(settings, s) for s in watchlist_summaries(
        _store(request), [w.name for w in settings.watchlists])]


def _one(request: Request, name: str) -> dict[str, Any]:
    found = next((s for s in _summaries(request) if s["name"] == name), None)
    if found is None:
        raise HTTPException(404, f"no watchlist named {name!r}")
    return found


def _deliveries(request: Request, name: str, limit: int, before: int | None
                ) -> dict[str, Any]:
    from storage.alert_pages import delivery_page

    page = delivery_page(_store(request), name, limit=limit, before=before)
    settings = _settings(request)
    return {"items": [{**asdict(d), "channel": channel(settings, d.target)}
                      for d in page.items], "next": page.next_cursor}


def _hits(request: Request, name: str, limit: int, before: int | None) -> dict[str, Any]:
    from storage.alert_pages import hit_page

    page = hit_page(_store(request), name, limit=limit, before=before)
    return {"items": page.items, "next": page.next_cursor}


# -- the API ----------------------------------------------------------------------------


@api.get("/watchlists", summary="Each watchlist: its hits and deliveries by status")
def watchlists_api(request: Request) -> Response:
    from web.api import etagged

    return etagged(request, {"items": _summaries(request)})


@api.get("/watchlists/{name}", summary="A watchlist with its newest hits and deliveries")
def watchlist_api(request: Request, name: Name, limit: Limit = 50) -> Response:
    """The first page of each list; ``hits.next`` and ``deliveries.next`` continue at
    ``/watchlists/{name}/hits`` and ``/watchlists/{name}/deliveries``."""
    from web.api import etagged

    data = _one(request, name)
    data.update(hits=_hits(request, name, limit, None),
                deliveries=_deliveries(request, name, limit, None))
    return etagged(request, data)


@api.get("/watchlists/{name}/hits", summary="A watchlist's hits (alerts), newest first")
def watchlist_hits_api(request: Request, name: Name, limit: Limit = 50,
                       cursor: Cursor = None) -> Response:
    from web.api import etagged

    _one(request, name)
    return etagged(request, _hits(request, name, limit, cursor))


@api.get("/watchlists/{name}/deliveries", summary="A watchlist's deliveries, newest first")
def watchlist_deliveries_api(request: Request, name: Name, limit: Limit = 50,
                             cursor: Cursor = None) -> Response:
    from web.api import etagged

    _one(request, name)
    return etagged(request, _deliveries(request, name, limit, cursor))


# -- the pages --------------------------------------------------------------------------


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(request.app.state.templates.get_template(template).render(**context))


@pages.get("/watchlists")
def watchlists_page(request: Request) -> HTMLResponse:
    """Every watchlist with its newest hits and deliveries."""
    shown = [{**s, "hit_page": _hits(request, s["name"], RECENT, None),
              "delivery_page": _deliveries(request, s["name"], RECENT, None)}
             for s in _summaries(request)]
    return _render(request, "watchlists.html", watchlists=shown, one=False)


@pages.get("/watchlists/{name}")
def watchlist_page(request: Request, name: Name,
                   hits_before: Annotated[int | None, Query(ge=1)] = None,
                   deliveries_before: Annotated[int | None, Query(ge=1)] = None
                   ) -> HTMLResponse:
    """One watchlist, its hits and deliveries a page each, older ones a link away."""
    shown = {**_one(request, name),
             "hit_page": _hits(request, name, PAGE_SIZE, hits_before),
             "delivery_page": _deliveries(request, name, PAGE_SIZE, deliveries_before)}
    return _render(request, "watchlists.html", watchlists=[shown], one=True,
                   hits_before=hits_before, deliveries_before=deliveries_before)


__all__ = ["api", "pages"]
