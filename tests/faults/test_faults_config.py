"""Configuration errors through the real CLI: ``newsmon crawl --config bad.yaml`` exits 2 with one
message naming the file, the source and the field, and starts nothing (no database, no
request)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faults.server import FaultServer


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
               problem="sources: duplicate source name 'wire'"),
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


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Every case run at once as its own ``newsmon crawl`` (they take ~2 s each to start)."""
    with FaultServer() as server:
        feed = server.url("/feed.xml")
        procs = {}
        for case in CASES:
            folder = tmp_path_factory.mktemp(f"config-{case.id}")
            (folder / "sources.yaml").write_text(case.sources.replace("{feed}", feed))
            (folder / "settings.yaml").write_text(
                f"database_url: sqlite:///{folder / 'newsmon.db'}\n"
                f"data_dir: {folder / 'data'}\nsources_file: sources.yaml\n"
                + case.settings_extra)
            env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
            env["COLUMNS"] = "80"  # the message must not depend on the terminal's width
            procs[case.id] = (folder, subprocess.Popen(
                [sys.executable, "-m", "newsmon", "crawl", "--config",
                 str(folder / "settings.yaml")], cwd=folder, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        results = {}
        for case_id, (folder, proc) in procs.items():
            out, err = proc.communicate(timeout=120)
            results[case_id] = Outcome(proc.returncode, err.decode(), out.decode(), folder)
        assert sum(server.hits.values()) == 0, "a request was made with a bad configuration"
        yield results


@pytest.mark.slow
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
