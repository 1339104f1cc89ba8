"""HTTP and network faults: each a real crawl of a misbehaving server next to a healthy source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faults.harness import CaseRun, crawl_case, load, reactor_test, rss_source, write_config
from faults.server import (
    Behaviour,
    FaultServer,
    closed_port,
    cut_body,
    gzip_bomb,
    gzipped,
    hang,
    redirect,
    respond,
    sequence,
    stream,
)
from faults.site import HealthySource, article_html, feed_of_articles
from storage import Store

FAULTY = "faulty-wire"
FEED = "/faulty/feed.xml"


@dataclass
class Setup:
    """What a case's set-up routed: the URL the faulty source is configured with, other URLs
    its expected message names, and the titles it should store if it recovers."""

    url: str
    names: dict[str, str] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HttpCase:
    id: str
    fault: str
    happened: str
    setup: Callable[[FaultServer], Setup]
    error: str  # the expected first_error, {url} standing for the configured URL
    feed_requests: int | None = None  # requests the server saw for the feed path
    crawl: dict[str, Any] | None = None
    waits: float = 0.0  # the least gap between consecutive feed requests


def _route(behaviour: Behaviour) -> Callable[[FaultServer], Setup]:
    def setup(srv: FaultServer) -> Setup:
        return Setup(srv.route(FEED, behaviour))
    return setup


def _on_other_host(behaviour: Behaviour) -> Callable[[FaultServer], Setup]:
    """The fault served under the name ``localhost``: another host than the healthy
    source's 127.0.0.1 (a host that asks for a pause pauses only itself)."""
    def setup(srv: FaultServer) -> Setup:
        srv.route(FEED, behaviour)
        return Setup(f"http://localhost:{srv.port}{FEED}")
    return setup


def _refused(srv: FaultServer) -> Setup:
    return Setup(f"http://127.0.0.1:{closed_port()}/feed.xml")


def _to_https(srv: FaultServer) -> Setup:
    target = f"https://127.0.0.1:{closed_port()}/feed.xml"
    srv.route("/faulty/moved", redirect(target, 301))
    return Setup(srv.route(FEED, redirect("/faulty/moved")), {"target": target})


def _busy_then_ok(srv: FaultServer) -> Setup:
    feed, titles = feed_of_articles(srv, "/faulty")
    busy = respond(503, "Busy", headers=[("Retry-After", "1")])
    return Setup(srv.route(FEED, sequence(busy, feed)), titles=titles)


_BODY = article_html("A page that the server will not finish sending", 1).encode() * 4
_RETRIED = "(retried 2 times)"

CASES = [
    HttpCase("500", "HTTP 500 on the feed", "retried twice at once, then the run failed",
             _route(respond(500, "Internal error")),
             f"{{url}}: HTTP 500 Internal Server Error {_RETRIED}", feed_requests=3),
    HttpCase("503", "HTTP 503 without Retry-After", "retried twice at once, then failed",
             _route(respond(503, "Busy")),
             f"{{url}}: HTTP 503 Service Unavailable {_RETRIED}", feed_requests=3),
    HttpCase("503-retry-after", "HTTP 503 with Retry-After: 1",
             "each retry waited the 1 s asked for; failed after 2 retries",
             _route(respond(503, "Busy", headers=[("Retry-After", "1")])),
             "{url}: HTTP 503 Service Unavailable (retried 2 times, waiting 1 s as Retry-After "
             "asked)", feed_requests=3, waits=0.9),
    HttpCase("503-then-ok", "HTTP 503 with Retry-After: 1, then 200",
             "waited 1 s, retried, stored both articles; no error recorded", _busy_then_ok,
             "", feed_requests=2, waits=0.9),
    HttpCase("404", "HTTP 404 on the feed", "not retried; failed",
             _route(respond(404, "Not here")), "{url}: HTTP 404 Not Found", feed_requests=1),
    HttpCase("403", "HTTP 403 on the feed", "not retried; failed",
             _route(respond(403, "Go away")), "{url}: HTTP 403 Forbidden", feed_requests=1),
    HttpCase("429-honoured", "HTTP 429 with Retry-After: 1 (under the 2 s cap)",
             "each retry waited the 1 s asked for; failed after 2 retries",
             _route(respond(429, "Slow down", headers=[("Retry-After", "1")])),
             "{url}: HTTP 429 Too Many Requests (retried 2 times, waiting 1 s as Retry-After "
             "asked)", feed_requests=3, waits=0.9),
    HttpCase("429-over-cap", "HTTP 429 with Retry-After: 3600 (over the 2 s cap)",
             "not retried in this run (the server asked for an hour); failed at once",
             _on_other_host(respond(429, "Slow down", headers=[("Retry-After", "3600")])),
             "{url}: HTTP 429 Too Many Requests (the server asked to retry after 3600 s, "
             "longer than the 2 s cap (crawl.retry_after_max); not retried in this run)",
             feed_requests=1),
    HttpCase("refused", "connection refused (nothing listening)",
             "retried twice, then failed", _refused,
             f"{{url}}: connection refused {_RETRIED}"),
    HttpCase("reset", "connection reset (TCP RST) mid-body",
             "retried twice, then failed; nothing of the partial body kept",
             _route(cut_body(_BODY, 300, rst=True)),
             "{url}: the connection closed before the whole body arrived (cut short of its "
             f"length) {_RETRIED}", feed_requests=3),
    HttpCase("hang", "accepts the connection and never answers",
             "timed out after 1 s, retried twice, then failed", _route(hang(10)),
             f"{{url}}: no response within 1 s, the DOWNLOAD_TIMEOUT {_RETRIED}",
             feed_requests=3, crawl={"download_timeout": "1s"}),
    HttpCase("truncated", "body shorter than its Content-Length, then a clean close",
             "retried twice, then failed; the partial body was not parsed",
             _route(cut_body(_BODY, 300)),
             "{url}: the connection closed before the whole body arrived (cut short of its "
             f"length) {_RETRIED}", feed_requests=3),
    HttpCase("redirect-loop", "a redirect loop (the feed redirects to itself)",
             "followed 5 redirects, then gave up", _route(redirect(FEED)),
             "{url}: redirect loop (gave up after 5 redirects)", feed_requests=6),
    HttpCase("redirect-ftp", "a redirect to ftp://", "not followed; failed",
             _route(redirect("ftp://127.0.0.1/feed.xml")),
             "{url}: redirected to ftp://127.0.0.1/feed.xml, which was not followed (newsmon "
             "follows redirects to http and https URLs only)", feed_requests=1),
    HttpCase("redirect-file", "a redirect to file:///etc/passwd", "not followed; no file read",
             _route(redirect("file:///etc/passwd")),
             "{url}: redirected to file:///etc/passwd, which was not followed (newsmon "
             "follows redirects to http and https URLs only)", feed_requests=1),
    HttpCase("redirect-javascript", "a redirect to javascript:alert(1)", "not followed; failed",
             _route(redirect("javascript:alert(1)")),
             "{url}: redirected to javascript:alert(1), which was not followed (newsmon "
             "follows redirects to http and https URLs only)", feed_requests=1),
    HttpCase("redirect-https", "redirects to https:// (another scheme) on a port nothing "
             "listens on", "followed to https, refused there; the message names both URLs",
             _to_https, f"{{target}} (redirected from {{url}}): connection refused {_RETRIED}"),
    HttpCase("50mb-length", "a 50 MB feed with Content-Length",
             "refused from the header, before the body was read",
             _route(stream(50 << 20, content_length=True)),
             "{url}: response larger than the 10 MiB cap (DOWNLOAD_MAXSIZE): Content-Length "
             "says 50 MiB", feed_requests=1),
    HttpCase("50mb-stream", "a 50 MB feed streamed without Content-Length",
             "download stopped once past 10 MiB",
             _route(stream(50 << 20, content_length=False)),
             "{url}: response larger than the 10 MiB cap (DOWNLOAD_MAXSIZE): download stopped",
             feed_requests=1),
    HttpCase("gzip-bomb", "a gzip bomb: 256 KB inflating to 256 MiB (Content-Encoding: gzip)",
             "inflation stopped at the 10 MiB cap; discarded",
             _route(gzipped(b"", "application/rss+xml", encoded=gzip_bomb(256))),
             "{url}: compressed response expands beyond the 10 MiB cap (DOWNLOAD_MAXSIZE); "
             "discarded", feed_requests=1),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@reactor_test
async def test_http_fault(case: HttpCase, server: FaultServer, healthy: HealthySource,
                          fstore: Store, sqlite_url: str, tmp_path: Path,
                          record: Callable[..., None]) -> None:
    setup = case.setup(server)
    settings = load(write_config(tmp_path / "cfg", sqlite_url, [
        rss_source(healthy.name, healthy.feed_url), rss_source(FAULTY, setup.url)],
        crawl=case.crawl))

    result = await crawl_case(settings, fstore)

    check_healthy(result, healthy)
    run = result.run(FAULTY)
    assert run.finished_at is not None
    if case.error:
        assert run.status == "failed"
        assert run.first_error == case.error.format(url=setup.url, **setup.names)
        assert result.stored(FAULTY) == 0
    else:
        assert (run.status, run.first_error) == ("ok", None)
        assert sorted(result.titles[FAULTY]) == sorted(setup.titles)
    if case.feed_requests is not None:
        assert server.hits[FEED] == case.feed_requests
    if case.waits:
        times = server.hit_times[FEED]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps and min(gaps) >= case.waits, gaps
    record("http", case.fault, case.happened, case=result, source=FAULTY, healthy=healthy)


def check_healthy(result: CaseRun, healthy: HealthySource) -> None:
    """The healthy source's run is ok and every one of its articles is stored, once."""
    run = result.run(healthy.name)
    assert (run.status, run.first_error, run.errors) == ("ok", None, 0)
    assert sorted(result.titles.get(healthy.name, [])) == sorted(healthy.titles)
