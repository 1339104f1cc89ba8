"""newsmon db migrate-from: copy an existing database (the SQLite file you started with) into
another (PostgreSQL), stories, search and history included."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsmon.commands.db import db_app
from newsmon.options import ConfigOption, console, err_console, fail, settings_from
from newsmon.output import Column, OutputFormat, print_rows

if TYPE_CHECKING:
    from storage import Store


def _open(url: str, role: str) -> Store:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from storage import StorageError, Store

    try:
        parsed = make_url(url)
    except ArgumentError:
        fail(f"{role} {url!r} is not a database URL (sqlite:///path/newsmon.db or "
             "postgresql://user@host/db)", 2)
    if parsed.get_backend_name() == "sqlite" and role == "source":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            fail(f"no SQLite database file at {path or '(none)'}: give the path of the file "
                 "to copy, e.g. sqlite:///data/newsmon.db", 2)
    try:
        return Store.from_url(url)  # both sides at the newest schema revision
    except (StorageError, ImportError) as exc:
        fail(f"{role}: {exc}", 2)
    except SQLAlchemyError as exc:
        fail(f"cannot open the {role} database {make_url(url).render_as_string()}: "
             f"{getattr(exc, 'orig', None) or exc}\nIs the server running, and is the URL "
             "right?", 1)


def _refuse_live_service(store: Store, role: str, stale_after: timedelta) -> None:
    from scheduler.lock import service_state
    from storage.scheduler_store import SchedulerStore

    state = service_state(SchedulerStore(store.engine), stale_after)
    if state.alive and state.holder is not None:
        fail(f"a newsmon service (pid {state.holder.pid} on host {state.holder.host}) is "
             f"running on the {role} database; stop it first, so that nothing changes while "
             "the data is copied", 1)


@db_app.command("migrate-from")
def migrate_from_command(
    source_url: Annotated[str, typer.Argument(
        metavar="SOURCE_URL", help="The database to copy, e.g. sqlite:///data/newsmon.db.",
        show_default=False)],
    target_url: Annotated[str | None, typer.Argument(
        metavar="TARGET_URL", help="The database to copy into (default: database_url of "
        "the settings, or $NEWSMON_DATABASE_URL).", show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Empty a target that already holds data, then copy.")] = False,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, max=100_000, help="Rows per transaction.")] = 1000,
    config: ConfigOption = None,
) -> None:
    """Copy every source, article (with its URLs, versions, topics, entities), story, crawl
    run, HTTP validator and per-source schedule state of an existing newsmon database into
    another, keeping their ids, then check that every table has as many rows on both sides.
    This is how a SQLite installation moves to PostgreSQL: the copied articles are searchable
    there at once.

    Both databases are migrated to the current schema first. The target must be empty
    (--force empties it); no service may be running on either database.

    Example: newsmon db migrate-from sqlite:///data/newsmon.db
    postgresql://newsmon@db.example/newsmon
    """
    settings = settings_from(config)
    target_url = target_url or settings.database_url
    if _same(source_url, target_url):
        fail("the source and the target are the same database; give the target's URL as the "
             "second argument or in database_url", 2)
    source = _open(source_url, "source")
    try:
        target = _open(target_url, "target")
        try:
            for store, role in ((source, "source"), (target, "target")):
                _refuse_live_service(store, role, settings.scheduler.stale_lock_after)
            _copy(source, target, force, batch_size, target_url)
        finally:
            target.close()
    finally:
        source.close()


def _same(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(a).render_as_string(hide_password=False) == make_url(
            b).render_as_string(hide_password=False)
    except ArgumentError:
        return a == b


def _copy(source: Store, target: Store, force: bool, batch_size: int, target_url: str) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from storage.migrate_from import MigrationError, TargetNotEmpty, copy_database

    started = time.monotonic()
    with Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=max(total, 1))
            bar.update(tasks[table], completed=done if total else 1)

        try:
            copied = copy_database(source.engine, target.engine, force=force,
                                   batch_size=batch_size, progress=progress)
        except TargetNotEmpty as exc:
            fail(f"{exc}; pass --force to empty it first, or give an empty database", 1)
        except MigrationError as exc:
            fail(str(exc), 1)
        except SQLAlchemyError as exc:
            fail(f"the copy failed: {exc.__class__.__name__}: "
                 f"{getattr(exc, 'orig', None) or exc}\nFix the cause and run it again "
                 "with --force.", 1)
    print_rows([{"table": c.name, "rows": c.rows} for c in copied],
               (Column("table"), Column("rows", justify="right")), OutputFormat.TABLE,
               title="Copied", console=console)
    total = sum(c.rows for c in copied)
    console.print(f"copied {total:,} rows in {time.monotonic() - started:.1f} s; every table "
                  f"has as many rows as in the source. Point database_url (or "
                  f"$NEWSMON_DATABASE_URL) at {make_url(target_url).render_as_string()} to "
                  "use it.", highlight=False)
