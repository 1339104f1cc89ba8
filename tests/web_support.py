"""The web app's test rig: a stored newsroom (stories, a revised article, a hostile one, runs,
watchlists' alerts and deliveries) and the app served by a real uvicorn on 127.0.0.1 in a thread of
the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from alerts_support import Receiver
from newsfactory import T0, Newsroom

from alerts.delivery import deliver_due
from alerts.evaluate import AlertEvaluator
from config import Settings
from storage import Store
from storage.records import RunStats

# Each sets an attribute on <html> if it ever runs; the browser test checks it never appears.
PWN = "document.documentElement.setAttribute('data-pwned','{}')"
HOSTILE_TITLE = (f"<script>{PWN.format('script')}</script>"
                 f"<img src=x onerror=\"{PWN.format('img')}\">Hostile headline")
HOSTILE_BODY = (f"<script>{PWN.format('body')}</script> Body text "
                f"<a href=\"javascript:{PWN.format('link')}\">click</a>. ") * 4
TARIFF_ARTICLES = 25  # more than one page of search results (20)
TOTAL_ARTICLES = TARIFF_ARTICLES + 7
# "guns" alerts the army story new, then grown at 2 sources, to a live receiver ("hook") and
# a closed port ("dead": one attempt, then failed); "hostile" alerts the hostile article;
# "quiet" alerts nothing.
DEAD_HOOK = "http://127.0.0.1:9/hook"


def watch_config(hook: str = DEAD_HOOK) -> dict[str, Any]:
    return {"watchlists": [
        {"name": "guns", "query": "howitzer*", "min_sources": 2, "notify": ["hook", "dead"]},
        {"name": "hostile", "query": "hostile", "notify": ["hook"]},
        {"name": "quiet", "query": "submarine", "notify": ["hook"]}],
        "notify": {"hook": {"webhook": hook}, "dead": {"webhook": DEAD_HOOK}},
        "alerts": {"max_attempts": 1}}


@dataclass
class Seeded:
    story_id: int
    story_first: int
    story_second: int
    copy: int
    revised: int
    hostile: int
    tariffs: list[int] = field(default_factory=list)
    hook_bodies: int = 0


def seed(store: Store) -> Seeded:
    """A day of news on 25 November 2026 (IST), through the Store's write API, with the
    alerts of :func:`watch_config`'s watchlists, delivered (or not) over HTTP."""
    with Receiver() as receiver:
        config = Settings(database_url="sqlite://", data_dir="/nonexistent-unused",
                          **watch_config(receiver.url))
        seeded = _seed(store, AlertEvaluator(config.watchlists))
        deliver_due(store, config)
        seeded.hook_bodies = len(receiver.requests)
    return seeded


def _seed(store: Store, alerts: AlertEvaluator) -> Seeded:
    room = Newsroom(store, alerts)
    army = "Army orders new howitzers"
    first = room.one(army, source="wire", at=T0, story="army", topics={"defence": 3.0},
                     entities={"country:in": 2, "organisation:drdo": 1})
    second = room.one("Howitzer order placed by army", source="agency",
                      at=T0 + timedelta(hours=2), story="army", topics={"defence": 2.5})
    copy = room.one(army, source="mirror", at=T0 + timedelta(hours=3),
                    topics={"defence": 3.0})
    rec = room.article("Missile test scheduled", source="wire", at=T0 + timedelta(hours=1),
                       topics={"defence": 1.5},
                       body="The missile test is scheduled for Friday. Officials said the "
                            "range is ready. " * 3)
    revised = room.add(rec)[0]
    rec.body = ("The missile test is scheduled for Saturday after a delay. Officials said the "
                "range is ready. " * 3)
    rec.fetched_at = T0 + timedelta(hours=5)
    room.add(rec)
    tariffs = [room.one(f"Tariff talks round {i}", source="trade-daily",
                        at=T0 + timedelta(minutes=10 * i), topics={"trade": 2.0},
                        body=f"Tariff negotiators met for round {i}. " * 5)
               for i in range(TARIFF_ARTICLES)]
    hostile = room.one(HOSTILE_TITLE, source="wire", at=T0 + timedelta(hours=4),
                       topics={"defence": 2.0}, body=HOSTILE_BODY,
                       highlights=[f"<b onmouseover=\"{PWN.format('hl')}\">bold</b>"],
                       url=f"javascript:{PWN.format('url')}")
    # A story that began the day before: "developing" on the 25th.
    room.one("Defence budget debate opens", source="wire", at=T0 - timedelta(days=1),
             story="budget", topics={"defence": 1.2})
    room.one("Budget debate on defence continues", source="agency",
             at=T0 + timedelta(minutes=30), story="budget", topics={"defence": 1.2})
    for status, error in (("ok", None), ("failed", "HTTP 503 <b>from</b> feed")):
        run = store.start_run("wire", T0)
        store.finish_run(run, status, RunStats(requests=3, pages=2, new=2,
                                               errors=0 if error is None else 1,
                                               first_error=error))
    first_row = store.articles(limit=None)
    story_id = next(a.story_id for a in first_row if a.id == first)
    assert story_id is not None
    return Seeded(story_id=story_id, story_first=first, story_second=second, copy=copy,
                  revised=revised, hostile=hostile, tariffs=tariffs)


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, data_dir="/nonexistent-unused", **watch_config())


@dataclass
class Live:
    base_url: str
    server: object


@contextmanager
def live_server(store: Store, settings: Settings, *, env: dict[str, str] | None = None
                ) -> Iterator[Live]:
    """The app (``web.server.build``, as ``newsmon serve`` builds it) on a free port of
    127.0.0.1, served by uvicorn until the block ends."""
    import uvicorn

    from web.server import build

    app, _ = build(store, settings, "127.0.0.1", env=env or {})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Live(base_url=f"http://127.0.0.1:{port}", server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
