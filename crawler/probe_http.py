"""The plain HTTP of ``newsmon sources check`` (:mod:`crawler.probe`): one GET at a time, every
redirect hop recorded, DNS asked first so that a missing host is named as such, robots.txt read
as the crawl reads it (Protego, our user agent).

Synchronous and small on purpose: the probe asks a handful of URLs per source and must say
exactly what each answered, which Scrapy's middlewares (retries, redirects, robots) hide.
"""

from __future__ import annotations

import gzip
import io
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urljoin, urlsplit

from protego import Protego

MAX_REDIRECTS = 10


@dataclass
class Fetched:
    """What one GET gave: the final status and URL, each redirect hop, the body (capped)."""

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[str] = field(default_factory=list)  # each Location followed, in order
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # DNS, connection, timeout: why there is no status

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def hosts(self) -> list[str]:
        """Hosts the redirects went to that are not the first URL's host."""
        first = urlsplit(self.url).hostname
        out: list[str] = []
        for hop in self.redirects:
            host = urlsplit(hop).hostname
            if host and host != first and host not in out:
                out.append(host)
        return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def dns_error(host: str, port: int) -> str | None:
    """None if ``host`` resolves, else what the resolver said."""
    try:
        socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"DNS: {host} does not resolve ({exc})"
    return None


def _decode(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    if (encoding or "").lower() == "gzip" or body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
                return f.read(max_bytes)
        except (OSError, EOFError):
            return body
    return body


def fetch(url: str, headers: dict[str, str], timeout: float, max_bytes: int) -> Fetched:
    """GET ``url``, following up to :data:`MAX_REDIRECTS` redirects by hand."""
    out = Fetched(url=url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        host = parts.hostname or ""
        why = dns_error(host, parts.port or (443 if parts.scheme == "https" else 80))
        if why:
            out.error = why
            return out
        request = urllib.request.Request(current, headers=headers)
        try:
            resp = _OPENER.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            resp = exc
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            out.error = f"cannot connect to {host}: {reason}"
            return out
        with resp:
            status = resp.status if resp.status is not None else resp.getcode()
            msg: Message = resp.headers
            location = msg.get("Location")
            if status in (301, 302, 303, 307, 308) and location:
                current = urljoin(current, location)
                out.redirects.append(current)
                continue
            try:
                body = resp.read(max_bytes)
            except OSError as exc:
                out.error = f"{current}: the body was cut short ({exc})"
                body = b""
            out.status, out.final_url = status, current
            out.headers = {k.lower(): v for k, v in msg.items()}
            out.body = _decode(body, msg.get("Content-Encoding"), max_bytes)
            return out
    out.error = f"more than {MAX_REDIRECTS} redirects"
    return out


@dataclass
class RobotsVerdict:
    allowed: bool
    detail: str  # "allowed", "disallowed by robots.txt", "no robots.txt (404): allowed", ...


class RobotsReader:
    """robots.txt per host (scheme and netloc), read once per probe, judged as Scrapy does:
    a robots.txt that cannot be fetched or answers an error allows everything."""

    def __init__(self, user_agent: str, headers: dict[str, str], timeout: float,
                 max_bytes: int) -> None:
        self.user_agent = user_agent
        self.headers, self.timeout, self.max_bytes = headers, timeout, max_bytes
        self._parsed: dict[str, tuple[Protego | None, str]] = {}

    def verdict(self, url: str) -> RobotsVerdict:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._parsed:
            got = fetch(f"{key}/robots.txt", self.headers, self.timeout, self.max_bytes)
            if got.error:
                self._parsed[key] = (None, f"robots.txt unreadable ({got.error}): allowed")
            elif not got.ok:
                self._parsed[key] = (None, f"no robots.txt ({got.status}): allowed")
            else:
                text = got.body.decode("utf-8", "replace")
                self._parsed[key] = (Protego.parse(text), "")
        parser, note = self._parsed[key]
        if parser is None:
            return RobotsVerdict(True, note)
        if parser.can_fetch(url, self.user_agent):
            return RobotsVerdict(True, "allowed")
        return RobotsVerdict(False, f"disallowed by {key}/robots.txt for our user agent")
