"""Hostile search input through ``newsmon search`` on SQLite (FTS5) and PostgreSQL (tsquery):
SQL and FTS syntax is searched for as words or refused with a clear message (exit 2); no
query changes the database or ends in a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect
from typer.testing import CliRunner

from faults.harness import throwaway_pg
from newsmon import cli
from newsmon.app import app
from storage import ArticleRecord, Store

NAVY = "Navy orders two survey ships for the eastern coast"
STEEL = "Steel tariffs rise again as mills protest"


@dataclass(frozen=True)
class SearchCase:
    id: str
    fault: str
    args: tuple[str, ...]
    titles: tuple[str, ...] = ()  # exit 0: the titles found
    error: str = ""  # exit 2: stderr, exactly


CASES = [
    SearchCase("sql-drop", "SQL injection: '; DROP TABLE articles; --",
               ("'; DROP TABLE articles; --",)),
    SearchCase("sql-tautology", "SQL tautology: navy' OR '1'='1", ("navy' OR '1'='1",),
               titles=(NAVY,)),
    SearchCase("unbalanced-double", 'an unbalanced double quote: "navy ships',
               ('"navy ships',), error='Error: search query: unterminated phrase: add the '
               'closing " (at character 1)'),
    SearchCase("unbalanced-single", "an unbalanced single quote: navy'", ("navy'",),
               titles=(NAVY,)),
    SearchCase("near-open", "FTS5 NEAR( left open: NEAR(navy ships", ("NEAR(navy ships",),
               error="Error: search query: unmatched '(': add the closing ')' (at character "
               "5)"),
    SearchCase("near-group", "FTS5 NEAR(steel ships): the words near, steel and ships, "
               "which no article has together", ("NEAR(steel ships)",)),
    SearchCase("near-found", "FTS5 NEAR(navy ships) where 'near' is in the text",
               ("NEAR(ships eastern)",), titles=(NAVY,)),
    SearchCase("fts-column", "FTS5 column filter title:navy and boost navy^2",
               ("title:navy navy^2",)),
    SearchCase("unmatched-close", "an unmatched ')': navy)", ("navy)",),
               error="Error: search query: unmatched ')': remove it or add a '(' before it "
               "(at character 5)"),
    SearchCase("dangling-or", "a dangling operator: navy OR", ("navy OR",),
               error="Error: search query: 'OR' needs something to find on both sides, as "
               "in 'tariff OR duty' (at character 6)"),
    SearchCase("only-exclude", "only an exclusion: -- -navy", ("--", "-navy"),
               error="Error: search query: a query cannot only exclude: add something to "
               "find, as in 'tariff -steel'"),
    SearchCase("bare-star", "a bare wildcard: *", ("*",),
               error="Error: search query: '*': '*' only goes at the end of a word of letters "
               "and digits, as in 'missil*' (at character 1)"),
    SearchCase("like-wildcards", "LIKE wildcards and a backslash only: % _ \\", ("% _ \\",),
               error="Error: search query: nothing to search for; give a word, or leave the "
               "query out to list the newest articles"),
    SearchCase("control-chars", "NUL and right-to-left override around a word",
               ("\x00navy\u202e",), titles=(NAVY,)),
    SearchCase("huge", "a 10,000-character query", ("x" * 10_000,)),
]


def _article(n: int, title: str, body: str) -> ArticleRecord:
    now = datetime.now(UTC)
    return ArticleRecord(url_key=f"example.com/news/{n}", canonical_url=f"https://example.com/"
                         f"news/{n}", url=f"https://example.com/news/{n}", source="wire",
                         title=title, body=body, fetched_at=now, published_at=now)


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A settings file per back-end, each database holding the same two articles."""
    folder = tmp_path_factory.mktemp("search")
    urls = {"SQLite": f"sqlite:///{folder / 'newsmon.db'}"}
    pg = throwaway_pg()
    try:
        urls["PostgreSQL"] = next(pg)
    except pytest.skip.Exception:
        pass
    out = {}
    for name, url in urls.items():
        store = Store.from_url(url)
        store.upsert_articles([
            _article(1, NAVY, "The navy ordered two survey ships for the eastern coast, near the "
                     "delta. " * 4),
            _article(2, STEEL, "Tariffs on steel rose; a story about SQL quoted DROP TABLE. "
                     * 3)])
        store.close()
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"database_url": url, "data_dir": str(folder),
                                        "sources": []}))
        out[name] = path
    cli._load_commands()
    yield out
    pg.close()


def _state(config: Path) -> tuple[list[str], int]:
    url = yaml.safe_load(config.read_text())["database_url"]
    store = Store.from_url(url)
    try:
        return sorted(inspect(store.engine).get_table_names()), store.count_articles()
    finally:
        store.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_search(case: SearchCase, configs: dict[str, Path],
                        record: Callable[..., None]) -> None:
    for backend, config in configs.items():
        before = _state(config)
        got = CliRunner().invoke(app, ["search", "--config", str(config), "--format", "json",
                                       *case.args])
        assert "Traceback" not in got.output, (backend, got.output)
        if case.error:
            assert (got.exit_code, got.stderr.strip(), got.stdout) == (2, case.error, ""), \
                backend
        else:
            assert got.exit_code == 0, (backend, got.output)
            found = tuple(sorted(r["title"] for r in json.loads(got.stdout)))
            assert found == tuple(sorted(case.titles)), backend
        assert _state(config) == before, f"{backend}: the database changed"
    outcome = ("exit 2, clear message; database untouched" if case.error else
               f"searched as plain words: {len(case.titles)} found; database untouched")
    record("search", f"{case.fault} ({', '.join(configs)})", outcome,
           first_error=case.error.removeprefix("Error: "))
