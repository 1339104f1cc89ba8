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
