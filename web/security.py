"""Who may read: bind address policy, access token / basic-auth password, response headers.

On 127.0.0.1 (or ::1, localhost) no secret is needed. On any other address the server refuses
to start unless ``NEWSMON_WEB_TOKEN`` (sent as ``Authorization: Bearer TOKEN``) or
``NEWSMON_WEB_PASSWORD`` (HTTP basic auth, any user name) is set in the environment; when one
is set it is required on every request except ``/healthz``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN_ENV = "NEWSMON_WEB_TOKEN"
PASSWORD_ENV = "NEWSMON_WEB_PASSWORD"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Scraped text is escaped and no page needs a script: none may run, nothing loads from
# elsewhere, no page can be framed, forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class AccessError(Exception):
    """The server must not start as asked; the message says why and what to set."""


@dataclass(frozen=True, slots=True)
class Access:
    token: str | None = None
    password: str | None = None

    @property
    def required(self) -> bool:
        return bool(self.token or self.password)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value grants access."""
        if not self.required:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if self.token and scheme.lower() == "bearer":
            return hmac.compare_digest(value.encode(), self.token.encode())
        if self.password and scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            password = decoded.partition(":")[2]
            return hmac.compare_digest(password.encode(), self.password.encode())
        return False


def access_from_env(env: Mapping[str, str]) -> Access:
    return Access(token=env.get(TOKEN_ENV) or None, password=env.get(PASSWORD_ENV) or None)


def check_bind(host: str, access: Access) -> None:
    """Raise :class:`AccessError` when ``host`` is not loopback and no secret is set."""
    if host in LOOPBACK or access.required:
        return
    raise AccessError(
        f"refusing to listen on {host}: anyone who can reach it could read the news database. "
        f"Set {TOKEN_ENV} (clients send 'Authorization: Bearer TOKEN') or {PASSWORD_ENV} "
        "(HTTP basic auth) in the environment, or listen on 127.0.0.1.")
