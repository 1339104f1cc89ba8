"""newsmon show lists an article's versions with their status and reason, on SQLite and
PostgreSQL; JSON output carries each version's text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from newsmon import cli
from newsmon.app import app
from storage import ArticleRecord, Outcome, Store

cli._load_commands()
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BODY = ("The Navy inducted twelve coastal surveillance radars along the western seaboard on "
        "Tuesday, officials said, extending a chain of stations along the coast. ") * 4


def _record(**kw: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url_key": "example.com/news/radars", "canonical_url": "https://example.com/news/radars",
        "url": "https://example.com/news/radars", "source": "wire",
        "title": "Navy inducts coastal radars", "body": BODY, "fetched_at": T0,
    }
    values.update(kw)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def test_show_lists_versions_with_status_and_reason(db_url: str, tmp_path: Path) -> None:
    store = Store.from_url(db_url)
    try:
        assert store.upsert_articles([_record()]) == [Outcome.NEW]
        wall = _record(title="Access Denied", body="You don't have permission.", refetch=True,
                       wall="Akamai access denied: 'reference #18.9c3e1402'",
                       fetched_at=T0 + timedelta(hours=1))
        assert store.upsert_articles([wall]) == [Outcome.REJECTED]
        (art,) = store.articles()
    finally:
        store.close()
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                      "default_timezone": "UTC", "sources": []}))
    table = CliRunner().invoke(app, ["show", str(art.id), "--config", str(config)],
                               env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0] == "Navy inducts coastal radars"
    rows = [line for line in table.stdout.splitlines() if "accepted" in line
            or "rejected" in line]
    assert len(rows) == 2
    assert "accepted" in rows[0] and "Navy inducts coastal radars" in rows[0]
    assert "rejected" in rows[1] and "Akamai access denied" in rows[1]
    data = json.loads(CliRunner().invoke(
        app, ["show", str(art.id), "--config", str(config), "--format", "json"]).stdout)
    assert [(v["status"], v["reason"], v["title"], v["body"]) for v in data["versions"]] == [
        ("accepted", None, "Navy inducts coastal radars", BODY),
        ("rejected", "wall: Akamai access denied: 'reference #18.9c3e1402'", "Access Denied",
         "You don't have permission.")]


def _revised_article(db_url: str, tmp_path: Path) -> tuple[int, list[int], Path]:
    """An article stored, re-fetched worse (rejected), then revised with a corrected figure."""
    store = Store.from_url(db_url)
    try:
        assert store.upsert_articles([_record()]) == [Outcome.NEW]
        stub = _record(body="Subscribe to read.", refetch=True, fetched_at=T0 + timedelta(hours=1))
        assert store.upsert_articles([stub]) == [Outcome.REJECTED]
        fixed = _record(body=BODY.replace("twelve coastal", "14 coastal", 1), refetch=True,
                        title="Navy inducts 14 coastal radars",
                        fetched_at=T0 + timedelta(hours=2))
        assert store.upsert_articles([fixed]) == [Outcome.UPDATED]
        (art,) = store.articles()
        from storage.queries import article_versions

        ids = [v.id for v in article_versions(store, art.id)]
    finally:
        store.close()
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                      "default_timezone": "UTC", "sources": []}))
    return art.id, ids, config


def test_diff_shows_the_last_revision_word_by_word(db_url: str, tmp_path: Path) -> None:
    aid, (first, rejected, revised), config = _revised_article(db_url, tmp_path)
    res = CliRunner().invoke(app, ["show", str(aid), "--diff", "--config", str(config)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "Navy inducts 14 coastal radars"
    # The last accepted version against the accepted one before it: the rejected stub is
    # not a revision.
    assert lines[1].startswith(f"version {first} (accepted, fetched 2026-11-25 09:00 UTC) → "
                               f"version {revised} (accepted, fetched 2026-11-25 11:00 UTC)")
    assert lines[2] == ("change: figure added: 14; headline now “Navy inducts 14 coastal "
                        "radars”")
    assert "headline: Navy inducts {+14 +} coastal radars" in res.stdout
    assert "inducted [-twelve -] {+14 +} coastal surveillance" in res.stdout
    assert "…" in res.stdout  # the unchanged rest is cut


def test_diff_between_chosen_versions_and_bad_choices(db_url: str, tmp_path: Path) -> None:
    aid, (first, rejected, revised), config = _revised_article(db_url, tmp_path)
    res = CliRunner().invoke(app, ["show", str(aid), "--diff", str(first), str(rejected),
                                   "--config", str(config)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert f"version {first} (accepted" in res.stdout
    assert f"version {rejected} (rejected" in res.stdout
    assert "{+Subscribe to read. +}" in res.stdout
    bad = CliRunner().invoke(app, ["show", str(aid), "--diff", "999999", "--config",
                                   str(config)])
    assert bad.exit_code == 2
    assert (f"article {aid} has no version 999999; its versions are {first}, {rejected}, "
            f"{revised}") in bad.output
    loose = CliRunner().invoke(app, ["show", str(aid), str(first), "--config", str(config)])
    assert loose.exit_code == 2
    assert "version ids go with --diff" in loose.output
    listed = CliRunner().invoke(app, ["show", str(aid), "--versions", "--config",
                                      str(config)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert sum(1 for line in listed.stdout.splitlines() if "accepted" in line) == 2
    assert "Subscribe" not in listed.stdout  # versions only, no body


def test_one_version_has_nothing_to_compare(db_url: str, tmp_path: Path) -> None:
    store = Store.from_url(db_url)
    try:
        store.upsert_articles([_record()])
        (art,) = store.articles()
    finally:
        store.close()
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                      "default_timezone": "UTC", "sources": []}))
    res = CliRunner().invoke(app, ["show", str(art.id), "--diff", "--config", str(config)])
    assert res.exit_code == 0, res.output
    assert f"Article {art.id} has one version: nothing to compare." in res.stdout
