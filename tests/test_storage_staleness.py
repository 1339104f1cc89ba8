"""Stale sources (storage/staleness.py): runs that succeed while nothing new is stored, judged
against the source's own usual gap; shown by `sources`, `status` and the digest header. On
SQLite and PostgreSQL; one test through two real crawls of the sample site."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_twisted
import yaml
from typer.testing import CliRunner

from config import Settings, load_settings
from crawler.runner import crawl_async
from crawler.sample_site import SampleSite
from digest import build_digest, render
from newsmon.app import app
from newsmon.cli import _load_commands
from storage import RunStats, Store
from storage.staleness import stale_sources, staleness, staleness_of

NOW = datetime.now(UTC).replace(microsecond=0)


def run(store: Store, source: str, at: datetime, new: int, status: str = "ok") -> None:
    run_id = store.start_run(source, started_at=at)
    store.finish_run(run_id, status, RunStats(requests=2, new=new))


def history(store: Store, source: str, every: timedelta, storing: int, quiet: timedelta,
            runs_while_quiet: int = 4) -> None:
    """``storing`` runs ``every`` apart that stored something, the last one ``quiet`` ago,
    then ``runs_while_quiet`` successful runs that stored nothing."""
    last_new = NOW - quiet
    for i in range(storing):
        run(store, source, last_new - every * (storing - 1 - i), new=3)
    for i in range(1, runs_while_quiet + 1):
        run(store, source, last_new + quiet * i / (runs_while_quiet + 1), new=0)


def test_the_usual_gap_is_learned_and_the_floor_holds(store: Store) -> None:
    # Usually every 6 h; quiet for 30 h: more than 4 x 6 h.
    history(store, "hourly", timedelta(hours=6), storing=6, quiet=timedelta(hours=30))
    found = staleness(store.engine, "hourly", factor=4, floor=timedelta(hours=1), now=NOW)
    assert found is not None and found.stale
    assert found.usual_gap == timedelta(hours=6)
    assert found.threshold == timedelta(hours=24)
    assert found.quiet_since == NOW - timedelta(hours=30)
    assert "nothing new for 1.2d (usually every 6h; stale after 1d)" == found.describe(NOW)
    # The floor wins over k x gap.
    assert not staleness(store.engine, "hourly", factor=4, floor=timedelta(days=2),
                         now=NOW).stale  # type: ignore[union-attr]
    # Seen 10 hours earlier, it was not stale yet (runs after `now` are not looked at).
    earlier = staleness(store.engine, "hourly", factor=4, floor=timedelta(hours=1),
                        now=NOW - timedelta(hours=10))
    assert earlier is not None and not earlier.stale

    # Weekly: quiet for 30 h is normal.
    history(store, "weekly", timedelta(days=7), storing=4, quiet=timedelta(hours=30))
    weekly = staleness(store.engine, "weekly", factor=4, floor=timedelta(hours=1), now=NOW)
    assert weekly is not None and not weekly.stale and weekly.usual_gap == timedelta(days=7)


def test_failing_new_and_silent_sources(store: Store) -> None:
    # A failing source is failing, not stale.
    history(store, "broken", timedelta(hours=1), storing=5, quiet=timedelta(days=5))
    run(store, "broken", NOW - timedelta(minutes=5), new=0, status="failed")
    assert staleness(store.engine, "broken", factor=4, floor=timedelta(days=2), now=NOW) is None
    # Never ran: nothing to say.
    assert staleness(store.engine, "nobody", factor=4, floor=timedelta(days=2), now=NOW) is None
    # Succeeded for three days and never stored anything: stale after the floor.
    for hours in (72, 48, 24, 1):
        run(store, "silent", NOW - timedelta(hours=hours), new=0)
    silent = staleness(store.engine, "silent", factor=4, floor=timedelta(days=2), now=NOW)
    assert silent is not None and silent.stale and silent.usual_gap is None
    assert silent.quiet_since == NOW - timedelta(hours=72)
    assert set(stale_sources(store.engine, ["broken", "nobody", "silent"], factor=4,
                             floor=timedelta(days=2), now=NOW)) == {"silent"}


def test_several_sources_at_once(store: Store) -> None:
    history(store, "hourly", timedelta(hours=6), storing=6, quiet=timedelta(hours=30))
    history(store, "weekly", timedelta(days=7), storing=4, quiet=timedelta(hours=30))
    history(store, "broken", timedelta(hours=1), storing=5, quiet=timedelta(days=5))
    run(store, "broken", NOW - timedelta(minutes=5), new=0, status="failed")
    found = staleness_of(store.engine, ["hourly", "weekly", "broken", "nobody"], factor=4,
                         floor=timedelta(hours=1), now=NOW)
    assert {n: None if q is None else (q.stale, q.usual_gap, q.quiet_since)
            for n, q in found.items()} == {
        "hourly": (True, timedelta(hours=6), NOW - timedelta(hours=30)),
        "weekly": (False, timedelta(days=7), NOW - timedelta(hours=30)),
        "broken": None, "nobody": None}


def test_sources_status_and_digest_flag_it(tmp_path: Path, db_url: str, store: Store) -> None:
    history(store, "quiet-one", timedelta(hours=2), storing=5, quiet=timedelta(days=3))
    history(store, "busy-one", timedelta(hours=2), storing=5, quiet=timedelta(hours=1))
    sources = [{"name": n, "kind": "rss", "urls": [f"http://127.0.0.1:9/{n}.xml"]}
               for n in ("quiet-one", "busy-one")]
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "sources": sources,
                                    "data_dir": str(tmp_path)}))
    _load_commands()
    runner = CliRunner()
    result = runner.invoke(app, ["sources", "--config", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["quiet-one"]["state"] == "stale"
    assert rows["quiet-one"]["stale"].startswith("nothing new for 3d")
    assert rows["busy-one"]["state"] == "ok" and rows["busy-one"]["stale"] is None
    table = runner.invoke(app, ["sources", "--config", str(path)], env={"COLUMNS": "250"})
    assert "stale: nothing new for 3d" in table.stdout

    result = runner.invoke(app, ["status", "--config", str(path), "--format", "json"])
    assert result.exit_code == 3  # no service runs
    states = {r["name"]: r["state"] for r in json.loads(result.stdout)["sources"]}
    assert states == {"quiet-one": "stale", "busy-one": "ok"}

    settings = load_settings(path, env={})
    digest = build_digest(store, settings, since=NOW - timedelta(days=1), until=NOW, now=NOW)
    assert digest.stale_sources == ["quiet-one"]
    assert "1 source stale (quiet-one)" in render(digest, "text")
    assert "1 source stale (quiet-one)" in render(digest, "markdown")
    assert "1 source stale (quiet-one)" in render(digest, "html")
    # A digest of a day before it went quiet does not call it stale.
    old = build_digest(store, settings, since=NOW - timedelta(days=5),
                       until=NOW - timedelta(days=4), now=NOW)
    assert old.stale_sources == []


@pytest_twisted.ensureDeferred
async def test_after_real_crawls_a_source_goes_stale_only_when_quiet_long(
    site: SampleSite, store: Store, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(db_url)
    first = await crawl_async(settings, settings.enabled_sources(), store=store)
    again = await crawl_async(settings, settings.enabled_sources(), store=store)
    assert {r.status for r in first + again} == {"ok"}
    name = settings.enabled_sources()[0].name
    floor = settings.scheduler.stale_floor
    assert not staleness(store.engine, name, factor=4, floor=floor).stale  # type: ignore[union-attr]
    later = staleness(store.engine, name, factor=4, floor=floor,
                      now=datetime.now(UTC) + floor + timedelta(hours=1))
    assert later is not None and later.stale and later.usual_gap is None
