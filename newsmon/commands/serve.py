"""newsmon serve: the read-only web app and JSON API (web/), served with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, fail, open_store, settings_from


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but "
                                      "127.0.0.1/::1/localhost needs NEWSMON_WEB_TOKEN or "
                                      "NEWSMON_WEB_PASSWORD in the environment.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="TCP port to listen on.")] = 8080,
    config: ConfigOption = None,
) -> None:
    """Serve the news in a browser and as a JSON API, read-only: Today (the day's stories by
    topic), each story's timeline, each article with its versions, search, sources and runs;
    the API under /api/v1 (OpenAPI: /api/v1/openapi.json), Atom feeds under /feeds,
    /healthz and Prometheus /metrics.

    Example: newsmon serve --port 8080   (then open http://127.0.0.1:8080/)
    """
    try:
        from web.security import AccessError, access_from_env, check_bind
    except ImportError as exc:
        fail(f"the web app needs its extra: pip install 'newsmon[web]' ({exc})", 2)
    import os

    try:
        check_bind(host, access_from_env(os.environ))
    except AccessError as exc:
        fail(str(exc), 2)
    settings = settings_from(config)
    from web.server import POOL, serve

    store = open_store(settings, **POOL)

    try:
        serve(store, settings, host, port)
    finally:
        store.close()
