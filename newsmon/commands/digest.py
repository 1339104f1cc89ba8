"""newsmon digest: the day's stories, each once, by topic — as Markdown, HTML, JSON or text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from digest import DigestFormat
from newsmon.app import app
from newsmon.commands.search import time_window
from newsmon.options import ConfigOption, err_console, fail, open_store, settings_from
from newsmon.timespec import TimeSpecError, parse_day


@app.command("digest")
def digest_command(
    day: Annotated[str | None, typer.Option(
        "--date", "-d", help="The day: today, yesterday or 2026-11-25, in your time zone "
        "(default: today).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Instead of a day, from this time: 24h, 7d, 2026-11-25 or an ISO "
        "time.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="... to this time (default: now); a date includes that day.")] = None,
    topic: Annotated[str | None, typer.Option(
        "--topic", "-t", help="Only this topic (defence, trade).")] = None,
    watchlist: Annotated[str | None, typer.Option(
        "--watchlist", "-w", help="Only the stories matching this watchlist; with --email, "
        "sent to the email targets the watchlist notifies (else digest.recipients).")] = None,
    fmt: Annotated[DigestFormat, typer.Option(
        "--format", "-f", case_sensitive=False, help="markdown, html (one self-contained "
        "page), json or text.")] = DigestFormat.MARKDOWN,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write here instead of standard output.")] = None,
    email: Annotated[bool, typer.Option(
        "--email", help="Also email it (text + HTML) to digest.recipients via digest.smtp; "
        "the password comes from $NEWSMON_SMTP_PASSWORD (or digest.smtp.password_env).")
    ] = False,
    daily: Annotated[bool, typer.Option(
        "--daily", help="The service's daily job: write YYYY-MM-DD.md and .html to the "
        "digest folder (digest.output_dir, default <data_dir>/digests) and email them when "
        "digest.smtp is set. The day: --date, else yesterday before noon and today from "
        "noon. Exit status 1 if the email could not be sent (the files are written).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Build the digest of a day: on-topic stories grouped by topic, each story once with the
    other sources that reported it, the most widely covered first, with totals and failed
    crawl runs at the top. A day with no news gives a short digest that says so.

    Example: newsmon digest --date yesterday --format html --out digest.html --email
    """
    from sqlalchemy.exc import SQLAlchemyError

    from digest import (
        MailError,
        TemplateError,
        build_digest,
        digest_zone,
        email_configured,
        email_digest,
        render,
    )

    if daily:
        _daily(day, config, extra=any(x is not None for x in (since, until, topic, out,
                                                               watchlist))
               or email or fmt is not DigestFormat.MARKDOWN)
        return
    if day is not None and (since is not None or until is not None):
        fail("give --date, or --since (and --until), not both", 2)
    if until is not None and since is None:
        fail("--until needs --since", 2)
    settings = settings_from(config)
    tz = digest_zone(settings)
    now = datetime.now(UTC)
    wl = None
    if watchlist is not None:
        from newsmon.commands.alerts import watchlist_named

        wl = watchlist_named(settings, watchlist)
        mail_to = [a for t in wl.notify if (target := settings.notify[t]).email
                   for a in target.email or []]
        if mail_to:  # per recipient: the watchlist's own
            settings = settings.model_copy(update={"digest": settings.digest.model_copy(
                update={"recipients": mail_to})})
    if email and not email_configured(settings):
        fail("--email: set digest.smtp.host and digest.recipients in the settings to send "
             "digests", 2)
    store = open_store(settings)
    try:
        if since is not None:
            start, end = time_window(since, until, tz)
            assert start is not None
            digest = build_digest(store, settings, since=start, until=end or now, topic=topic,
                                  now=now, watchlist=wl)
        else:
            try:
                the_day = parse_day(day or "today", now=now, tz=tz)
            except TimeSpecError:
                fail(f"--date: {day!r} is not a day: use today, yesterday or a date such as "
                     "2026-11-25", 2)
            digest = build_digest(store, settings, day=the_day, topic=topic, now=now,
                                  watchlist=wl)
    except ValueError as exc:
        fail(str(exc), 2)
    except SQLAlchemyError as exc:
        fail(f"cannot read the database: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}")
    finally:
        store.close()
    try:
        document = render(digest, fmt, template_dir=settings.digest.template_dir)
    except TemplateError as exc:
        fail(f"{exc}\nFix the template or digest.template_dir in the settings.", 2)
    if out is None:
        typer.echo(document, nl=False)
    else:
        try:
            out.write_text(document, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}", 2)
        err_console.print(f"digest written to {out}", highlight=False, soft_wrap=True)
    if email:
        try:
            email_digest(settings, digest)
        except (MailError, TemplateError) as exc:
            fail(f"{exc}\nCheck digest.smtp in the settings and "
                 f"${settings.digest.smtp.password_env}.")
        err_console.print(f"digest emailed to {', '.join(settings.digest.recipients)}",
                          highlight=False, soft_wrap=True)


def _daily(day: str | None, config: Path | None, *, extra: bool) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from digest import TemplateError, daily_day, digest_zone, run_daily

    if extra:
        fail("--daily takes only --date: it writes Markdown and HTML files and emails them as "
             "the settings say", 2)
    settings = settings_from(config)
    tz = digest_zone(settings)
    now = datetime.now(UTC)
    try:
        the_day = parse_day(day, now=now, tz=tz) if day else daily_day(now, tz)
    except TimeSpecError:
        fail(f"--date: {day!r} is not a day: use today, yesterday or a date such as "
             "2026-11-25", 2)
    store = open_store(settings)
    try:
        result = run_daily(settings, store, the_day, now=now)
    except TemplateError as exc:
        fail(f"{exc}\nFix the template or digest.template_dir in the settings.", 2)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"digest of {the_day} not written: {exc.__class__.__name__}: {exc}")
    finally:
        store.close()
    files = ", ".join(str(f) for f in result.files)
    err_console.print(f"digest of {the_day} written to {files}", highlight=False,
                      soft_wrap=True)
    if result.mail == "sent":
        err_console.print(f"digest emailed to {', '.join(result.recipients)}",
                          highlight=False, soft_wrap=True)
    elif result.mail == "failed":
        fail(f"digest of {the_day} not emailed after {result.attempts} attempt"
             f"{'' if result.attempts == 1 else 's'}: {result.error}\nCheck digest.smtp in the "
             f"settings and ${settings.digest.smtp.password_env}.")
