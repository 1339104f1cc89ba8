"""Local HTTP server for the bundled offline sample site, used by ``newsmon demo`` and the tests."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import posixpath
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.sample_site.dates import shift_dates, shift_path

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
#: The bundled site: several fictional outlets under one host, one path prefix each.
SITE_ROOT = PACKAGE_DIR / "site"
#: The demo's source list; ``{{BASE}}`` stands for the server's base URL.
SOURCES_PATH = PACKAGE_DIR / "sources.yaml"
#: What a correct crawl of the bundled site stores; ``{{BASE}}`` as above.
EXPECTED_PATH = PACKAGE_DIR / "expected.json"

BASE_TOKEN = "{{BASE}}"

# Files whose text is a template: ``{{BASE}}`` becomes the base URL at serve time, because
# feeds, sitemaps and canonical links need absolute URLs and the port is only known then.
_TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".xml", ".rss", ".atom", ".rdf", ".json", ".txt"})

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gz": "application/gzip",
}

# Feeds are usually published as ``something.xml``; real servers label them by what they are.
_XML_ROOT_TYPES = (
    (b"<rss", "application/rss+xml; charset=utf-8"),
    (b"<feed", "application/atom+xml; charset=utf-8"),
    (b"<rdf:RDF", "application/rdf+xml; charset=utf-8"),
)


def render_template(text: str, base_url: str) -> str:
    """Return ``text`` with every ``{{BASE}}`` replaced by ``base_url`` (no trailing slash)."""
    return text.replace(BASE_TOKEN, base_url.rstrip("/"))


def render_sources(base_url: str) -> str:
    """The bundled ``sources.yaml`` text, pointed at a server running on ``base_url``."""
    return render_template(SOURCES_PATH.read_text(encoding="utf-8"), base_url)


def load_expected(base_url: str) -> list[dict[str, Any]]:
    """The article entries of ``expected.json``, with URLs made absolute against ``base_url``.

    Each entry has ``url`` (canonical), ``source``, ``title``, ``published_utc`` or
    ``published_ago_seconds``, ``authors``, ``highlights``, ``body_starts_with``,
    ``body_must_not_contain`` and ``dropped``; optional ``linked_as`` lists other URLs that
    sources use for the same article and ``also_linked_by`` other sources that link it.
    """
    data = json.loads(render_template(EXPECTED_PATH.read_text(encoding="utf-8"), base_url))
    articles: list[dict[str, Any]] = data["articles"]
    return articles


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered, for tests that check what a crawler sent."""

    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]


class SampleSite:
    """Serve a directory of fixture files on 127.0.0.1 from a daemon thread.

    ``with SampleSite() as site: site.base_url`` gives ``"http://127.0.0.1:PORT"``. The root
    defaults to the bundled site; tests may pass their own tree. Responses carry a strong ETag
    and Last-Modified and honour ``If-None-Match``/``If-Modified-Since`` with 304. Counters
    (``requests`` per path, ``bytes_sent`` of bodies, ``records``) are thread-safe and updated
    before each response goes out, so a client that has read a response sees it counted;
    ``reset()`` clears them together with the delays and statuses set by ``set_delay()`` and
    ``set_status()``. With ``shift_days``, every full date the files print (and the dated
    paths) is served that many days later (:mod:`crawler.sample_site.dates`; the demo's sample
    dated relative to the day it runs).
    """

    def __init__(self, root: str | Path | None = None, host: str = "127.0.0.1", port: int = 0,
                 shift_days: int = 0):
        self.shift_days = shift_days
        self.root = Path(root).resolve() if root is not None else SITE_ROOT
        if not self.root.is_dir():
            raise FileNotFoundError(f"Sample site root {self.root} is not a directory")
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._records: list[RequestRecord] = []
        self._bytes_sent = 0
        self._delays: dict[str, float] = {}
        self._statuses: dict[str, int] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SampleSite:
        """Bind the socket and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("SampleSite is already running")
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler, self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sample-site:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and close the listening socket."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in an injected delay
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash; only valid once started."""
        if self._server is None:
            raise RuntimeError("SampleSite is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL for a site path such as ``/robots.txt``."""
        return self.base_url + "/" + path.lstrip("/")

    # -- counters ----------------------------------------------------------------------------

    @property
    def requests(self) -> Counter[str]:
        """Requests per URL path (query string excluded), all methods and statuses; a copy."""
        with self._lock:
            return Counter(self._requests)

    @property
    def bytes_sent(self) -> int:
        """Response body bytes sent since creation or the last ``reset()`` (HEAD and 304: 0)."""
        with self._lock:
            return self._bytes_sent

    @property
    def records(self) -> list[RequestRecord]:
        """Every request answered since creation or the last ``reset()``, oldest first; a copy."""
        with self._lock:
            return list(self._records)

    def reset(self) -> None:
        """Zero the counters and records, and remove all delays and forced statuses."""
        with self._lock:
            self._requests.clear()
            self._records.clear()
            self._bytes_sent = 0
            self._delays.clear()
            self._statuses.clear()

    # -- fault injection ---------------------------------------------------------------------

    def set_delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering requests for ``path``; 0 removes the delay."""
        with self._lock:
            if seconds > 0:
                self._delays[path] = seconds
            else:
                self._delays.pop(path, None)

    def set_status(self, path: str, status: int | None) -> None:
        """Answer ``path`` with ``status`` and a short text body; ``None`` serves it again."""
        with self._lock:
            if status is None:
                self._statuses.pop(path, None)
            else:
                self._statuses[path] = status

    # -- used by the handler -----------------------------------------------------------------

    def _hooks_for(self, path: str) -> tuple[float, int | None]:
        with self._lock:
            return self._delays.get(path, 0.0), self._statuses.get(path)

    def _record(self, record: RequestRecord, body_bytes: int) -> None:
        with self._lock:
            self._requests[record.path] += 1
            self._records.append(record)
            self._bytes_sent += body_bytes

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        site: SampleSite,
    ) -> None:
        self.site = site
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Handler threads blocked on an idle keep-alive connection would outlive stop().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-response are normal in crawler tests; keep stderr quiet.
        logger.debug("Sample site: error while answering %s", client_address, exc_info=True)


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsmon-sample-site/1.0"
    timeout = 30  # an idle keep-alive connection gives its thread back after this
    server: _Server

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib writes every request to stderr; tests and the demo want silence.
        return

    def _answer(self, send_body: bool) -> None:
        site = self.server.site
        split = urlsplit(self.path)
        path = unquote(split.path) or "/"
        delay, forced_status = site._hooks_for(path)
        if delay:
            site._wait(delay)

        status: int
        headers: dict[str, str] = {}
        body = b""
        resource = None if forced_status is not None else self._resolve(path, site)
        if forced_status is not None:
            status = forced_status
            body = f"{forced_status} {_reason(forced_status)}\n".encode()
            headers["Content-Type"] = "text/plain; charset=utf-8"
        elif isinstance(resource, str):  # a directory asked for without its trailing slash
            status = HTTPStatus.MOVED_PERMANENTLY
            location = resource + (f"?{split.query}" if split.query else "")
            headers["Location"] = site.base_url + location
            headers["Content-Type"] = "text/plain; charset=utf-8"
            body = f"Moved to {location}\n".encode()
        elif resource is None:
            status = HTTPStatus.NOT_FOUND
            headers["Content-Type"] = "text/html; charset=utf-8"
            body = b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>\n"
        else:
            headers["ETag"] = resource.etag
            headers["Last-Modified"] = email.utils.formatdate(resource.last_modified, usegmt=True)
            headers["Cache-Control"] = "no-cache"
            if self._not_modified(resource):
                status = HTTPStatus.NOT_MODIFIED
            else:
                status = HTTPStatus.OK
                headers["Content-Type"] = resource.content_type
                body = resource.body

        # Count before answering: a client that has read the response must see it counted.
        site._record(
            RequestRecord(
                method=self.command,
                path=path,
                query=split.query,
                status=int(status),
                headers={k: v for k, v in self.headers.items()},
            ),
            len(body) if send_body else 0,
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _resolve(self, path: str, site: SampleSite) -> _Resource | str | None:
        """The file for ``path``, a redirect target (str) for a bare directory, or None."""
        on_disk = shift_path(path, -site.shift_days)  # the file's own date
        parts = [p for p in posixpath.normpath(on_disk).split("/") if p not in ("", ".", "..")]
        file = site.root.joinpath(*parts)
        try:
            file = file.resolve()
            file.relative_to(site.root)
        except (OSError, ValueError):
            return None
        if file.is_dir():
            if not path.endswith("/"):
                return path + "/"
            file = file / "index.html"
        if not file.is_file():
            return None
        return _load(file, site.base_url, site.shift_days)

    def _not_modified(self, resource: _Resource) -> bool:
        # RFC 9110 section 13.2.2: If-None-Match wins; If-Modified-Since only counts without it.
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or resource.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            modified = datetime.fromtimestamp(int(resource.last_modified), tz=UTC)
            return modified <= since
        return False


def _load(file: Path, base_url: str, shift_days: int = 0) -> _Resource:
    data = file.read_bytes()
    suffix = file.suffix.lower()
    content_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
    if suffix in _TEMPLATE_SUFFIXES:
        data = data.replace(BASE_TOKEN.encode(), base_url.encode())
        if shift_days:
            data = shift_dates(data.decode("utf-8"), shift_days).encode("utf-8")
        if suffix == ".xml":
            head = data[:512].lstrip()
            if head.startswith(b"<?xml"):
                head = head[head.find(b"?>") + 2 :].lstrip()
            while head.startswith(b"<!--") or head.startswith(b"<?"):
                end = b"-->" if head.startswith(b"<!--") else b"?>"
                head = head[head.find(end) + len(end) :].lstrip()
            for prefix, sniffed in _XML_ROOT_TYPES:
                if head.startswith(prefix):
                    content_type = sniffed
    elif file.name.lower().endswith(".xml.gz"):
        # A compressed sitemap is a file, not a transfer encoding: the crawler receives the
        # gzip bytes themselves. Its URLs are templates too, so re-compress after substituting;
        # mtime=0 keeps the bytes, and so the ETag, stable.
        text = gzip.decompress(data).replace(BASE_TOKEN.encode(), base_url.encode())
        if shift_days:
            text = shift_dates(text.decode("utf-8"), shift_days).encode("utf-8")
        data = gzip.compress(text, compresslevel=9, mtime=0)
        content_type = "application/x-gzip"
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return _Resource(data, content_type, etag, file.stat().st_mtime)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
