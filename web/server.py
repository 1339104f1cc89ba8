"""Run the web app: check the address against the access policy, then serve with uvicorn."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from config.schema import Settings
from storage.store import Store
from web.security import Access, access_from_env, check_bind

if TYPE_CHECKING:
    from fastapi import FastAPI

#: The engine's connection pool for the server: requests run in a pool of threads (anyio's,
#: 40), and a connection handed back beyond SQLAlchemy's default 5 is closed, so under
#: concurrent requests every request past the fifth opened (and set up) a new one.
POOL: dict[str, Any] = {"pool_size": 16, "max_overflow": 24}


def build(store: Store, settings: Settings, host: str,
          env: Mapping[str, str] | None = None) -> tuple[FastAPI, Access]:
    """The app for ``host``; raises :class:`web.security.AccessError` when ``host`` is not
    loopback and the environment sets no secret."""
    from web.app import create_app

    access = access_from_env(os.environ if env is None else env)
    check_bind(host, access)
    return create_app(store, settings, access=access), access


def serve(store: Store, settings: Settings, host: str = "127.0.0.1", port: int = 8080,
          *, sock: socket.socket | None = None, log_level: str = "info") -> None:
    """Serve until interrupted (blocking). ``sock``: an already bound socket (tests)."""
    import uvicorn

    app, _ = build(store, settings, host)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            proxy_headers=False, server_header=False, access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock] if sock is not None else None)
