"""newsmon show --story prints a story's timeline (first report, pickups and lags, copies
apart from reports written independently, revisions, the reason of each link), and newsmon
show prints why an article was linked; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from sqlalchemy import text
from test_storage_story_keys import GRSE, INSIDE, NAVY, rec
from typer.testing import CliRunner

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from newsmon import cli
from newsmon.app import app
from storage import Store

cli._load_commands()


def _config(tmp_path: Path, db_url: str) -> str:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url, "data_dir": str(tmp_path),
                                      "default_timezone": "UTC", "sources": []}))
    return str(config)


def test_show_story_prints_the_timeline(db_url: str, tmp_path: Path) -> None:
    navy = rec("a.example/navy", "Navy signs ₹36,000-crore contract for six next-generation "
               "corvettes", NAVY, "harbour")
    copy = rec("b.example/navy-copy", "Navy inks corvette contract", NAVY + " (Agencies)",
               "wire", hours=1)
    inside = rec("c.example/inside", "Six warships, one shipyard: inside the Navy's biggest "
                 "surface order in a decade", INSIDE, "desk", hours=3)
    grse = rec("d.example/grse", "Garden Reach to build NGC fleet as defence ministry inks "
               "deal", GRSE, "markets", hours=5.5)
    revised = rec("d.example/grse", "Garden Reach to build NGC fleet as defence ministry inks "
                  "deal", GRSE + " The stock closed 4% higher.", "markets", hours=7)
    revised.published_at = grse.published_at
    store = Store.from_url(db_url)
    try:
        matcher = SimilarityMatcher(Gazetteer.load())
        for batch in ([navy], [copy], [inside], [grse], [revised]):
            store.upsert_articles(batch, matcher)
        with store.engine.connect() as conn:
            (story_id,) = conn.execute(text(
                "SELECT DISTINCT story_id FROM articles")).scalars().all()
            view = conn.execute(text("SELECT sources, article_count FROM stories_view")).one()
        (first,) = [a.id for a in store.articles() if a.url_key == "a.example/navy"]
        (linked,) = [a.id for a in store.articles() if a.url_key == "c.example/inside"]
    finally:
        store.close()
    assert tuple(view) == ("desk,harbour,markets,wire", 4)
    config = _config(tmp_path, db_url)
    table = CliRunner().invoke(app, ["show", "--story", str(story_id), "--config", config],
                               env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    out = table.stdout.splitlines()
    assert out[0] == f"Story #{story_id}: {navy.title}"
    assert out[1] == ("4 articles from 4 sources: 3 written apart, 1 copy; first report "
                      "2026-11-24 09:00 UTC, last 2026-11-24 14:30 UTC")
    # Piped, the timeline is plain text: columns apart by two or more spaces.
    fields = {f[3]: f for f in (re.split(r"\s{2,}", line.strip()) for line in out)
              if len(f) == 8 and f[0].isdigit()}
    rows = {name: "  ".join(f) for name, f in fields.items()}
    assert fields["harbour"][0] == str(first)
    assert "first" in rows["harbour"] and "0:00" in rows["harbour"]
    assert "copy" in rows["wire"] and "1:00" in rows["wire"] and "copy: J=" in rows["wire"]
    assert "report" in rows["desk"] and "3:00" in rows["desk"] and "shared:" in rows["desk"]
    assert fields["markets"][2] == "5:30" and fields["markets"][5] == "1"
    assert "Pickup by source" in table.stdout

    data = json.loads(CliRunner().invoke(
        app, ["show", "--story", str(story_id), "--config", config, "--format", "json"]).stdout)
    assert (data["copies"], data["independent"]) == (1, 3)
    assert data["first_report_at"] == "2026-11-24T09:00:00Z"
    assert [(e["source"], e["kind"], e["lag_seconds"], e["revisions"]) for e in
            data["entries"]] == [("harbour", "first", 0, 0), ("wire", "copy", 3600, 0),
                                 ("desk", "report", 3 * 3600, 0),
                                 ("markets", "report", int(5.5 * 3600), 1)]
    assert [(p["source"], p["lag_seconds"]) for p in data["pickups"]] == [
        ("harbour", 0), ("wire", 3600), ("desk", 3 * 3600), ("markets", int(5.5 * 3600))]
    assert data["entries"][0]["reason"] is None
    assert data["entries"][2]["reason"].startswith("shared: ")

    one = CliRunner().invoke(app, ["show", str(linked), "--config", config],
                             env={"COLUMNS": "250"})
    assert one.exit_code == 0, one.output
    assert any(line.startswith(f"linked: to #{first}, shared: ")
               for line in one.stdout.splitlines())


def test_show_story_errors(db_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path, db_url)
    Store.from_url(db_url).close()
    missing = CliRunner().invoke(app, ["show", "--story", "999", "--config", config])
    assert missing.exit_code == 1
    assert "no story with id 999" in missing.stderr
    both = CliRunner().invoke(app, ["show", "1", "--story", "1", "--config", config])
    assert both.exit_code == 2
    assert "give an article id or URL, or --story ID (not both)" in both.stderr


