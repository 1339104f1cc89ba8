"""A newcomer's first commands (issue 22): tables piped and at 80 columns, search queries that
start with '-', unknown filter values. Real ``newsmon`` processes on a database the demo filled
(the bundled sample site, crawled through the real Scrapy path); width-dependent checks run in a
pseudo-terminal of 80 columns."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NEWSMON_DATABASE_URL", "NEWSMON_CONFIG",
                        "NO_COLOR", "FORCE_COLOR")}
    return {**out, "TERM": "xterm-256color", **extra}


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NEWSMON, *args], env=env(), capture_output=True, text=True,
                          timeout=120)


def in_terminal(*args: str, columns: int = 80) -> tuple[int, str]:
    """Run newsmon with stdin, stdout and stderr on a pseudo-terminal ``columns`` wide."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen([NEWSMON, *args], stdin=follower, stdout=follower,
                            stderr=follower, env=env(), close_fds=True)
    os.close(follower)
    chunks = []
    try:
        while select.select([leader], [], [], 60)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        code = proc.wait(60)
    return code, b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


DEMO_SOURCES = ["bharat-defence-wire", "capitol-defense-daily", "euro-security-review",
                "global-trade-desk", "indus-ledger", "press-information-desk"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``newsmon demo`` with its default folder ($NEWSMON_DEMO_DIR) in a temporary one."""
    folder = tmp_path_factory.mktemp("newcomer") / "demo"
    result = subprocess.run([NEWSMON, "demo"], env={**env(), "NEWSMON_DEMO_DIR": str(folder)},
                            capture_output=True, text=True, timeout=300, cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


@pytest.fixture(scope="module")
def demo_config(demo_run: tuple[Path, str]) -> str:
    return str(demo_run[0] / "settings.yaml")


def test_the_demo_keeps_its_database_and_says_what_to_try_next(
        demo_run: tuple[Path, str]) -> None:
    folder, out = demo_run
    tail = out.rstrip("\n").splitlines()[-4:]
    config = folder / "settings.yaml"
    assert tail == [f"The demo database is sqlite:///{folder / 'demo.db'} (settings: {config})."
                    " Try next:",
                    f"  newsmon --config {config} search navy",
                    f"  newsmon --config {config} show 1",
                    f"  newsmon --config {config} sources"]
    assert (folder / "demo.db").is_file()
    for line in tail[1:]:  # ready to paste
        args = line.split()[1:]
        result = piped(*args)
        assert result.returncode == 0, (line, result.stderr)
        assert result.stdout.strip(), line
    sources = piped("--config", str(config), "sources", "-f", "json")
    assert sorted(s["name"] for s in json.loads(sources.stdout)) == DEMO_SOURCES
    # The global --database goes after the command name too.
    stats = piped("stats", "--database", f"sqlite:///{folder / 'demo.db'}", "-f", "json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)[0]["articles"] == 15
    missing = piped("--database", f"sqlite:///{folder / 'typo.db'}", "stats")
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[0] == (f"Error: no SQLite database at "
                                             f"{folder / 'typo.db'}: the file does not exist.")


def test_piped_tables_are_plain_aligned_text_with_full_values(demo_config: str) -> None:
    result = piped("runs", "--config", demo_config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Crawl runs (times in Asia/Kolkata)"
    assert lines[1].split() == ["id", "source", "started", "secs", "status", "reqs", "bytes",
                                "new", "upd", "same", "drop", "err", "blocked", "pend", "first",
                                "error"]
    rows = lines[2:]
    assert len(rows) == 6  # the demo's six sources, one line each
    assert not any(ch in result.stdout for ch in "│┃━…\x1b")
    sources = sorted(re.split(r"\s{2,}", row.strip())[1] for row in rows)
    assert sources == DEMO_SOURCES
    # Aligned: every row's status starts where the header's does.
    at = lines[1].index("status")
    assert all(row[at:].startswith("ok") for row in rows), result.stdout

    search = piped("search", "navy", "--config", demo_config)
    assert search.returncode == 0, search.stderr
    assert "**" not in search.stdout
    assert "Navy’s Project-75I submarine deal enters final cost talks with Konkan " \
           "Shipbuilders" in search.stdout  # the whole title
    data = json.loads(piped("search", "navy", "--config", demo_config, "-f", "json").stdout)
    assert any("**Navy**" in hit["snippet"] for hit in data)  # programs keep the markers


def test_at_80_columns_a_table_is_one_line_per_record_cut_with_ellipses(
        demo_config: str) -> None:
    code, out = in_terminal("search", "navy", "--config", demo_config)
    assert code == 0, out
    lines = out.splitlines()
    assert all(len(ANSI.sub("", line)) <= 80 for line in lines), out
    rows = [ANSI.sub("", line) for line in lines
            if re.match(r"^\s*(│\s*)?\d+\s{2,}", ANSI.sub("", line))]
    assert len(rows) == 2, out  # two hits, one line each
    assert all("…" in row for row in rows), out
    assert "**" not in out

    code, wide = in_terminal("search", "navy", "--config", demo_config, columns=250)
    assert code == 0, wide
    assert "**" not in wide
    assert re.search(r"\x1b\[1m(\x1b\[[0-9;]*m)*Navy\x1b\[0m", wide), wide  # bold match

    code, out = in_terminal("runs", "--config", demo_config)
    assert code == 0, out
    plain = [ANSI.sub("", line) for line in out.splitlines()]
    assert all(len(line) <= 80 for line in plain), out
    assert len([line for line in plain if re.match(r"^\s*\d+\s", line)]) == 6, out


def test_a_query_may_start_with_a_dash(demo_config: str) -> None:
    only = piped("search", "-navy", "--config", demo_config)
    assert only.returncode == 2
    assert only.stderr.strip() == ("Error: search query: a query cannot only exclude: add "
                                   "something to find, as in 'tariff -steel'")
    india = json.loads(piped("search", "india", "--config", demo_config, "-f", "json").stdout)
    steel = piped("search", "india", "-steel", "--config", demo_config, "-f", "json")
    assert steel.returncode == 0, steel.stderr
    without = json.loads(steel.stdout)
    assert without, "india -steel was read as a source filter"
    assert {h["id"] for h in without} < {h["id"] for h in india}
    assert not any("steel" in (h["title"] + h["snippet"]).lower() for h in without)
    # Options still work around the negation, and the limit is an option, not a word.
    mixed = piped("search", "defence", "-navy", "-n", "2", "--config", demo_config, "-f",
                  "json")
    assert mixed.returncode == 0, mixed.stderr
    assert len(json.loads(mixed.stdout)) == 2
    help_text = piped("search", "--help").stdout
    assert "A -word is always part of the query" in " ".join(help_text.split())


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "nosuch"], "Error: --source 'nosuch': no source of that name. Known: "
     "bharat-defence-wire, capitol-defense-daily, euro-security-review, global-trade-desk, "
     "indus-ledger, press-information-desk."),
    (["--source", "indus-ledgr"], "Error: --source 'indus-ledgr': no source of that name: "
     "did you mean 'indus-ledger'? Known: bharat-defence-wire, capitol-defense-daily, "
     "euro-security-review, global-trade-desk, indus-ledger, press-information-desk."),
    (["--topic", "sports"], "Error: --topic 'sports': no topic of that name. Known: defence, "
     "trade."),
    (["--topic", "defense"], "Error: --topic 'defense': no topic of that name: did you mean "
     "'defence'? Known: defence, trade."),
    (["--entity", "indai"], "Error: --entity 'indai': no entity of that name: did you mean "
     "'country:in' or 'country:cn'?"),
], ids=["source", "source-typo", "topic", "topic-typo", "entity-typo"])
def test_an_unknown_filter_value_exits_2_naming_the_known_ones(
        demo_config: str, args: list[str], message: str) -> None:
    result = piped("search", "navy", *args, "--config", demo_config)
    assert result.returncode == 2
    assert " ".join(result.stderr.split()) == message
    assert result.stdout == ""


def test_a_known_filter_value_still_filters(demo_config: str) -> None:
    result = piped("search", "navy", "--entity", "in", "--source", "bharat-defence-wire",
                   "--config", demo_config, "-f", "json")
    assert result.returncode == 0, result.stderr
    assert [h["source"] for h in json.loads(result.stdout)] == ["bharat-defence-wire"]


def test_small_things_a_newcomer_meets(demo_config: str) -> None:
    one = piped("search", "navy", "-n", "1", "--config", demo_config)
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines()[0] == "1 article for 'navy' (times in Asia/Kolkata)"
    nothing = piped("parse-time", "last Tuesday", "--now", "2026-11-25T12:00Z", "--tz", "UTC")
    assert nothing.returncode == 0
    assert nothing.stdout == "\n"  # one line per input, for scripts ...
    assert nothing.stderr.strip() == "no time found in 'last Tuesday'"  # ... and why


def test_new_mexico_is_not_mexico() -> None:
    from crawler.entities import extract_entities

    assert extract_entities("Tests at White Sands in New Mexico went well.") == []
    assert [e.id for e in extract_entities("Mexico and New Mexico")] == ["country:mx"]
