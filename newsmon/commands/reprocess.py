"""newsmon reprocess: re-apply topics, entities and story clustering to stored articles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from newsmon.app import app
from newsmon.options import ConfigOption, console, fail, open_store, settings_from


def parse_since(value: str) -> datetime:
    """``2026-11-01``, an ISO time, or a span back from now: ``24h``, ``7d``."""
    from config.schema import parse_duration

    try:
        when = datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        fail(f"--since: {value!r} is neither a date (2026-11-01) nor a span (24h, 7d)", 2)


@app.command("reprocess")
def reprocess_command(
    since: Annotated[str | None, typer.Option(
        help="Only articles first seen since then: 2026-11-01, 24h, 7d (default: all).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    config: ConfigOption = None,
) -> None:
    """Re-apply topics, entities and story clustering after config/topics.yaml or
    config/entities.yaml changed. Each batch is one transaction.

    Example: newsmon reprocess --since 7d
    """
    settings = settings_from(config)
    store = open_store(settings)
    taxonomy = Taxonomy.load(settings.topics_file)
    gazetteer = Gazetteer.load(settings.entities_file)
    matcher = SimilarityMatcher(gazetteer)
    pinned = {s.name: s.topic.value for s in settings.sources if s.topic}
    start = parse_since(since) if since else None

    total = store.unfile_since(start)
    progress = Progress(TextColumn("reprocessing"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=not console.is_terminal)
    done = 0
    after: tuple[datetime, int] | None = None
    with progress:
        task = progress.add_task("articles", total=total)
        while True:
            batch = store.articles_to_reprocess(start, after, batch_size)
            if not batch:
                break
            for _id, rec in batch:
                enrich(rec, taxonomy, gazetteer, pinned.get(rec.source))
            store.refile(batch, matcher)
            after = (batch[-1][1].fetched_at, batch[-1][0])
            done += len(batch)
            progress.update(task, completed=done)
    store.recount_stories()
    console.print(f"reprocessed {done} articles")
