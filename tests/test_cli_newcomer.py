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
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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


def test_new_mexico_is_not_mexico() -> None:
    from crawler.entities import extract_entities

    assert extract_entities("Tests at White Sands in New Mexico went well.") == []
    assert [e.id for e in extract_entities("Mexico and New Mexico")] == ["country:mx"]


# -- issue 22, items 5 and 8: each through ``python -m newsmon`` as a child process, piped --------

def child(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsmon", *args], env=env(**extra),
                          capture_output=True, text=True, timeout=120)


def one_line(text: str) -> str:
    """Rich's error box, unboxed: its words on one line."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ")
                    .replace("─", " ").replace("╮", " ").replace("╯", " ").split())


def stored_by_title(config: str) -> dict[str, dict[str, object]]:
    exported = child("--config", config, "export")
    assert exported.returncode == 0, exported.stderr
    return {a["title"]: a for a in map(json.loads, exported.stdout.splitlines())}


def test_the_demo_sample_is_dated_relative_to_the_day_it_runs_and_credited_stably(
        demo_run: tuple[Path, str]) -> None:
    from crawler.sample_site import load_expected
    from crawler.sample_site.dates import FIXTURE_LATEST

    folder, _ = demo_run
    config = str(folder / "settings.yaml")
    stored = stored_by_title(config)
    expected = [e for e in load_expected("http://x") if not e["dropped"]]
    assert len(stored) == len(expected) == 15
    fixed = [e for e in expected if "published_utc" in e]
    assert max(datetime.fromisoformat(e["published_utc"]) for e in fixed) == FIXTURE_LATEST
    shifts = {datetime.fromisoformat(str(stored[e["title"]]["published_at"]))
              - datetime.fromisoformat(e["published_utc"]) for e in fixed}
    assert len(shifts) == 1, shifts  # every fixed date moved by the same whole days
    shift = shifts.pop()
    assert shift.days > 0 and shift == timedelta(days=shift.days)
    # As recent as it can be without a date ahead of the crawl: the latest is under a day old.
    age = datetime.now(UTC) - (FIXTURE_LATEST + shift)
    assert timedelta(0) <= age < timedelta(days=1, minutes=10), age
    for entry in expected:
        # Credited to the first source in the sources file that leads to it, every run.
        assert stored[entry["title"]]["source"] == entry["source"], entry
        published = datetime.fromisoformat(str(stored[entry["title"]]["published_at"]))
        assert published <= datetime.now(UTC), entry
        if "published_utc" not in entry:  # "2 hours ago": relative to the crawl already
            ago = datetime.now(UTC) - published
            assert abs(ago.total_seconds() - entry["published_ago_seconds"]) < 600, entry
    digest = child("--config", config, "digest", "-f", "json")
    assert digest.returncode == 0, digest.stderr
    doc = json.loads(digest.stdout)
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    assert doc["day"] == today.isoformat()
    local = ZoneInfo("Asia/Kolkata")
    today_titles = {e["title"] for e in expected if "published_utc" in e
                    and (datetime.fromisoformat(e["published_utc"]) + shift)
                    .astimezone(local).date() == today}
    # The latest (10:12 in India) is under a day old: today's once India's clock has passed it.
    assert today_titles or datetime.now(local).time() < time(10, 13)
    relative = {e["title"] for e in expected if "published_utc" not in e  # "2 hours ago"
                and datetime.fromisoformat(str(stored[e["title"]]["published_at"]))
                .astimezone(local).date() == today}
    listed = {s["title"] for sec in doc["sections"] for s in sec["stories"]}
    assert listed == today_titles | relative
    assert doc["totals"]["articles"] == len(today_titles | relative)


def test_sources_and_status_on_the_demo_database_show_its_sources(
        demo_run: tuple[Path, str]) -> None:
    folder, _ = demo_run
    database = f"sqlite:///{folder / 'demo.db'}"  # the default settings: 18+ real sources
    listed = child("--database", database, "sources", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == DEMO_SOURCES
    assert {(r["configured"], r["schedule"], r["last_status"]) for r in rows} == {
        (False, None, "ok")}
    assert [r["articles"] for r in rows] == [3, 2, 2, 3, 3, 2]
    table = child("--database", database, "sources")
    assert table.stdout.splitlines()[0] == (
        "Sources (times in Asia/Kolkata) - the sources this database records; none of them "
        "is in the sources file (give the settings that crawled it: --config) - no service "
        "running: next runs are as last scheduled")
    status = child("--database", database, "status")
    assert status.returncode == 3  # no service
    lines = status.stdout.splitlines()
    assert lines[:2] == [
        "not running: no newsmon service holds this database",
        "Sources (times in Asia/Kolkata) - the sources this database records; none of them "
        "is in the sources file (give the settings that crawled it: --config)"]
    assert sorted(line.split()[0] for line in lines[3:]) == DEMO_SOURCES


def test_status_says_since_when_in_the_zone_of_its_table(
        demo_run: tuple[Path, str], tmp_path: Path) -> None:
    import shutil

    from storage import Store
    from storage.scheduler_store import LockHolder, SchedulerStore

    folder, _ = demo_run
    db = tmp_path / "running.db"
    shutil.copy(folder / "demo.db", db)
    store = Store.from_url(f"sqlite:///{db}")
    try:
        assert SchedulerStore(store.engine).try_insert_lock(LockHolder(
            token="t", host="elsewhere.example", pid=4242,
            started_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
            heartbeat_at=datetime.now(UTC)))
    finally:
        store.close()
    status = child("--config", str(folder / "settings.yaml"), "--database", f"sqlite:///{db}",
                   "status")
    assert status.returncode == 0, status.stderr
    first, title = status.stdout.splitlines()[:2]
    assert re.fullmatch(r"running: pid 4242 on host elsewhere\.example, since 2026-12-03 "
                        r"13:30:00 Asia/Kolkata, heartbeat \d s ago", first), first
    assert title == "Sources (times in Asia/Kolkata)"


def test_db_upgrade_names_one_head(tmp_path: Path) -> None:
    from storage.migrate import HEAD

    result = child("--database", f"sqlite:///{tmp_path / 'new.db'}", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database at revision {HEAD} (heads: {HEAD})\n"


def test_a_mysql_url_is_refused_for_what_it_is() -> None:
    result = child("--database", "mysql://u@localhost/news", "sources")
    assert result.returncode == 2
    assert result.stderr == (
        "Error: database URL 'mysql://u@localhost/news': newsmon stores into SQLite "
        "(sqlite:///relative/path.db or sqlite:////absolute/path.db) or PostgreSQL "
        "(postgresql://user@host/db), not mysql\nFix database_url in the settings or "
        "$NEWSMON_DATABASE_URL.\n")
    assert "psycopg" not in result.stderr


@pytest.mark.parametrize(("command", "choices"), [
    ("search", "'table', 'json', 'csv', 'ndjson'"),
    ("digest", "'markdown', 'html', 'json', 'text'"),
])
def test_a_bad_format_says_so_plainly(command: str, choices: str) -> None:
    result = child(command, "--format", "xml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"Error Invalid value for '--format' / '-f': 'xml' is not one of {choices}." \
        in one_line(result.stderr)
    assert "Value error" not in result.stderr


def test_one_article_is_one_article(demo_run: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = demo_run
    config = str(folder / "settings.yaml")
    rows = [json.loads(line) for line in child("--config", config, "export").stdout.splitlines()]
    at = datetime.fromisoformat(next(r for r in rows if r["title"].startswith("India-US"))
                                ["published_at"])
    out = tmp_path / "one.jsonl"
    result = child("--config", config, "export", "--since",
                   (at - timedelta(seconds=1)).isoformat(), "--until",
                   (at + timedelta(seconds=1)).isoformat(), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"1 article written to {out}\n"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_the_markdown_digest_keeps_parentheses(demo_run: tuple[Path, str]) -> None:
    folder, _ = demo_run
    navy = stored_by_title(str(folder / "settings.yaml"))[
        "Navy’s Project-75I submarine deal enters final cost talks with Konkan Shipbuilders"]
    day = datetime.fromisoformat(str(navy["published_at"])).astimezone(
        ZoneInfo("Asia/Kolkata")).date()  # the Navy story's day
    result = child("--config", str(folder / "settings.yaml"), "digest", "--date",
                   day.isoformat())
    assert result.returncode == 0, result.stderr
    assert "independent propulsion (AIP) submarines" in result.stdout
    assert "\\(AIP\\)" not in result.stdout


def test_parse_time_never_prints_an_empty_line_for_an_argument() -> None:
    result = child("parse-time", "last Tuesday", "--now", "2026-11-25T12:00Z", "--tz", "UTC")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "could not read a time in 'last Tuesday'\n"
    both = child("parse-time", "2h", "last Tuesday", "--now", "2026-11-25T12:00Z", "--tz", "UTC")
    assert both.returncode == 1
    assert both.stdout == "2026-11-25T10:00:00+00:00\n"


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["run", "--help"],
                                  ["crawl", "--help"]])
def test_help_shows_no_type_beside_flags(args: list[str]) -> None:
    result = child(*args, COLUMNS="100")
    assert result.returncode == 0, result.stderr
    assert "<bool>" not in result.stdout
    rows = {one_line(line).split()[0]: one_line(line) for line in result.stdout.splitlines()
            if line.startswith("│ -")}
    assert rows["--help"] == "--help Show this message and exit."
    if args[0] == "crawl":  # a counter takes no value either
        assert rows["--verbose"] == "--verbose -v More log output (-v info, -vv debug)."
        assert rows["--source"].startswith("--source -s <list[str]> Crawl only")
    if args[0] == "search":  # an option that takes a value still says which
        assert rows["--limit"].startswith("--limit -n <int range> [1<=x<=10000]")


def test_the_demo_s_watchlists_have_hits_and_send_nothing(demo_config: str) -> None:
    """The demo carries two watchlists, so `watch list` (and the web app's Watchlists page)
    show what alerts look like on its sample; no notify target, so no delivery."""
    result = child("--config", demo_config, "watch", "list", "-f", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"navy-deals", "tariffs"}
    assert all(r["week"] >= 1 and r["last_delivery"] is None and r["pending"] == 0
               for r in rows.values()), rows
    deliveries = child("--config", demo_config, "alerts", "-f", "json")
    assert deliveries.returncode == 0, deliveries.stderr
    assert json.loads(deliveries.stdout) == []  # nothing to send, nothing sent
