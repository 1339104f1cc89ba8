"""Send a digest by email: one multipart/alternative message (text, then HTML) over SMTP.

Contract: :func:`send_digest` tries once plus ``smtp.retries`` times, ``retry_delay`` apart
(doubling), and returns the number of attempts it took. A permanent refusal (an SMTP 5xx
reply: bad credentials, unknown recipient) is not retried. When every attempt fails it raises
:class:`MailError` carrying the attempts and the last error; it never raises anything else for
a failed send. The password is an argument — callers read it from the environment
(:func:`smtp_password`), never from the settings file.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from config.schema import SmtpSecurity, SmtpSettings

logger = logging.getLogger(__name__)


class MailError(Exception):
    """The digest could not be sent; ``attempts`` were made, the last failing with ``error``."""

    def __init__(self, attempts: int, error: str) -> None:
        self.attempts = attempts
        self.error = error
        super().__init__(f"could not send the digest after {attempts} attempt"
                         f"{'s' if attempts != 1 else ''}: {error}")


def smtp_password(smtp: SmtpSettings, env: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password from the environment variable ``smtp.password_env`` (None if unset)."""
    env = os.environ if env is None else env
    return env.get(smtp.password_env) or None


def build_message(*, sender: str, recipients: Sequence[str], subject: str, text: str,
                  html: str) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the preferred part."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _permanent(exc: Exception) -> bool:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= c < 600 for c in codes)
    return isinstance(code, int) and 500 <= code < 600


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.__class__.__name__}: {exc.smtp_code} {msg}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTPRecipientsRefused: {', '.join(sorted(exc.recipients))}"
    return f"{exc.__class__.__name__}: {exc}"


def _send_once(smtp: SmtpSettings, msg: EmailMessage, password: str | None,
               context: ssl.SSLContext | None) -> None:
    assert smtp.host is not None
    timeout = smtp.timeout.total_seconds()
    client: smtplib.SMTP
    if smtp.security is SmtpSecurity.SSL:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                  context=context or ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    with client:
        client.ehlo()
        if smtp.security is SmtpSecurity.STARTTLS:
            client.starttls(context=context or ssl.create_default_context())
            client.ehlo()
        if smtp.user:
            if password is None:
                raise smtplib.SMTPAuthenticationError(
                    535, f"no password: set ${smtp.password_env}".encode())
            client.login(smtp.user, password)
        client.send_message(msg)


def send_digest(
    smtp: SmtpSettings,
    recipients: Sequence[str],
    *,
    subject: str,
    text: str,
    html: str,
    password: str | None,
    sleep: Callable[[float], None] = time.sleep,
    context: ssl.SSLContext | None = None,
) -> int:
    """Send one multipart digest to ``recipients``; see the module docstring."""
    if not smtp.host:
        raise MailError(0, "no SMTP server configured (digest.smtp.host)")
    if not recipients:
        raise MailError(0, "no recipients configured (digest.recipients)")
    msg = build_message(sender=smtp.sender, recipients=recipients, subject=subject, text=text,
                        html=html)
    delay = smtp.retry_delay.total_seconds()
    attempts = 0
    while True:
        attempts += 1
        try:
            _send_once(smtp, msg, password, context)
        except (smtplib.SMTPException, OSError) as exc:
            error = _describe(exc)
            last = attempts > smtp.retries or _permanent(exc)
            logger.warning("sending the digest to %s via %s:%s failed (attempt %d): %s",
                           ", ".join(recipients), smtp.host, smtp.port, attempts, error)
            if last:
                raise MailError(attempts, error) from exc
            sleep(delay)
            delay *= 2
        else:
            logger.info("digest sent to %s (attempt %d)", ", ".join(recipients), attempts)
            return attempts
