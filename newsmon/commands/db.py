"""newsmon db: schema migrations and the search index."""

from __future__ import annotations

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, console, err_console, open_store, settings_from
from newsmon.output import counted

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_command(config: ConfigOption = None) -> None:
    """Apply all pending migrations (also done on every start).

    Example: NEWSMON_DATABASE_URL=postgresql://newsmon@db/newsmon newsmon db upgrade
    """
    from storage.migrate import current_revisions, head_revisions

    settings = settings_from(config)
    store = open_store(settings, create=True)  # opening applies the migrations
    current = ", ".join(current_revisions(store.engine)) or "none"
    console.print(f"database at revision {current} (heads: {', '.join(head_revisions())})")


@db_app.command("index")
def index_command(config: ConfigOption = None) -> None:
    """Index every article waiting for the search index, with a progress bar.

    On PostgreSQL, writers queue what they add or change and index it right after their
    commit; what a bulk load or an upgrade queued waits for this command or for the
    service's indexing job (every minute). Several can run at once. SQLite indexes on
    write: nothing waits there.

    Example: newsmon db index
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from storage import search_index

    settings = settings_from(config)
    store = open_store(settings)
    try:
        total = search_index.pending(store.engine)
        with Progress("indexing", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("indexing", total=max(total, 1))
            done = search_index.index_pending(
                store.engine, progress=lambda n: bar.advance(task, n))
    finally:
        store.close()
    console.print(f"indexed {counted(done, 'article')} for search", highlight=False)
