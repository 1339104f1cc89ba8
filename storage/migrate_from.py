"""Copy one newsmon database into another — typically SQLite into PostgreSQL — with its ids,
stories, search index and history.

Contract of :func:`copy_database`:

- Both databases are at the same schema revision (open them with ``Store.from_url``, which
  migrates). Every table of the schema is copied in dependency order (sources, stories,
  articles, their URL aliases, versions, topics, entities, LSH bands and headline terms, crawl
  runs, HTTP validators, the scheduler's per-source state), in batches of ``batch_size`` rows,
  each batch in its own transaction, ids preserved. The scheduler's lock row is not copied: it
  belongs to a live service, not to the data.
- Text values are cleaned as the crawl now cleans them (:func:`storage.text.clean_cell`:
  NUL and other control characters removed, each such row logged), so a SQLite file written
  before that copies to PostgreSQL instead of aborting.
- A self-reference (an article's ``duplicate_of_id``) is written after its table is copied, so
  row order never matters. On PostgreSQL the id sequences are then set past the highest id.
- The search index: SQLite's FTS5 triggers index every inserted article; on PostgreSQL every
  copied article is queued and indexed before the copy returns (reported to ``progress`` as
  table ``search index``).
- A target holding any row raises :class:`TargetNotEmpty` unless ``force``, which empties it
  first. At the end every table's row count is compared; a difference raises
  :class:`MigrationError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, bindparam, delete, func, insert, select, text, update

from storage import search_index
from storage.tables import metadata
from storage.text import clean_cell

logger = logging.getLogger(__name__)

#: Tables that describe a running process, not data; never copied.
SKIPPED = frozenset({"scheduler_lock"})
#: (table, rows copied so far, rows in all) after each batch.
Progress = Callable[[str, int, int], None]


class MigrationError(Exception):
    """The copy could not be made or did not come out whole."""


class TargetNotEmpty(MigrationError):
    """The target database already holds rows; the message says which."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        what = ", ".join(f"{n:,} {name}" for name, n in counts.items())
        super().__init__(f"the target database is not empty ({what})")


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One copied table and its row count (the same on both sides)."""

    name: str
    rows: int


def tables() -> list[Table]:
    """The tables copied, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED]


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def row_counts(engine: Engine) -> dict[str, int]:
    return {t.name: count_rows(engine, t) for t in tables()}


def empty_database(engine: Engine) -> None:
    """Delete every copied table's rows (children first); PostgreSQL restarts the ids."""
    ordered = tables()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in ordered)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(ordered):
                conn.execute(delete(table))


def _self_refs(table: Table) -> list[str]:
    return [c.name for c in table.columns
            if any(fk.column.table is table for fk in c.foreign_keys)]


def _cleaned(table: Table, row: Any) -> dict[str, Any]:
    """``row`` with its text as newsmon now stores it (storage.text): a file written before
    text was sanitised may hold NUL bytes, which PostgreSQL refuses in text."""
    out = {k: clean_cell(v) for k, v in row.items()}
    changed = [k for k, v in out.items() if v != row[k]]
    if changed:
        pk = ", ".join(str(row[c.name]) for c in table.primary_key.columns)
        logger.warning("%s %s: control characters removed from %s", table.name, pk,
                       ", ".join(changed))
    return out


def _copy_table(source: Engine, target: Engine, table: Table, total: int, batch_size: int,
                progress: Progress | None) -> None:
    """Copy ``table`` in primary-key order; self-references are set once all rows exist."""
    pk = list(table.primary_key.columns)
    later: dict[str, list[dict[str, Any]]] = {c: [] for c in _self_refs(table)}
    done = 0
    if progress is not None:
        progress(table.name, 0, total)
    with source.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
            select(table).order_by(*pk))
        for part in result.partitions(batch_size):
            rows = [_cleaned(table, r._mapping) for r in part]
            for row in rows:
                for column, pending in later.items():
                    if row[column] is not None:
                        pending.append({**{f"k_{c.name}": row[c.name] for c in pk},
                                        "v": row[column]})
                        row[column] = None
            with target.begin() as out:
                out.execute(insert(table), rows)
            done += len(rows)
            if progress is not None:
                progress(table.name, done, total)
    for column, pending in later.items():
        stmt = (update(table).where(*[c == bindparam(f"k_{c.name}") for c in pk])
                .values({column: bindparam("v")}))
        for i in range(0, len(pending), batch_size):
            with target.begin() as out:
                out.execute(stmt, pending[i:i + batch_size])


def reset_sequences(engine: Engine) -> None:
    """PostgreSQL: set each id sequence past the table's highest id (no-op elsewhere)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables():
            column = table.autoincrement_column
            if column is None:
                continue
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                f"COALESCE((SELECT MAX(\"{column.name}\") FROM \"{table.name}\"), 0) + 1, "
                "false)"))


def copy_database(
    source: Engine, target: Engine, *, force: bool = False, batch_size: int = 1000,
    progress: Progress | None = None,
) -> list[TableCopy]:
    """Copy ``source`` into ``target``; see the module docstring. Returns each table's rows."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    existing = {k: v for k, v in row_counts(target).items() if v}
    if existing and not force:
        raise TargetNotEmpty(existing)
    if existing:
        logger.warning("emptying the target database first (%s)", existing)
        empty_database(target)
    wanted = row_counts(source)
    for table in tables():
        _copy_table(source, target, table, wanted[table.name], batch_size, progress)
    reset_sequences(target)
    queued = search_index.queue_all(target)
    if queued:
        indexed = 0

        def step(n: int) -> None:
            nonlocal indexed
            indexed += n
            if progress is not None:
                progress("search index", indexed, queued)

        search_index.index_pending(target, progress=step)
    got = row_counts(target)
    wrong = [f"{name}: {wanted[name]:,} in the source, {got[name]:,} copied"
             for name in wanted if got[name] != wanted[name]]
    if wrong:
        raise MigrationError("the copy is incomplete: " + "; ".join(wrong))
    return [TableCopy(name, wanted[name]) for name in wanted]

