"""Emailing the digest to a real local SMTP server (aiosmtpd): multipart text + HTML,
STARTTLS/SSL, login with the password from the environment, retries, recorded failures."""

from __future__ import annotations

import email
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from newsfactory import T0, Newsroom, open_newsroom

from config import ConfigError, Settings, load_settings
from digest import MailError, build_digest, render, run_daily, send_digest
from digest.daily import MAIL_LOG

DAY = date(2026, 11, 25)
IST = ZoneInfo("Asia/Kolkata")


class Inbox:
    """An aiosmtpd handler that keeps what it receives; it can refuse the first ``fail``
    messages with a temporary error."""

    def __init__(self, fail: int = 0) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.fail = fail
        self.tries = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.tries <= self.fail:
            return "451 4.3.0 Try again later"
        assert isinstance(envelope.content, bytes)
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.messages.append((envelope, msg))
        return "250 OK"


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        pair = (auth_data.login.decode(), auth_data.password.decode())
        self.seen.append(pair)
        return AuthResult(success=pair == ("digest", "s3cret"), handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def start(handler: Inbox, **kw: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kw)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = start(handler)
    yield handler, controller.port
    controller.stop()


def mail_settings(tmp_path: Path, port: int, **smtp: Any) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), digest={  # type: ignore[arg-type]
        "recipients": ["analyst@example.com", "desk@example.org"],
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "retries": 2,
                 "retry_delay": 5, "timeout": 10, "sender": "newsmon@example.net", **smtp}})


def add_news(room: Newsroom) -> None:
    at = datetime(2026, 11, 25, 9, 12, tzinfo=IST)
    room.add(room.article("Navy commissions <INS> Tamal", source="pib", at=at,
                          topics={"defence": 9}, highlights=["Stealth frigate"]))


def test_run_daily_writes_both_files_and_mails_multipart(
        room: Newsroom, inbox: tuple[Inbox, int], tmp_path: Path) -> None:
    handler, port = inbox
    add_news(room)
    settings = mail_settings(tmp_path, port)
    result = run_daily(settings, room.store, DAY, env={}, now=T0)
    assert (result.mail, result.attempts, result.error) == ("sent", 1, None)
    folder = tmp_path / "data" / "digests"
    assert result.files == [folder / "2026-11-25.md", folder / "2026-11-25.html"]
    assert "Navy commissions \\<INS\\> Tamal" in (folder / "2026-11-25.md").read_text()
    assert "Navy commissions &lt;INS&gt; Tamal" in (folder / "2026-11-25.html").read_text()
    (envelope, msg) = handler.messages[0]
    assert len(handler.messages) == 1
    assert envelope.mail_from == "newsmon@example.net"
    assert envelope.rcpt_tos == ["analyst@example.com", "desk@example.org"]
    assert msg["Subject"] == "newsmon digest for 2026-11-25"
    assert msg["To"] == "analyst@example.com, desk@example.org"
    assert msg.is_multipart() and msg.get_content_type() == "multipart/alternative"
    text, html = list(msg.iter_parts())
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    digest = build_digest(room.store, settings, day=DAY, now=T0)
    # (SMTP carries CRLF line ends.)
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content().replace("\r\n", "\n") == render(digest, "text")
    assert html.get_content().replace("\r\n", "\n") == render(digest, "html")
    log = [json.loads(line) for line in (folder / MAIL_LOG).read_text().splitlines()]
    assert [(e["day"], e["mail"], e["attempts"]) for e in log] == [("2026-11-25", "sent", 1)]


def test_not_configured_writes_files_only(room: Newsroom, tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), digest={"output_dir": "out"})  # type: ignore[arg-type]
    result = run_daily(settings, room.store, DAY, env={})
    assert result.mail == "not-configured"
    assert [p.name for p in result.files] == ["2026-11-25.md", "2026-11-25.html"]
    assert "No news in this period." in (tmp_path / "out" / "2026-11-25.md").read_text()
    assert not (tmp_path / "out" / MAIL_LOG).exists()


def test_a_temporary_refusal_is_retried(room: Newsroom, tmp_path: Path) -> None:
    handler = Inbox(fail=1)
    controller = start(handler)
    try:
        add_news(room)
        waits: list[float] = []
        result = run_daily(mail_settings(tmp_path, controller.port), room.store, DAY, env={},
                           sleep=waits.append)
    finally:
        controller.stop()
    assert (result.mail, result.attempts) == ("sent", 2)
    assert waits == [5.0]
    assert len(handler.messages) == 1


def test_an_unreachable_server_is_retried_then_recorded_not_raised(
        room: Newsroom, tmp_path: Path) -> None:
    waits: list[float] = []
    settings = mail_settings(tmp_path, free_port())
    result = run_daily(settings, room.store, DAY, env={}, sleep=waits.append)
    assert (result.mail, result.attempts) == ("failed", 3)
    assert result.error is not None and result.error.startswith("ConnectionRefusedError")
    assert waits == [5.0, 10.0]
    assert [p.exists() for p in result.files] == [True, True]
    (entry,) = [json.loads(line) for line in
                (tmp_path / "data" / "digests" / MAIL_LOG).read_text().splitlines()]
    assert (entry["mail"], entry["attempts"], entry["error"]) == (
        "failed", 3, result.error)
    assert entry["recipients"] == ["analyst@example.com", "desk@example.org"]


def test_login_with_the_password_from_the_environment(room: Newsroom, tmp_path: Path) -> None:
    handler, logins = Inbox(), Logins()
    controller = start(handler, authenticator=logins, auth_require_tls=False)
    try:
        settings = mail_settings(tmp_path, controller.port, user="digest",
                                 password_env="DIGEST_PW")
        ok = run_daily(settings, room.store, DAY, env={"DIGEST_PW": "s3cret"})
        wrong = run_daily(settings, room.store, DAY, env={"DIGEST_PW": "guess"},
                          sleep=lambda _: None)
        missing = run_daily(settings, room.store, DAY, env={}, sleep=lambda _: None)
    finally:
        controller.stop()
    assert (ok.mail, ok.attempts) == ("sent", 1)
    # A permanent refusal (5xx) is not retried.
    assert (wrong.mail, wrong.attempts) == ("failed", 1)
    assert wrong.error is not None and wrong.error.startswith("SMTPAuthenticationError: 535")
    assert (missing.mail, missing.attempts, missing.error) == (
        "failed", 1, "SMTPAuthenticationError: 535 no password: set $DIGEST_PW")
    # (smtplib tries each mechanism the server offers, PLAIN and LOGIN, before giving up.)
    assert logins.seen[0] == ("digest", "s3cret")
    assert set(logins.seen[1:]) == {("digest", "guess")}
    assert len(handler.messages) == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls(certificate: tuple[Path, Path], security: str, tmp_path: Path) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler = Inbox()
    if security == "ssl":
        controller = start(handler, ssl_context=server_ctx)
    else:
        controller = start(handler, tls_context=server_ctx, require_starttls=True)
    try:
        settings = mail_settings(tmp_path, controller.port, security=security)
        attempts = send_digest(settings.digest.smtp, ["a@example.com"], subject="s", text="t",
                               html="<p>h</p>", password=None,
                               context=ssl.create_default_context(cafile=str(cert)))
        with pytest.raises(MailError) as exc:  # an untrusted certificate is refused
            send_digest(settings.digest.smtp.model_copy(update={"retries": 0}),
                        ["a@example.com"], subject="s", text="t", html="h", password=None)
    finally:
        controller.stop()
    assert attempts == 1
    assert len(handler.messages) == 1
    assert "CERTIFICATE_VERIFY_FAILED" in exc.value.error


def test_nothing_to_send_to(tmp_path: Path) -> None:
    settings = mail_settings(tmp_path, 25)
    with pytest.raises(MailError) as exc:
        send_digest(settings.digest.smtp, [], subject="s", text="t", html="h", password=None)
    assert str(exc.value) == ("could not send the digest after 0 attempts: no recipients "
                              "configured (digest.recipients)")


def test_the_password_is_refused_in_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"digest": {"smtp": {"host": "mail", "password": "x"}}}))
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={})
    assert exc.value.problems == [
        "field 'digest.smtp': do not put the SMTP password in the settings file: set the "
        "environment variable named by 'password_env' (default NEWSMON_SMTP_PASSWORD)"]
