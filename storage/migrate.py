"""Apply the Alembic migrations shipped in storage/migrations to a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.engine import WRITES

MIGRATIONS = Path(__file__).with_name("migrations")
#: pg_advisory_xact_lock key serialising concurrent upgrades of one database ("nmmg").
MIGRATION_LOCK = 0x6E6D6D67


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (default: the head); safe on every start.

    The history once had two branches (the scheduler's tables, the articles'); revision 0015
    joins them, and new revisions follow it, so there is one head. "heads" still upgrades a
    database that an older release left on either branch."""
    cfg = alembic_config()
    # SQLite: the whole upgrade is one transaction begun IMMEDIATE (storage.engine), so the
    # first starter holds the file's write lock while it creates the schema; the others wait
    # for it at BEGIN, then read the revision it committed and have nothing to do.
    with engine.execution_options(**{WRITES: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Processes starting at once on a new database (a scheduler and its workers) would
            # each create the tables: one migrates, the others wait here and find it done.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
