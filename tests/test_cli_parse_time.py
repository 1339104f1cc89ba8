"""newsmon parse-time, run in-process: exact output lines, errors and exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from newsmon import cli
from newsmon.app import app

# As the console script does: with every command registered, "parse-time" is a subcommand
# (an app with a single command would take it for the first TEXT).
cli._load_commands()

NOW = "2026-11-25T12:00:00+00:00"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_arguments_one_line_each_in_order(runner: CliRunner) -> None:
    result = runner.invoke(app, [
        "parse-time", "Updated: Nov 24, 2026, 11:02 pm IST", "2 hours ago",
        "--now", NOW, "--tz", "Asia/Kolkata",
    ])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-11-24T17:32:00+00:00\n2026-11-25T10:00:00+00:00\n"


def test_an_argument_with_no_time_prints_no_line_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, [
        "parse-time", "Updated: Nov 24, 2026, 11:02 pm IST", "G20", "--now", NOW,
        "--tz", "Asia/Kolkata",
    ])
    assert result.exit_code == 1
    assert result.stdout == "2026-11-24T17:32:00+00:00\n"
    assert result.stderr == "could not read a time in 'G20'\n"


def test_standard_input_when_no_arguments(runner: CliRunner) -> None:
    lines = "Yesterday at 4:10 PM\n24\n2h\r\nTue, 24 Nov 2026 10:02:00 +0530\n"
    result = runner.invoke(app, ["parse-time", "--now", NOW, "--tz", "UTC"], input=lines)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2026-11-24T16:10:00+00:00",
        "",
        "2026-11-25T10:00:00+00:00",
        "2026-11-24T04:32:00+00:00",
    ]


def test_json_lines(runner: CliRunner) -> None:
    result = runner.invoke(app, [
        "parse-time", "--json", "--now", NOW, "--tz", "Asia/Kolkata",
        "April 17, 2024 01:21 am | Updated 01:30 pm IST", "Read more",
    ])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {
        "text": "April 17, 2024 01:21 am | Updated 01:30 pm IST",
        "dt": "2024-04-16T19:51:00+00:00",
        "precision": "minute",
        "span": [0, 23],
        "rule": "month_day+clock",
        "raw": "April 17, 2024 01:21 am",
        "modified": "2024-04-17T08:00:00+00:00",
    }
    assert second == {"text": "Read more", "dt": None, "precision": None, "span": None,
                      "rule": None, "raw": None, "modified": None}


def test_naive_now_is_utc(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse-time", "15m", "--now", "2026-11-25T12:00", "--tz", "UTC"])
    assert result.stdout == "2026-11-25T11:45:00+00:00\n"


def test_bad_now_names_the_option(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse-time", "2h", "--now", "yesterday-ish", "--tz", "UTC"])
    assert result.exit_code == 2
    assert "Invalid value for '--now': 'yesterday-ish' is not an ISO-8601 time" in result.output
    assert result.stdout == ""


def test_unknown_zone_names_the_option(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse-time", "2h", "--now", NOW, "--tz", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "Invalid value for '--tz': 'Mars/Olympus' is not an IANA time zone" in result.output
    assert result.stdout == ""


def test_zone_defaults_to_the_settings(runner: CliRunner, tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"default_timezone": "America/New_York", "sources": []}))
    result = runner.invoke(app, ["parse-time", "Nov 24, 2026 11:02 PM", "--now", NOW,
                                 "--config", str(settings)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-11-25T04:02:00+00:00\n"
