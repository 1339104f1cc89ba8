"""Sending one alert message to one target: a signed webhook POST, an email, an Apprise URL.

Each sender raises :class:`DeliveryError` with a message naming the target when the message
did not go out; the delivery worker (``alerts.delivery``) records it and tries again later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from config.schema import SmtpSettings
from config.watchlists import NotifyTarget

SIGNATURE_HEADER = "X-Newsmon-Signature"


class DeliveryError(Exception):
    """A message that did not reach target ``target``; the message says why."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"delivery to {target!r} failed: {reason}")


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message_body(alerts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One alert's documented body as is; a batch as ``{"batch": true, "alerts": [...]}``."""
    if len(alerts) == 1:
        return alerts[0]
    return {"batch": True, "watchlist": alerts[0]["watchlist"], "count": len(alerts),
            "alerts": list(alerts)}


def _text(alerts: Sequence[dict[str, Any]]) -> tuple[str, str]:
    first = alerts[0]
    if len(alerts) == 1:
        title = f"[{first['watchlist']}] {first['event']}: {first['title']}"
    else:
        title = f"[{first['watchlist']}] {len(alerts)} alerts"
    lines = []
    for a in alerts:
        lines.append(f"{a['event']} ({a['sources_count']} sources): {a['title']}\n"
                     f"{a['url']} ({a['source']})\n{a['snippet']}\n")
    return title, "\n".join(lines)


def send_webhook(name: str, target: NotifyTarget, alerts: Sequence[dict[str, Any]],
                 env: Mapping[str, str] | None = None) -> None:
    assert target.webhook is not None
    body = json.dumps(message_body(alerts), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "newsmon-alerts",
               "X-Newsmon-Event": alerts[0]["event"] if len(alerts) == 1 else "batch"}
    if target.secret_env:
        secret = (os.environ if env is None else env).get(target.secret_env)
        if not secret:
            raise DeliveryError(name, f"no secret: set ${target.secret_env}")
        headers[SIGNATURE_HEADER] = sign(secret, body)
    req = urllib.request.Request(target.webhook, data=body, headers=headers, method="POST")
    timeout = target.timeout.total_seconds() if target.timeout else 10.0
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(name, f"{target.webhook} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(name, f"{target.webhook}: {reason}") from None


def send_email(name: str, target: NotifyTarget, alerts: Sequence[dict[str, Any]],
               smtp: SmtpSettings) -> None:
    from html import escape

    from digest.mail import MailError, send_digest, smtp_password

    assert target.email
    title, text = _text(alerts)
    html = "".join(f"<p><b>{escape(a['event'])}</b> ({a['sources_count']} sources): "
                   f"<a href=\"{escape(a['url'])}\">{escape(a['title'])}</a> "
                   f"({escape(a['source'])})<br>{escape(a['snippet'])}</p>" for a in alerts)
    try:  # the outbox retries, with its own back-off: one attempt here
        send_digest(smtp.model_copy(update={"retries": 0}), target.email, subject=title,
                    text=text, html=html, password=smtp_password(smtp))
    except MailError as exc:
        raise DeliveryError(name, exc.error) from None


def send_apprise(name: str, target: NotifyTarget, alerts: Sequence[dict[str, Any]]) -> None:
    try:
        import apprise
    except ImportError as exc:  # pragma: no cover - the extra is not installed
        raise ImportError("apprise notify targets require apprise installed "
                          "(pip install 'newsmon[alerts]')") from exc
    assert target.apprise is not None
    notifier = apprise.Apprise()
    if not notifier.add(target.apprise):
        raise DeliveryError(name, "Apprise does not accept this URL")
    title, text = _text(alerts)
    if not notifier.notify(title=title, body=text):
        raise DeliveryError(name, "Apprise could not deliver the notification")


def send(name: str, target: NotifyTarget, alerts: Sequence[dict[str, Any]],
         smtp: SmtpSettings) -> None:
    """Send ``alerts`` (one, or a batch window's) to ``target`` as one message."""
    if target.webhook:
        send_webhook(name, target, alerts)
    elif target.email:
        send_email(name, target, alerts, smtp)
    else:
        send_apprise(name, target, alerts)


__all__ = ["SIGNATURE_HEADER", "DeliveryError", "message_body", "send", "sign"]
