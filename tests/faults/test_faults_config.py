"""Configuration errors through the CLI: ``newsmon crawl --config bad.yaml`` exits 2 with one
message naming the file, the source and the field, and starts nothing (no database, no
request). Every case runs through the Typer application in-process; one also runs through the
installed console script in a child process, to show the two agree."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faults.server import FaultServer
from newsmon import cli
from newsmon.app import app


@dataclass(frozen=True)
class ConfigCase:
    id: str
    fault: str
    sources: str  # sources.yaml text; {feed} is a URL on the fault server
    settings_extra: str = ""  # appended to settings.yaml
    # The expected stderr after "Error: invalid configuration in <file>:\n"; {file} is
    # "sources" or "settings" (which file the message must name).
    problem: str = ""
    file: str = "sources"


CASES = [
    ConfigCase("unknown-field", "unknown field in a source",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"], colour: red}\n',
               problem="source 'wire' (entry 1), field 'colour': unknown field"),
    ConfigCase("unknown-setting", "unknown field in the settings file (a typo)",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"]}\n',
               settings_extra="crawl:\n  concurency: 4\n",
               problem="field 'crawl.concurency': unknown field", file="settings"),
    ConfigCase("bad-url", "a source URL that is not http(s)",
               'sources:\n  - {name: wire, kind: rss, urls: ["ftp://127.0.0.1/feed.xml"]}\n',
               problem="source 'wire' (entry 1), field 'urls.0': 'ftp://127.0.0.1/feed.xml' "
                       "is not an http(s) URL"),
    ConfigCase("bad-cron", "a cron expression with minute 61",
               'sources:\n  - name: wire\n    kind: rss\n    urls: ["{feed}"]\n'
               '    schedule: {cron: "61 * * * *"}\n',
               problem="source 'wire' (entry 1), field 'schedule': cron '61 * * * *' is not "
                       "valid: Error validating expression '61': the last value (61) is higher "
                       "than the maximum value (59)"),
    ConfigCase("unknown-timezone", "an unknown time zone",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"], timezone: '
               'Mars/Olympus}\n',
               problem="source 'wire' (entry 1), field 'timezone': unknown time zone "
                       "'Mars/Olympus' (use an IANA name such as Asia/Kolkata, America/New_York "
                       "or UTC)"),
    ConfigCase("duplicate-names", "two sources with the same name",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"]}\n'
               '  - {name: wire, kind: atom, urls: ["{feed}"]}\n',
               problem="source 'wire' (entries 1 and 2), field 'name': duplicate source name"),
    ConfigCase("bad-header-name", "a source header name with a space",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"], '
               'headers: {"X Token": "1"}}\n',
               problem="source 'wire' (entry 1), field 'headers': 'X Token' is not a header "
                       "name (letters, digits and !#$%&'*+-.^_`|~ only, no spaces or colons)"),
    ConfigCase("header-line-break", "a source header value with a line break",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"], '
               'headers: {"X-Token": "a\\r\\nSet-Cookie: b"}}\n',
               problem="source 'wire' (entry 1), field 'headers': header 'X-Token': the value "
                       "must not contain line breaks or control characters"),
    ConfigCase("bad-cookie", "a source cookie value with a semicolon",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"], '
               'cookies: {"consent": "yes; admin=1"}}\n',
               problem="source 'wire' (entry 1), field 'cookies': cookie 'consent': the value "
                       "must not contain spaces, quotes, commas, semicolons, backslashes or "
                       "control characters"),
    ConfigCase("empty-file", "an empty sources file", "", problem="the file is empty"),
    ConfigCase("yaml-syntax", "a YAML syntax error (an unclosed list)",
               'sources:\n  - {name: wire, kind: rss, urls: ["{feed}"\n',
               problem="YAML syntax error at line 3, column 1: expected ',' or ']', but got "
                       "'<stream end>'"),
]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stderr: str
    stdout: str
    folder: Path


def _write(case: ConfigCase, folder: Path, feed: str) -> Path:
    (folder / "sources.yaml").write_text(case.sources.replace("{feed}", feed))
    (folder / "settings.yaml").write_text(
        f"database_url: sqlite:///{folder / 'newsmon.db'}\n"
        f"data_dir: {folder / 'data'}\nsources_file: sources.yaml\n" + case.settings_extra)
    return folder / "settings.yaml"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Every case through the CLI application in this process (as sqlite-utils tests its
    CLI), against a server that must see no request."""
    cli._load_commands()
    with FaultServer() as server:
        feed = server.url("/feed.xml")
        results = {}
        for case in CASES:
            folder = tmp_path_factory.mktemp(f"config-{case.id}")
            config = _write(case, folder, feed)
            got = CliRunner().invoke(app, ["crawl", "--config", str(config)],
                                     env={"COLUMNS": "80", "NEWSMON_CONFIG": None,
                                          "NEWSMON_DATABASE_URL": None})
            results[case.id] = Outcome(got.exit_code, got.stderr, got.stdout, folder)
        assert sum(server.hits.values()) == 0, "a request was made with a bad configuration"
        yield results


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_config_error(case: ConfigCase, outcomes: dict[str, Outcome],
                      record: Callable[..., None]) -> None:
    got = outcomes[case.id]
    file = got.folder / f"{case.file}.yaml"
    expected = f"Error: invalid configuration in {file}:\n  - {case.problem}\n"
    assert (got.returncode, got.stderr, got.stdout) == (2, expected, "")
    # Nothing started: no database, no data folder, no request (checked by the fixture).
    assert not (got.folder / "newsmon.db").exists()
    assert not (got.folder / "data").exists()
    record("config", case.fault, "exit status 2; no database created, no request made",
           first_error=f"invalid configuration in <folder>/{case.file}.yaml: {case.problem}")


@pytest.mark.slow
def test_config_error_through_the_console_script(tmp_path: Path,
                                                 record: Callable[..., None]) -> None:
    """The installed entry point, in its own process, says the same and exits 2."""
    case = next(c for c in CASES if c.id == "unknown-field")
    with FaultServer() as server:
        config = _write(case, tmp_path, server.url("/feed.xml"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env["COLUMNS"] = "80"
        proc = subprocess.run([str(Path(sys.executable).with_name("newsmon")), "crawl",
                               "--config", str(config)], cwd=tmp_path, env=env,
                              capture_output=True, timeout=120)
        assert sum(server.hits.values()) == 0
    expected = (f"Error: invalid configuration in {tmp_path / 'sources.yaml'}:\n"
                f"  - {case.problem}\n")
    assert (proc.returncode, proc.stderr.decode(), proc.stdout.decode()) == (2, expected, "")
    assert not (tmp_path / "newsmon.db").exists()
    record("config", f"{case.fault}, through the `newsmon` console script in its own process",
           "exit status 2, the same message; no database created, no request made",
           first_error=f"invalid configuration in <folder>/sources.yaml: {case.problem}")
