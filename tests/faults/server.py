"""FaultServer: an HTTP server on 127.0.0.1 that misbehaves in one chosen way per path.

Each path maps to a :data:`Behaviour`, a function given the request handler. Behaviours write
to the raw socket when they need to (reset a connection, cut a body short, never answer); all
waits are bounded and end early when the server stops, and the server shuts itself down after
``lifetime`` seconds whatever the test does.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

Behaviour = Callable[["FaultHandler"], None]


class FaultServer:
    """``with FaultServer() as srv: srv.route("/feed.xml", respond(503)); srv.url("/feed.xml")``.

    Unrouted paths answer 404. ``hits`` counts requests per path (query excluded) before the
    behaviour runs; ``connections`` counts accepted connections.
    """

    def __init__(self, lifetime: float = 120.0) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.hit_times: dict[str, list[float]] = {}
        self.stopping = threading.Event()
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FaultServer:
        server = _Server(("127.0.0.1", 0), FaultHandler, self)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"fault-server:{self.port}", daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FaultServer is not running"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, behaviour: Behaviour) -> str:
        """Serve ``path`` with ``behaviour``; returns its absolute URL."""
        self.routes[path] = behaviour
        return self.url(path)

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, less if the server stops."""
        self.stopping.wait(seconds)

    def _hit(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1
            self.hit_times.setdefault(path, []).append(time.monotonic())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 owner: FaultServer) -> None:
        super().__init__(address, handler)
        self.owner = owner
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up on a misbehaving server is the point of these tests.
        logger.debug("fault server: error answering %s", client_address, exc_info=True)


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsmon-fault-server/1.0"
    timeout = 15
    server: _Server

    @property
    def owner(self) -> FaultServer:
        return self.server.owner

    def do_GET(self) -> None:
        path = urlsplit(self.path).path or "/"
        self.owner._hit(path)
        behaviour = self.owner.routes.get(path)
        self.close_connection = True
        if behaviour is None:
            self.send_body(404, b"<html><title>404 Not Found</title><h1>Not Found</h1></html>",
                           "text/html; charset=utf-8")
            return
        behaviour(self)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- building blocks for behaviours -----------------------------------------------------

    def send_head(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        self.send_response_only(status, reason)
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def send_body(self, status: int, body: bytes, content_type: str,
                  extra: Iterable[tuple[str, str]] = ()) -> None:
        self.send_head(status, [("Content-Type", content_type),
                                ("Content-Length", str(len(body))), *extra])
        self.wfile.write(body)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed proxy does."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


# -- behaviours -----------------------------------------------------------------------------

def respond(status: int = 200, body: bytes | str = b"", content_type: str = "text/html",
            headers: Iterable[tuple[str, str]] = ()) -> Behaviour:
    data = body.encode("utf-8") if isinstance(body, str) else body
    extra = list(headers)

    def behaviour(h: FaultHandler) -> None:
        h.send_body(status, data, content_type, extra)
    return behaviour


def sequence(*steps: Behaviour) -> Behaviour:
    """The n-th request gets the n-th behaviour; the last one repeats."""
    count = [0]
    lock = threading.Lock()

    def behaviour(h: FaultHandler) -> None:
        with lock:
            i = min(count[0], len(steps) - 1)
            count[0] += 1
        steps[i](h)
    return behaviour


def redirect(location: str, status: int = 302) -> Behaviour:
    def behaviour(h: FaultHandler) -> None:
        h.send_body(status, b"", "text/plain", [("Location", location)])
    return behaviour


def hang(seconds: float = 10.0) -> Behaviour:
    """Accept, read the request, then say nothing (until ``seconds`` pass or the server stops)."""
    def behaviour(h: FaultHandler) -> None:
        h.owner.wait(seconds)
    return behaviour


def slow(seconds: float, then: Behaviour) -> Behaviour:
    def behaviour(h: FaultHandler) -> None:
        h.owner.wait(seconds)
        then(h)
    return behaviour


def cut_body(body: bytes, sent: int, *, declared: int | None = None, rst: bool = False,
             content_type: str = "text/html; charset=utf-8") -> Behaviour:
    """Declare ``declared`` (default: the full length), send ``sent`` bytes, then close —
    cleanly (a truncated body) or with a reset (connection reset mid-body)."""
    def behaviour(h: FaultHandler) -> None:
        h.send_head(200, [("Content-Type", content_type),
                          ("Content-Length", str(declared or len(body)))])
        h.wfile.write(body[:sent])
        if rst:
            h.owner.wait(0.05)  # let the client read the head before the reset
            h.reset()
    return behaviour


def stream(total: int, *, content_length: bool, chunk: int = 256 * 1024,
           content_type: str = "text/html; charset=utf-8") -> Behaviour:
    """A ``total``-byte body written in chunks, with or without Content-Length; stops when the
    client hangs up."""
    block = (b"<p>" + b"x" * (chunk - 8) + b"</p>\n")[:chunk]

    def behaviour(h: FaultHandler) -> None:
        headers = [("Content-Type", content_type)]
        if content_length:
            headers.append(("Content-Length", str(total)))
        h.send_head(200, headers)
        sent = 0
        try:
            while sent < total and not h.owner.stopping.is_set():
                piece = block[: min(chunk, total - sent)]
                h.wfile.write(piece)
                sent += len(piece)
        except OSError:
            return
    return behaviour


@lru_cache(maxsize=2)
def gzip_bomb(expanded_mib: int = 256) -> bytes:
    """gzip of ``expanded_mib`` MiB of zeros: about a thousandth of that on the wire."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [comp.compress(zeros) for _ in range(expanded_mib)]
    parts.append(comp.flush())
    return b"".join(parts)


def gzipped(body: bytes, content_type: str = "text/html; charset=utf-8",
            encoded: bytes | None = None) -> Behaviour:
    """``body`` sent with Content-Encoding: gzip (``encoded``: the bytes to send instead)."""
    data = encoded if encoded is not None else gzip.compress(body, mtime=0)

    def behaviour(h: FaultHandler) -> None:
        h.send_body(200, data, content_type, [("Content-Encoding", "gzip")])
    return behaviour


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = [
    "Behaviour", "FaultHandler", "FaultServer", "closed_port", "cut_body", "gzip_bomb",
    "gzipped", "hang", "redirect", "respond", "sequence", "slow", "stream",
]
