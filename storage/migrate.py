"""Apply the Alembic migrations shipped in storage/migrations to a database.

Every command opens its database through :func:`upgrade`. A database already at the newest
revision (:data:`HEAD`) is recognised with one read of ``alembic_version``, without importing
Alembic or taking SQLite's write lock, so a reading command starts fast and never queues
behind a writer; anything else runs Alembic's upgrade under the lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storage.engine import WRITES

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: pg_advisory_xact_lock key serialising concurrent upgrades of one database ("nmmg").
MIGRATION_LOCK = 0x6E6D6D67
#: The newest revision (the one head of the history; a test checks it against Alembic's).
HEAD = "0023"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is at :data:`HEAD` (one read; False when unsure)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False  # no schema yet, or not readable: the upgrade decides
    return list(rows) == [HEAD]


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (default: the head); safe on every start.

    The history once had two branches (the scheduler's tables, the articles'); revision 0015
    joins them, and new revisions follow it, so there is one head. "heads" still upgrades a
    database that an older release left on either branch."""
    if revision == "heads" and at_head(engine):
        return
    from alembic import command

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
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
