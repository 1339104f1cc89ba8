"""The service's daily digest job: write the day's digest files and email them when configured.

Contract of :func:`run_daily`: builds the digest of ``day`` (local, see
:func:`~digest.build.digest_zone`), writes ``YYYY-MM-DD.md`` and ``YYYY-MM-DD.html``
under the output folder (``digest.output_dir``, default ``<data_dir>/digests``) atomically,
and, when ``digest.smtp.host`` and ``digest.recipients`` are set, emails it (text + HTML) with
retries. A failed send never raises: it is logged, appended to ``mail.log`` (one JSON object
per line) in the output folder, and reported in the returned :class:`DigestResult`. Database,
template and file-system errors do raise; the scheduler contains them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from config.schema import Settings
from digest.build import Digest, build_digest
from digest.mail import MailError, send_digest, smtp_password
from digest.render import DigestFormat, render
from storage.store import Store

logger = logging.getLogger(__name__)

MAIL_LOG = "mail.log"


@dataclass(slots=True)
class DigestResult:
    """What the daily job did. ``mail``: ``not-configured``, ``sent`` or ``failed``."""

    day: date
    files: list[Path]
    stories: int
    articles: int
    mail: str = "not-configured"
    attempts: int = 0
    error: str | None = None
    recipients: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mail != "failed"


def daily_day(now: datetime, tz: tzinfo) -> date:
    """The day a scheduled digest covers: the local day just ended when it runs before noon
    (a 07:00 digest is yesterday's), else the day now ending (a 20:00 digest is today's)."""
    local = now.astimezone(tz)
    return local.date() - timedelta(days=1) if local.hour < 12 else local.date()


def output_dir(settings: Settings) -> Path:
    """Where digests are written: ``digest.output_dir`` (relative to data_dir), else
    ``<data_dir>/digests``."""
    base = Path(settings.data_dir)
    configured = settings.digest.output_dir
    return base / configured if configured else base / "digests"


def email_configured(settings: Settings) -> bool:
    return bool(settings.digest.smtp.host and settings.digest.recipients)


def subject_for(settings: Settings, digest: Digest) -> str:
    when = digest.day.isoformat() if digest.day else digest.period
    try:
        return settings.digest.subject.format(date=when, title=digest.title)
    except (KeyError, IndexError, ValueError):
        return f"{settings.digest.subject} ({when})"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        # Name the file the user asked for, not the temporary one (or none, as a failed
        # write on an open descriptor reports).
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def email_digest(settings: Settings, digest: Digest, *, env: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] | None = None) -> int:
    """Email ``digest`` to the configured recipients; returns the attempts it took.

    Raises :class:`MailError` when it cannot be sent (or emailing is not configured)."""
    cfg = settings.digest
    tdir = cfg.template_dir
    return send_digest(
        cfg.smtp, cfg.recipients, subject=subject_for(settings, digest),
        text=render(digest, DigestFormat.TEXT, template_dir=tdir),
        html=render(digest, DigestFormat.HTML, template_dir=tdir),
        password=smtp_password(cfg.smtp, env), sleep=sleep or time.sleep)


def run_daily(settings: Settings, store: Store, day: date, *,
              env: Mapping[str, str] | None = None,
              sleep: Callable[[float], None] | None = None,
              now: datetime | None = None) -> DigestResult:
    """Write (and email, when configured) the digest of ``day``; see the module docstring."""
    digest = build_digest(store, settings, day=day, now=now)
    folder = output_dir(settings)
    files = []
    for fmt in (DigestFormat.MARKDOWN, DigestFormat.HTML):
        path = folder / f"{day.isoformat()}.{'md' if fmt is DigestFormat.MARKDOWN else 'html'}"
        _write_atomic(path, render(digest, fmt, template_dir=settings.digest.template_dir))
        files.append(path)
    result = DigestResult(day=day, files=files, stories=digest.totals.stories,
                          articles=digest.totals.articles)
    logger.info("digest of %s written: %d stories, %s", day, result.stories,
                ", ".join(str(f) for f in files))
    if not email_configured(settings):
        return result
    result.recipients = list(settings.digest.recipients)
    try:
        result.attempts = email_digest(settings, digest, env=env, sleep=sleep)
        result.mail = "sent"
    except MailError as exc:
        result.mail, result.attempts, result.error = "failed", exc.attempts, exc.error
        logger.error("digest of %s not emailed: %s", day, exc)
    except Exception as exc:  # a send must never stop the service
        result.mail, result.error = "failed", f"{exc.__class__.__name__}: {exc}"
        logger.exception("digest of %s not emailed", day)
    _record(folder, result)
    return result


def _record(folder: Path, result: DigestResult) -> None:
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "day": result.day.isoformat(),
             "mail": result.mail, "attempts": result.attempts, "error": result.error,
             "recipients": result.recipients}
    try:
        with (folder / MAIL_LOG).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    except OSError:
        logger.exception("could not record the mail result in %s", folder / MAIL_LOG)
