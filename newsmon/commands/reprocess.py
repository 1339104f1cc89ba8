"""newsmon reprocess: re-apply topics, entities and story clustering to stored articles."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from newsmon.app import app
from newsmon.commands.search import time_window
from newsmon.options import ConfigOption, console, fail, open_store, settings_from
from newsmon.output import counted


@app.command("reprocess")
def reprocess_command(
    since: Annotated[str | None, typer.Option(
        help="Only articles first seen since then: 24h, 7d, today, 2026-11-01 (local "
        "midnight) or an ISO time (default: all).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    force: Annotated[bool, typer.Option(
        "--force", help="Run even while a newsmon service runs on this database.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-apply topics, entities and story clustering after config/topics.yaml or
    config/entities.yaml changed. Each batch is one transaction: stopped at any moment,
    every article is still in a story. Refused while a service runs (unless --force).

    Example: newsmon reprocess --since 7d
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crawler.reprocess import reprocess_configured  # the classifier and MinHash
    from scheduler.lock import service_state
    from storage.scheduler_store import SchedulerStore

    settings = settings_from(config)
    start, _ = time_window(since, None, ZoneInfo(settings.default_timezone))
    store = open_store(settings)
    try:
        state = service_state(SchedulerStore(store.engine), settings.scheduler.stale_lock_after)
        if state.alive and state.holder is not None and not force:
            age = int(state.age.total_seconds()) if state.age is not None else 0
            fail(f"a newsmon service (pid {state.holder.pid} on host {state.holder.host}, "
                 f"heartbeat {age} s ago) is running on this database; stop it first, or "
                 "pass --force to reprocess while it crawls", 2)
        progress = Progress(TextColumn("reprocessing"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console,
                            disable=not console.is_terminal)
        with progress:
            task = progress.add_task("articles", total=None)
            done = reprocess_configured(
                store, settings, since=start, batch_size=batch_size,
                progress=lambda n, total: progress.update(task, completed=n, total=total))
    finally:
        store.close()
    console.print(f"reprocessed {counted(done, 'article')}")
