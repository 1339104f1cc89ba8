"""newsmon digest, run in-process on SQLite and PostgreSQL: formats, files, email, errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from newsfactory import Newsroom, open_newsroom
from typer.testing import CliRunner, Result

from newsmon import cli
from newsmon.app import app

cli._load_commands()
IST = ZoneInfo("Asia/Kolkata")


class Inbox:
    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.contents.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    at = datetime(2026, 11, 25, 9, 12, tzinfo=IST)
    r.add(r.article("Army orders tanks", source="hindu", at=at, topics={"defence": 9}),
          r.article("Steel tariffs rise", source="reuters", at=at, topics={"trade": 8}))
    yield r
    r.store.close()


def write_config(tmp_path: Path, db_url: str, **extra: Any) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                    "default_timezone": "Asia/Kolkata", "sources": [],
                                    **extra}))
    return path


def digest(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["digest", "--config", str(config), *args])


def test_formats(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, db_url)
    md = digest(config, "--date", "2026-11-25")
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("# Digest — Wednesday 25 November 2026\n\n"
                                "2 articles · 2 stories · 2 sources\n\n## Defence\n")
    data = json.loads(digest(config, "--date", "2026-11-25", "--format", "json").stdout)
    assert [s["name"] for s in data["sections"]] == ["Defence", "Trade"]
    text = digest(config, "-d", "2026-11-25", "-f", "text", "--topic", "trade").stdout
    assert text.splitlines()[:6] == [
        "Digest: Trade — Wednesday 25 November 2026", "=" * 42, "",
        "1 article, 1 story, 1 source.", "", "TRADE"]
    html = digest(config, "--date", "2026-11-25", "--format", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and "Army orders tanks" in html
    period = digest(config, "--since", "2026-11-25T09:00+05:30", "--until",
                    "2026-11-25T10:00+05:30", "-f", "json")
    assert json.loads(period.stdout)["period"] == "25 Nov 2026 09:00 to 25 Nov 2026 10:00 IST"


def test_an_empty_day_is_not_an_error(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    result = digest(write_config(tmp_path, db_url), "--date", "2026-11-20")
    assert result.exit_code == 0
    assert result.stdout == ("# Digest — Friday 20 November 2026\n\n"
                             "0 articles · 0 stories · 0 sources\n\n"
                             "No news in this period.\n\n")


def test_out_writes_a_file(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "digest.html"
    result = digest(write_config(tmp_path, db_url), "--date", "2026-11-25", "-f", "html",
                    "--out", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"digest written to {out}\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "message"), [
    (["--date", "2026-11-25", "--since", "1d"],
     "Error: give --date, or --since (and --until), not both"),
    (["--until", "1d"], "Error: --until needs --since"),
    (["--date", "25/11/2026"],
     "Error: --date: '25/11/2026' is not a day: use today, yesterday or a date such as "
     "2026-11-25"),
    (["--since", "1d", "--until", "2d"], "Error: --since must be before --until"),
    (["--email"], "Error: --email: set digest.smtp.host and digest.recipients in the settings "
                  "to send digests"),
    (["--format", "pdf"], None),
])
def test_usage_errors(room: Newsroom, db_url: str, tmp_path: Path, args: list[str],
                      message: str | None) -> None:
    result = digest(write_config(tmp_path, db_url), *args)
    assert result.exit_code == 2
    if message is not None:
        assert result.stderr.strip() == message
    else:
        assert "Invalid value for '--format'" in result.stderr and "'pdf'" in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_user_template(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "digest.md.j2").write_text("{% if %}\n")
    config = write_config(tmp_path, db_url, digest={"template_dir": str(templates)})
    result = digest(config, "--date", "2026-11-25")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: digest template {templates / 'digest.md.j2'}, line 1: Expected an "
        "expression, got 'end of statement block'\n"
        "Fix the template or digest.template_dir in the settings.\n")


def test_email(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = write_config(tmp_path, db_url, digest={
            "recipients": ["desk@example.com"],
            "smtp": {"host": "127.0.0.1", "port": controller.port, "security": "none"}})
        result = digest(config, "--date", "2026-11-25", "--email", "--out",
                        str(tmp_path / "d.md"))
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"digest written to {tmp_path / 'd.md'}",
                                          "digest emailed to desk@example.com"]
    (content,) = inbox.contents
    assert b"Content-Type: multipart/alternative" in content
    assert b"Subject: newsmon digest for 2026-11-25" in content


def test_email_failure_exits_1(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, db_url, digest={
        "recipients": ["desk@example.com"],
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "retries": 0}})
    result = digest(config, "--date", "2026-11-25", "--email")
    assert result.exit_code == 1
    assert result.stdout.startswith("# Digest")  # the digest is still printed
    assert result.stderr == (
        "Error: could not send the digest after 1 attempt: ConnectionRefusedError: [Errno 111] "
        "Connection refused\nCheck digest.smtp in the settings and $NEWSMON_SMTP_PASSWORD.\n")


def test_daily_writes_files_and_mails(room: Newsroom, db_url: str, tmp_path: Path) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = write_config(tmp_path, db_url, digest={
            "recipients": ["desk@example.com"],
            "smtp": {"host": "127.0.0.1", "port": controller.port, "security": "none"}})
        result = digest(config, "--daily", "--date", "2026-11-25")
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    folder = tmp_path / "digests"
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"digest of 2026-11-25 written to {folder / '2026-11-25.md'}, "
        f"{folder / '2026-11-25.html'}",
        "digest emailed to desk@example.com"]
    assert (folder / "2026-11-25.md").read_text().startswith("# Digest — Wednesday")
    assert len(inbox.contents) == 1


def test_daily_without_mail_and_with_a_failed_send(room: Newsroom, db_url: str,
                                                   tmp_path: Path) -> None:
    plain = digest(write_config(tmp_path, db_url), "--daily", "--date", "2026-11-25")
    assert plain.exit_code == 0
    assert plain.stderr.startswith("digest of 2026-11-25 written to ")
    config = write_config(tmp_path, db_url, digest={
        "recipients": ["desk@example.com"],
        "smtp": {"host": "127.0.0.1", "port": free_port(), "security": "none", "retries": 0}})
    failed = digest(config, "--daily", "--date", "2026-11-25")
    assert failed.exit_code == 1
    assert failed.stderr.splitlines()[1:] == [
        "Error: digest of 2026-11-25 not emailed after 1 attempt: ConnectionRefusedError: "
        "[Errno 111] Connection refused",
        "Check digest.smtp in the settings and $NEWSMON_SMTP_PASSWORD."]
    assert (tmp_path / "digests" / "2026-11-25.html").exists()
    refused = digest(config, "--daily", "--format", "html")
    assert (refused.exit_code, refused.stderr) == (
        2, "Error: --daily takes only --date: it writes Markdown and HTML files and emails "
           "them as the settings say\n")


@pytest.mark.parametrize(("local", "day"), [
    ("2026-11-25T07:00+05:30", "2026-11-24"),
    ("2026-11-25T11:59+05:30", "2026-11-24"),
    ("2026-11-25T12:00+05:30", "2026-11-25"),
    ("2026-11-25T23:30+05:30", "2026-11-25"),
])
def test_the_daily_day(local: str, day: str) -> None:
    from digest import daily_day

    assert daily_day(datetime.fromisoformat(local), IST).isoformat() == day
