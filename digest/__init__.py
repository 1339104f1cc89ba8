"""The daily digest: build it from the store, render it, write it, email it.

``build_digest(store, settings, day=...)`` gives the data, ``render(digest, fmt)`` the document
(markdown, html, json, text), and ``run_daily(settings, store, day)`` is the service's job.
"""

from digest.build import (
    Copy,
    Digest,
    DigestSection,
    DigestStory,
    RunFailure,
    Totals,
    build_digest,
    day_bounds,
    digest_zone,
)
from digest.daily import (
    DigestResult,
    daily_day,
    email_configured,
    email_digest,
    output_dir,
    run_daily,
)
from digest.mail import MailError, build_message, send_digest, smtp_password
from digest.render import DigestFormat, TemplateError, render

__all__ = [
    "Copy", "Digest", "DigestFormat", "DigestResult", "DigestSection", "DigestStory",
    "daily_day",
    "MailError", "RunFailure", "TemplateError", "Totals", "build_digest", "build_message",
    "day_bounds", "digest_zone", "email_configured", "email_digest", "output_dir", "render",
    "run_daily", "send_digest", "smtp_password",
]
