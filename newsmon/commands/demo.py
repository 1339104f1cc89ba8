"""newsmon demo: the whole pipeline, offline, against the bundled sample site."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.app import app
from newsmon.commands.crawl import print_summary, run_with_progress
from newsmon.options import console, open_store, settings_from, setup_logging
from newsmon.output import Column, OutputFormat, print_rows

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
        print_summary(results)
        print_articles(store)
        store.close()
