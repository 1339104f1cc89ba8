"""The FastAPI application: pages, the JSON API, feeds, ``/healthz`` and ``/metrics``.

Every route is a GET (no write endpoints); every response carries the headers of
:data:`web.security.HEADERS` (a Content-Security-Policy that lets no script run). An invalid
parameter is a 400 that names it (JSON under ``/api``, a page elsewhere).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.schema import Settings
from storage.store import Store
from web.render import environment
from web.security import HEADERS, Access

CSS = Path(__file__).with_name("templates") / "style.css"


class StoreCollector(Collector):
    """Crawl and storage counters, read from the database at each scrape."""

    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        self.store, self.tz = store, tz

    def collect(self) -> Any:
        from storage.queries import stats

        row = stats(self.store, None, self.tz)[0]
        for key, doc in (("articles", "Stored articles"), ("stories", "Stories"),
                         ("sources", "Sources with articles"),
                         ("off_topic", "Articles in no topic"),
                         ("runs", "Crawl runs recorded"),
                         ("failed_runs", "Crawl runs that failed")):
            yield GaugeMetricFamily(f"newsmon_{key}", doc, value=float(row[key]))


def _message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _drop_empty_parameters(request: Request) -> None:
    """An empty parameter (``since=`` from a form's blank field) means the same as none."""
    raw = request.scope.get("query_string", b"")
    if raw:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if v.strip()]
        if len(kept) != len(pairs):
            request.scope["query_string"] = urlencode(kept).encode("ascii")


def create_app(store: Store, settings: Settings, *, access: Access | None = None) -> FastAPI:
    """The web app over ``store``; ``access`` (if it requires a secret) guards every route
    but ``/healthz``."""
    from web import api, pages, watchlists

    access = access or Access()
    tz = ZoneInfo(settings.default_timezone)
    app = FastAPI(title="newsmon", version="1", openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Read-only access to the articles, stories, sources and crawl "
                  "runs newsmon stored. Lists page with a `next` cursor (pass it as `cursor`).")
    app.state.store, app.state.settings, app.state.tz = store, settings, tz
    app.state.templates = environment(tz)
    registry = CollectorRegistry()
    registry.register(StoreCollector(store, tz))
    requests = Counter("newsmon_web_requests", "HTTP requests served", ["route", "status"],
                       registry=registry)
    latency = Histogram("newsmon_web_request_seconds", "Time to answer a request", ["route"],
                        registry=registry)
    app.state.registry = registry

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        if request.method not in ("GET", "HEAD"):
            response: Response = PlainTextResponse("read-only: only GET and HEAD\n",
                                                   status_code=405)
        elif request.url.path != "/healthz" and not access.allows(
                request.headers.get("authorization")):
            response = PlainTextResponse("authentication required\n", status_code=401,
                                         headers={"WWW-Authenticate": 'Basic realm="newsmon"'}
                                         if access.password else {})
        else:
            _drop_empty_parameters(request)
            response = await call_next(request)
        response.headers.update(HEADERS)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        requests.labels(name, str(response.status_code)).inc()
        latency.labels(name).observe(time.perf_counter() - started)
        return response

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 400, _message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error(request, exc.status_code, str(exc.detail))

    def error(request: Request, status: int, message: str) -> Response:
        if is_api(request) or request.url.path.startswith("/feeds/"):
            return JSONResponse({"error": message}, status_code=status)
        page = app.state.templates.get_template("error.html").render(
            status=status, message=message)
        return HTMLResponse(page, status_code=status)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with store.engine.connect() as conn:
                conn.execute(text("select 1"))
        except Exception as exc:  # the database is down: say so, with a 503
            return JSONResponse({"status": "error", "error": type(exc).__name__},
                                status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/static/style.css", include_in_schema=False)
    def style() -> Response:
        return Response(CSS.read_text(encoding="utf-8"), media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})

    app.include_router(pages.router)
    app.include_router(watchlists.pages)
    app.include_router(api.router)
    app.include_router(watchlists.api)
    app.include_router(api.feeds)
    return app

