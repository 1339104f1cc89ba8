"""newsmon demo: the whole pipeline, offline, against the bundled sample site."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from newsmon.app import app
from newsmon.commands.crawl import run_with_progress, summary_table
from newsmon.options import console, open_store, settings_from, setup_logging

if TYPE_CHECKING:
    from storage import Store


def demo_settings_file(folder: Path, base_url: str, database_url: str) -> Path:
    """Write a settings file and the sample site's source list into ``folder``."""
    import yaml

    from crawler.sample_site import render_sources

    (folder / "sources.yaml").write_text(render_sources(base_url), encoding="utf-8")
    settings = {
        "database_url": database_url,
        "data_dir": str(folder),
        "default_timezone": "Asia/Kolkata",
        # A local server: no need to be slow or to wait for AutoThrottle to warm up.
        "crawl": {"download_delay": 0, "autothrottle": False, "source_timeout": "2m"},
        "sources_file": "sources.yaml",
    }
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def articles_table(store: Store) -> Table:
    table = Table(title="Stored articles", expand=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("source", overflow="ellipsis", max_width=22)
    table.add_column("title", ratio=3, overflow="fold")
    table.add_column("published (UTC)", no_wrap=True)
    table.add_column("evidence", ratio=2, overflow="fold")
    table.add_column("highlights", justify="right")
    table.add_column("words", justify="right")
    for a in store.articles():
        published = a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at else "-"
        table.add_row(str(a.id), a.source.name, a.title, published,
                      f"{a.published_source or '-'}: {a.published_raw or ''}",
                      str(len(a.highlights)), str(len(a.body.split())))
    return table


@app.command("demo")
def demo_command(
    database: Annotated[str | None, typer.Option(
        "--database", help="Store into this database URL (default: a temporary SQLite file).",
    )] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True)] = 0,
) -> None:
    """Crawl a bundled sample site served on 127.0.0.1 and show what was stored. No internet.

    Example: newsmon demo --database sqlite:///data/demo.db
    """
    from crawler.sample_site import SampleSite

    setup_logging(verbose)
    with tempfile.TemporaryDirectory(prefix="newsmon-demo-") as tmp, SampleSite() as site:
        folder = Path(tmp)
        url = database or f"sqlite:///{folder / 'demo.db'}"
        settings = settings_from(demo_settings_file(folder, site.base_url, url))
        console.print(f"Sample site on {site.base_url}; storing into {url}")
        store = open_store(settings, create=True)
        results = run_with_progress(settings, settings.enabled_sources(), store)
        console.print(summary_table(results))
        console.print(articles_table(store))
        store.close()
