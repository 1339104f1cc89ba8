"""newsmon crawl: one pass over the enabled sources, with progress and a summary table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.app import app
from newsmon.options import (
    ConfigOption,
    VerboseOption,
    console,
    err_console,
    fail,
    open_store,
    settings_from,
    setup_logging,
)
from newsmon.output import Column, OutputFormat, print_rows, status_style

if TYPE_CHECKING:
    from config import Settings, Source
    from crawler.runner import SourceResult
    from storage import Store

SUMMARY_COLUMNS = (
    Column("source"), Column("status", style=status_style),
    *(Column(k, justify="right") for k in ("pages", "new", "updated", "unchanged", "dropped",
                                           "errors")),
    Column("first_error", "first error", max_width=60),
)


def print_summary(results: list[SourceResult]) -> None:
    """The crawl summary: one line per source (see newsmon/output.py)."""
    rows = [{"source": r.source, "status": r.status, "pages": r.stats.pages,
             "new": r.stats.new, "updated": r.stats.updated, "unchanged": r.stats.unchanged,
             "dropped": r.stats.dropped, "errors": r.stats.errors,
             "first_error": r.stats.first_error} for r in results]
    print_rows(rows, SUMMARY_COLUMNS, OutputFormat.TABLE, title="Crawl summary",
               console=console)


@app.command("crawl")
def crawl_command(
    source: Annotated[list[str] | None, typer.Option(
        "--source", "-s", help="Crawl only this source (repeatable).")] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Crawl every enabled source once and store new and changed articles.

    A source another crawl is running (`newsmon run`, another `newsmon crawl`) is skipped
    with a message naming that crawl. Exit status is non-zero only when every source failed
    or was skipped.

    Example: newsmon crawl --source defensenews --source wto-news
    """
    setup_logging(verbose)
    settings = settings_from(config)
    if source:
        unknown = [n for n in source if n not in {s.name for s in settings.sources}]
        if unknown:
            fail(f"unknown source {', '.join(map(repr, unknown))}; see 'newsmon sources' or "
                 "the sources file", 2)
        sources = [settings.source(n) for n in source]
    else:
        sources = settings.enabled_sources()
    if not sources:
        fail("no enabled sources to crawl: add sources to the sources file", 2)
    store = open_store(settings, create=True)
    worker = None
    if settings.watchlists:  # alerts go out while the crawl runs, and the rest after it
        from alerts.delivery import DeliveryWorker

        worker = DeliveryWorker(store, settings).start()
    try:
        results = run_with_progress(settings, sources, store)
    finally:
        if worker is not None:
            worker.stop()
    for r in results:
        if r.status == "skipped":  # another crawl of it holds its run lock
            err_console.print(f"[yellow]{r.stats.first_error}[/yellow]", highlight=False,
                              soft_wrap=True)
    print_summary(results)
    if all(r.status in ("failed", "timeout", "skipped") for r in results):
        raise typer.Exit(1)


def run_with_progress(
    settings: Settings, sources: Sequence[Source], store: Store
) -> list[SourceResult]:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crawler.runner import crawl  # Scrapy and the extractors: only when crawling

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.fields[pages]} pages, {task.fields[items]} articles"),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=not console.is_terminal)
    tasks = {s.name: progress.add_task(s.name, total=None, pages=0, items=0) for s in sources}
    counts = {s.name: [0, 0] for s in sources}

    def on_event(name: str, event: str) -> None:
        c = counts[name]
        c[0 if event == "response" else 1] += 1
        progress.update(tasks[name], pages=c[0], items=c[1])

    with progress:
        return crawl(settings, sources, store=store, progress=on_event)
