"""newsmon demo: the whole pipeline, offline, against the bundled sample site."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.app import app
from newsmon.commands.crawl import print_summary, run_with_progress
from newsmon.options import console, fail, open_store, settings_from, setup_logging
from newsmon.output import Column, OutputFormat, print_rows

if TYPE_CHECKING:
    from storage import Store


DEMO_ZONE = "Asia/Kolkata"


def demo_settings_file(folder: Path, base_url: str, database_url: str) -> Path:
    """Write a settings file and the sample site's source list into ``folder``."""
    import yaml

    from crawler.sample_site import render_sources

    (folder / "sources.yaml").write_text(render_sources(base_url), encoding="utf-8")
    settings = {
        "database_url": database_url,
        "data_dir": str(folder),
        "default_timezone": DEMO_ZONE,
        # A local server: no need to be slow or to wait for AutoThrottle to warm up.
        "crawl": {"download_delay": 0, "autothrottle": False, "source_timeout": "2m"},
        "sources_file": "sources.yaml",
        # Two standing searches, so that `newsmon watch list`, `newsmon alerts` and the web
        # app's Watchlists page have something to show; no notify targets: nothing is sent.
        "watchlists": [
            {"name": "navy-deals", "query": "navy AND (contract OR deal OR submarine)",
             "topics": ["defence"]},
            {"name": "tariffs", "query": "tariff* OR duty OR duties", "topics": ["trade"]},
        ],
    }
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


ARTICLE_COLUMNS = (
    Column("id", justify="right"), Column("source", max_width=22), Column("title"),
    Column("published", "published (UTC)"), Column("evidence"),
    Column("highlights", justify="right"), Column("words", justify="right"),
)


def print_articles(store: Store) -> None:
    rows = [{"id": a.id, "source": a.source.name, "title": a.title,
             "published": a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at else None,
             "evidence": f"{a.published_source or '-'}: {a.published_raw or ''}",
             "highlights": len(a.highlights), "words": len(a.body.split())}
            for a in store.articles()]
    print_rows(rows, ARTICLE_COLUMNS, OutputFormat.TABLE, title="Stored articles",
               console=console)


def default_folder() -> Path:
    """$NEWSMON_DEMO_DIR, else $XDG_DATA_HOME/newsmon/demo (~/.local/share/newsmon/demo)."""
    if os.environ.get("NEWSMON_DEMO_DIR"):
        return Path(os.environ["NEWSMON_DEMO_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "newsmon" / "demo"


def next_steps(settings_file: Path, first_id: int | None) -> list[str]:
    """Three commands to paste, on the demo's own settings (so its six sources show)."""
    base = f"newsmon --config {shlex.quote(str(settings_file))}"
    return [f"{base} search navy", f"{base} show {first_id or 1}", f"{base} sources"]


@app.command("demo")
def demo_command(
    folder: Annotated[Path | None, typer.Option(
        "--folder", help="Keep the demo's settings, sources and database here (default: "
        "$NEWSMON_DEMO_DIR, else ~/.local/share/newsmon/demo); its demo.db is replaced.",
        show_default=False)] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True)] = 0,
) -> None:
    """Crawl a bundled sample site served on 127.0.0.1 and show what was stored. No internet.

    The database stays (the global --database URL, else demo.db in the folder) with a
    settings file naming the demo's sources, for the three commands printed at the end. The
    sample is dated relative to when the demo runs: its latest article is less than a day
    old and none is dated in the future, so `newsmon digest` shows the recent part of it.

    Example: newsmon demo --folder /tmp/newsmon-demo
    """
    from datetime import UTC, datetime

    from crawler.sample_site import SampleSite
    from crawler.sample_site.dates import days_before

    setup_logging(verbose)
    where = (folder or default_folder()).resolve()
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create the demo folder {where}: {exc}", 2)
    url = os.environ.get("NEWSMON_DATABASE_URL") or f"sqlite:///{where / 'demo.db'}"
    if url == f"sqlite:///{where / 'demo.db'}":
        (where / "demo.db").unlink(missing_ok=True)  # the sample site's port changes each run
    # The sample is served dated relative to now (moved by whole days, its latest article less
    # than a day old and none in the future), so that `newsmon digest` shows today's part of it.
    with SampleSite(shift_days=days_before(datetime.now(UTC))) as site:
        settings_file = demo_settings_file(where, site.base_url, url)
        settings = settings_from(settings_file)
        console.print(f"Sample site on {site.base_url}; storing into {url}", soft_wrap=True)
        store = open_store(settings, create=True)
        results = run_with_progress(settings, settings.enabled_sources(), store)
        print_summary(results)
        print_articles(store)
        first = min((a.id for a in store.articles()), default=None)
        store.close()
    console.print(f"\nThe demo database is {url} (settings: {settings_file}). Try next:",
                  soft_wrap=True, highlight=False)
    for line in next_steps(settings_file, first):
        console.print(f"  {line}", soft_wrap=True, highlight=False)
