"""newsmon db: schema migrations."""

from __future__ import annotations

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, console, open_store, settings_from
from storage.migrate import current_revisions, head_revisions

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_command(config: ConfigOption = None) -> None:
    """Apply all pending migrations (also done on every start).

    Example: NEWSMON_DATABASE_URL=postgresql://newsmon@db/newsmon newsmon db upgrade
    """
    settings = settings_from(config)
    store = open_store(settings)  # opening applies the migrations
    current = ", ".join(current_revisions(store.engine)) or "none"
    console.print(f"database at revision {current} (heads: {', '.join(head_revisions())})")
