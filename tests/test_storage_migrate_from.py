"""newsmon db migrate-from: a SQLite database made by a real crawl of the sample site, copied
into an empty database (PostgreSQL, and SQLite for the generic path), compared table by table,
then searched and shown on the target through the CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import yaml
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from config import Settings
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from newsmon.app import app
from newsmon.cli import _load_commands as load_commands
from storage import ArticleRecord, Store
from storage.migrate_from import tables
from storage.models import Article
from storage.scheduler_store import LockHolder, SchedulerStore


@pytest_twisted.async_yield_fixture
async def crawled(tmp_path: Path, site: SampleSite,
                  make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    """The URL of a SQLite database holding a real crawl of the whole sample site."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    store = Store.from_url(url)
    settings = make_settings(url)
    await crawl_async(settings, settings.enabled_sources(), store=store)
    sched = SchedulerStore(store.engine)
    sched.save_schedule("bharat-defence-wire", "interval:900:0", "every 15m",
                        datetime(2026, 11, 25, 12, tzinfo=UTC))
    with store.engine.begin() as conn:  # a copy that points at a later row: order-proof
        ids = sorted(conn.execute(select(Article.id)).scalars())
        conn.execute(update(Article).where(Article.id == ids[0]).values(
            duplicate_of_id=ids[-1]))
    store.close()
    yield url


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every copied table's rows, in primary-key order."""
    store = Store.from_url(url, migrate=False)
    try:
        with store.engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(
                select(t).order_by(*t.primary_key.columns))] for t in tables()}
    finally:
        store.close()


def cli(*args: str) -> Result:
    load_commands()
    return CliRunner().invoke(app, list(args))


def config_for(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "target-settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": url, "data_dir": str(tmp_path),
                                    "sources": []}))
    return path


def test_copy_keeps_every_row_and_the_target_works(
    crawled: str, db_url: str, tmp_path: Path
) -> None:
    config = config_for(tmp_path, db_url)
    before = dump(crawled)
    assert before["articles"] and before["stories"] and before["crawl_runs"]
    assert before["article_bands"] and before["article_term_pairs"] and before["source_state"]

    result = cli("db", "migrate-from", crawled, db_url, "--config", str(config),
                 "--batch-size", "7")
    assert result.exit_code == 0, result.output
    assert f"copied {sum(len(v) for v in before.values()):,} rows" in result.stdout
    assert dump(db_url) == before

    # Searchable and showable on the target at once (PostgreSQL: generated tsvector; SQLite:
    # FTS5 triggers).
    hits = json.loads(cli("search", "submarine", "--config", str(config), "-f", "json").stdout)
    assert hits and any("submarine" in h["title"].lower() for h in hits)
    shown = cli("show", str(hits[0]["id"]), "--config", str(config), "-f", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["title"] == hits[0]["title"]

    # The sequences moved past the copied ids: new rows do not collide.
    store = Store.from_url(db_url)
    try:
        top = max(a["id"] for a in before["articles"])
        rec = ArticleRecord(url_key="example.org/new", canonical_url="https://example.org/new",
                            url="https://example.org/new", source="bharat-defence-wire",
                            title="A new article after the move", body="Body text. " * 30,
                            fetched_at=datetime.now(UTC))
        store.upsert_articles([rec])
        assert store.article_by_url("example.org/new").id == top + 1  # type: ignore[union-attr]
        assert store.start_run("x") == max(r["id"] for r in before["crawl_runs"]) + 1
    finally:
        store.close()


def test_a_target_with_data_is_refused_unless_forced(
    crawled: str, db_url: str, tmp_path: Path
) -> None:
    config = config_for(tmp_path, db_url)
    assert cli("db", "migrate-from", crawled, "--config", str(config)).exit_code == 0
    again = cli("db", "migrate-from", crawled, "--config", str(config))
    assert again.exit_code == 1
    held = ", ".join(f"{len(rows):,} {name}" for name, rows in dump(crawled).items() if rows)
    assert " ".join(again.stderr.split()) == (
        f"Error: the target database is not empty ({held}); pass --force to empty it first, "
        "or give an empty database")

    forced = cli("db", "migrate-from", crawled, "--config", str(config), "--force")
    assert forced.exit_code == 0, forced.output
    assert dump(db_url) == dump(crawled)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refusals_say_what_to_fix(crawled: str, db_url: str, tmp_path: Path) -> None:
    config = config_for(tmp_path, db_url)
    missing = cli("db", "migrate-from", f"sqlite:///{tmp_path / 'nope.db'}", db_url,
                  "--config", str(config))
    assert missing.exit_code == 2
    assert " ".join(missing.stderr.split()) == (
        f"Error: no SQLite database file at {tmp_path / 'nope.db'}: give the path of the "
        "file to copy, e.g. sqlite:///data/newsmon.db")

    same = cli("db", "migrate-from", db_url, "--config", str(config))
    assert same.exit_code == 2
    assert " ".join(same.stderr.split()) == (
        "Error: the source and the target are the same database; give the target's URL as "
        "the second argument or in database_url")

    now = datetime.now(UTC)
    store = Store.from_url(crawled)
    SchedulerStore(store.engine).try_insert_lock(LockHolder("t", "somehost", 4242, now, now))
    store.close()
    live = cli("db", "migrate-from", crawled, db_url, "--config", str(config))
    assert live.exit_code == 1
    assert " ".join(live.stderr.split()) == (
        "Error: a newsmon service (pid 4242 on host somehost) is running on the source "
        "database; stop it first, so that nothing changes while the data is copied")
