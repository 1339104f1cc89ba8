"""The daily digest: build it from the store, render it, write it, email it.

``build_digest(store, settings, day=...)`` gives the data, ``render(digest, fmt)`` the document
(markdown, html, json, text), and ``run_daily(settings, store, day)`` is the service's job.

Importing this package is cheap, because ``newsmon --help`` imports the digest command and
must start fast: the names from build, daily and mail load their module (and SQLAlchemy, the
settings schema) on first use; render loads Jinja2 when it first renders.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported here, not on first use: loading the submodule digest.render binds the package's
# attribute "render" to that module, and this import binds it back to the function.
from digest.render import DigestFormat, TemplateError, render

if TYPE_CHECKING:
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

_MODULES = {
    "build": ("Copy", "Digest", "DigestSection", "DigestStory", "RunFailure", "Totals",
              "build_digest", "day_bounds", "digest_zone"),
    "daily": ("DigestResult", "daily_day", "email_configured", "email_digest", "output_dir",
              "run_daily"),
    "mail": ("MailError", "build_message", "send_digest", "smtp_password"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Copy", "Digest", "DigestFormat", "DigestResult", "DigestSection", "DigestStory",
    "daily_day",
    "MailError", "RunFailure", "TemplateError", "Totals", "build_digest", "build_message",
    "day_bounds", "digest_zone", "email_configured", "email_digest", "output_dir", "render",
    "run_daily", "send_digest", "smtp_password",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'digest' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"digest.{module}"), name)
    globals()[name] = value
    return value
