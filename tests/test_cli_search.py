"""newsmon search, show, stats and export, run in-process on SQLite and PostgreSQL: exact
JSON/CSV output, exact error texts and exit statuses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from newsfactory import Newsroom, open_newsroom
from typer.testing import CliRunner, Result

from newsmon import cli
from newsmon.app import app

cli._load_commands()
IST = ZoneInfo("Asia/Kolkata")
NOW = datetime.now(IST).replace(microsecond=0)


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                    "default_timezone": "Asia/Kolkata", "sources": []}))
    return path


def run(config: Path, command: str, *args: str) -> Result:
    return CliRunner().invoke(app, [command, "--config", str(config), *args])


@pytest.fixture
def news(room: Newsroom) -> dict[str, int]:
    (a,) = room.add(
        room.article("India signs Rafale Marine deal", source="hindu", at=NOW,
                     topics={"defence": 9}, story="r", entities={"country:fr": 2},
                     highlights=["26 jets for the Navy"]))
    b, c, d = room.add(
        room.article("India signs Rafale Marine deal", source="pib",
                     at=NOW + timedelta(minutes=1), topics={"defence": 9}),
        room.article("Steel tariffs rise again", source="reuters", at=NOW - timedelta(days=3),
                     topics={"trade": 8}, entities={"country:us": 1},
                     body="Tariffs on steel rose. Mills protested."),
        room.article("Cricket final tonight", source="hindu", at=NOW - timedelta(hours=2),
                     topics={}),
    )
    return {"rafale": a, "copy": b, "steel": c, "cricket": d}


def test_search_json(config: Path, news: dict[str, int]) -> None:
    result = run(config, "search", "rafale", "--format", "json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == [news["copy"], news["rafale"]] or [
        h["id"] for h in hits] == [news["rafale"], news["copy"]]
    first = next(h for h in hits if h["id"] == news["rafale"])
    assert first["source"] == "hindu"
    assert first["primary_topic"] == "defence"
    assert first["story_id"] == next(h for h in hits if h["id"] == news["copy"])["story_id"]
    assert "**Rafale**" in first["snippet"]
    assert first["url"] == "https://hindu.example.com/news/1"
    assert set(first) == {"id", "dated_at", "source", "primary_topic", "story_id", "title",
                          "snippet", "url", "published_at", "rank"}


def test_search_filters_and_formats(config: Path, news: dict[str, int]) -> None:
    def found(*args: str) -> list[int]:
        result = run(config, "search", *args, "--format", "ndjson")
        assert result.exit_code == 0, result.output
        return [json.loads(line)["id"] for line in result.stdout.splitlines()]

    assert found("--topic", "trade") == [news["steel"]]
    assert found("--source", "hindu", "--sort", "date") == [news["rafale"], news["cricket"]]
    assert found("--entity", "us") == [news["steel"]]
    assert found("--since", "24h", "--sort", "date") == [news["copy"], news["rafale"],
                                                          news["cricket"]]
    assert found("--until", "2d") == [news["steel"]]
    assert found("india -steel", "--limit", "1") in ([news["rafale"]], [news["copy"]])
    assert found('"marine deal"', "--source", "pib") == [news["copy"]]
    assert found("steel", "tariffs") == [news["steel"]]  # words as separate arguments
    story = run(config, "search", "rafale", "-f", "json")
    story_id = json.loads(story.stdout)[0]["story_id"]
    assert sorted(found("--story", str(story_id))) == [news["rafale"], news["copy"]]
    result = run(config, "search", "tariffs", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["title"] for r in rows] == ["Steel tariffs rise again"]
    table = run(config, "search", "tariffs")
    assert table.exit_code == 0
    assert "Steel tariffs" in table.stdout
    nothing = run(config, "search", "submarine")
    assert nothing.stdout == "no articles match\n"


@pytest.mark.parametrize(("args", "message"), [
    (["search", '"free trade'],
     'Error: search query: unterminated phrase: add the closing " (at character 1)'),
    (["search", "tariff OR"],
     "Error: search query: 'OR' needs something to find on both sides, as in 'tariff OR duty' "
     "(at character 8)"),
    (["search", "--", "-steel"],
     "Error: search query: a query cannot only exclude: add something to find, as in "
     "'tariff -steel'"),
    (["search", "&&"],
     "Error: search query: nothing to search for; give a word, or leave the query out to list "
     "the newest articles"),
    (["search", "--since", "last week"],
     "Error: --since: 'last week' is not a time: use a span such as 30m, 24h, 7d or 2w, today, "
     "yesterday, a date such as 2026-11-25, or an ISO time such as 2026-11-25T09:00+05:30"),
    (["search", "--since", "1d", "--until", "2d"], "Error: --since must be before --until"),
    (["stats", "--until", "tomorrowish"],
     "Error: --until: 'tomorrowish' is not a time: use a span such as 30m, 24h, 7d or 2w, "
     "today, yesterday, a date such as 2026-11-25, or an ISO time such as "
     "2026-11-25T09:00+05:30"),
    (["show", "not-a-url"], "Error: 'not-a-url' is neither an article id nor an http(s) URL"),
])
def test_usage_errors(config: Path, args: list[str], message: str) -> None:
    result = run(config, *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_show_by_id_and_url(config: Path, news: dict[str, int]) -> None:
    result = run(config, "show", str(news["rafale"]), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["title"] == "India signs Rafale Marine deal"
    assert data["entities"] == {"country:fr": 2}
    assert data["topics"] == {"defence": 9.0}
    assert data["story"]["article_count"] == 2
    assert [s["id"] for s in data["siblings"]] == [news["copy"]]
    assert data["siblings"][0]["duplicate_of_id"] == news["rafale"]
    by_url = run(config, "show", "https://www.pib.example.com/news/2/?utm_source=x", "-f",
                 "json")
    assert json.loads(by_url.stdout)["id"] == news["copy"]
    table = run(config, "show", str(news["rafale"]))
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0] == "India signs Rafale Marine deal"
    assert "• 26 jets for the Navy" in lines
    assert "story: #" in table.stdout and "2 articles from 2 sources" in table.stdout
    assert "Also in story" in table.stdout


def test_show_unknown(config: Path, news: dict[str, int]) -> None:
    result = run(config, "show", "999999")
    assert (result.exit_code, result.stderr) == (1, "Error: no article with id 999999\n")
    result = run(config, "show", "https://nowhere.example.com/x")
    assert (result.exit_code, result.stderr) == (
        1, "Error: no article known under https://nowhere.example.com/x\n")


def test_stats(config: Path, news: dict[str, int]) -> None:
    def rows(*args: str) -> list[dict[str, object]]:
        result = run(config, "stats", *args, "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    (total,) = rows()
    assert {k: total[k] for k in ("articles", "stories", "sources", "on_topic", "off_topic")
            } == {"articles": 4, "stories": 3, "sources": 3, "on_topic": 3, "off_topic": 1}
    assert [(r["source"], r["articles"]) for r in rows("--by", "source")] == [
        ("hindu", 2), ("pib", 1), ("reuters", 1)]
    assert rows("--by", "topic") == [
        {"topic": "defence", "articles": 2, "primary": 2},
        {"topic": "trade", "articles": 1, "primary": 1},
        {"topic": "(off-topic)", "articles": 0, "primary": 1}]
    by_day = rows("--by", "day")
    assert sum(int(r["articles"]) for r in by_day) == 4  # type: ignore[call-overload]
    assert by_day[-1]["day"] == (NOW - timedelta(days=3)).date().isoformat()
    (recent,) = rows("--since", "1d")
    assert recent["articles"] == 3
    table = run(config, "stats")
    assert "articles" in table.stdout and "failed runs" in table.stdout


def test_export(config: Path, news: dict[str, int], tmp_path: Path) -> None:
    result = run(config, "export")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == sorted(news.values())
    first = rows[0]
    assert first["title"] == "India signs Rafale Marine deal"
    assert first["highlights"] == ["26 jets for the Navy"]
    assert first["topics"] == {"defence": 9.0}
    assert first["entities"] == {"country:fr": 2}
    assert first["published_at"].endswith("Z")
    since = run(config, "export", "--since", "1d")
    assert len(since.stdout.splitlines()) == 3
    out = tmp_path / "all.csv"
    written = run(config, "export", "--format", "csv", "--out", str(out))
    assert written.exit_code == 0
    assert written.stderr == f"4 articles written to {out}\n"
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(table) == 4
    assert json.loads(table[0]["highlights"]) == ["26 jets for the Navy"]
    assert table[3]["primary_topic"] == ""
