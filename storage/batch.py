"""store_batch: a batch of articles stored so that one bad article never takes the rest with it.

The batch is written in one transaction (the fast path, the normal case). If the database
refuses it for a reason that belongs to the data (a constraint, a value it cannot hold, a
record the code cannot write), the batch is written again article by article, each in its own
transaction (on PostgreSQL a failed statement aborts its transaction, so each article gets a
fresh one): the articles that fail again are refused with their reason, the others are stored.
A database that is unavailable (a refused connection, "database is locked": the driver's
OperationalError or InterfaceError) is no article's fault: what was not yet written is not
stored, and nothing is retried here. The search index is written once, after the commits.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc

from storage.article import ArticleRecord
from storage.records import Outcome, StoryMatcher
from storage.store import Store

logger = logging.getLogger(__name__)

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
    sqlite3.OperationalError, sqlite3.InterfaceError)
try:  # the PostgreSQL driver is an extra; the COPY path raises its errors unwrapped
    import psycopg
except ImportError:  # pragma: no cover - SQLite-only installs
    pass
else:
    _UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be written now (connection, lock, server
    going away) rather than that it refuses this data. PostgreSQL's class 54 ("program limit
    exceeded", e.g. an index row too large for its B-tree) is an OperationalError to the
    driver but belongs to the data."""
    orig = getattr(exc, "orig", None) or exc
    if str(getattr(orig, "sqlstate", "") or "").startswith("54"):
        return False
    return isinstance(exc, _UNAVAILABLE) or isinstance(orig, _UNAVAILABLE)


def reason(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's SQL echo and link."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


@dataclass(slots=True)
class Refused:
    """One article the database refused, and why."""

    record: ArticleRecord
    reason: str  # the database's message
    kind: str  # the exception's class name (CheckViolation, DataError, MemoryError...)

    @property
    def message(self) -> str:
        return f"article {self.record.url} not stored: {self.reason}"


@dataclass(slots=True)
class BatchResult:
    """What a batch did. ``outcomes[i]`` is None for a record not stored: refused (in
    ``refused``) or lost to an unavailable database (``unavailable`` says why)."""

    outcomes: list[Outcome | None]
    refused: list[Refused] = field(default_factory=list)
    unavailable: str | None = None
    index_error: str | None = None  # the search-index step failed after the commit

    @property
    def stored(self) -> int:
        return sum(o is not None for o in self.outcomes)

    @property
    def lost(self) -> int:
        """Records not stored because the database was unavailable."""
        return len(self.outcomes) - self.stored - len(self.refused)


def store_batch(store: Store, records: Sequence[ArticleRecord],
                matcher: StoryMatcher | None = None) -> BatchResult:
    """Store ``records``: in one transaction if the database takes them all, else one by one
    (see the module's docstring). Never raises for a refused record or an unavailable
    database: the result says which records were stored, refused or lost, for the caller to
    report (the crawl's StoragePipeline counts and logs each)."""
    result = BatchResult([None] * len(records))
    to_index: list[int] = []
    try:
        outcomes, to_index = store.write_articles(records, matcher)
    except Exception as exc:
        if database_unavailable(exc):
            result.unavailable = reason(exc)
            return result
        if len(records) > 1:
            logger.warning("a batch of %d articles was refused (%s): storing them one by one",
                           len(records), reason(exc))
        to_index = _one_by_one(store, records, matcher, result, first=exc)
    else:
        result.outcomes = list(outcomes)
    result.index_error = store.index_written(to_index)
    return result


def _one_by_one(store: Store, records: Sequence[ArticleRecord], matcher: StoryMatcher | None,
                result: BatchResult, first: Exception) -> list[int]:
    """Each record in its own transaction; fill ``result``; return the ids to index."""
    to_index: list[int] = []
    for i, rec in enumerate(records):
        try:
            if len(records) == 1:
                raise first  # that transaction was this record alone
            outcomes, ids = store.write_articles([rec], matcher)
        except Exception as exc:
            if database_unavailable(exc):
                result.unavailable = reason(exc)
                break  # this record and the rest are not stored
            orig = getattr(exc, "orig", None) or exc
            result.refused.append(Refused(rec, reason(exc), type(orig).__name__))
            continue
        result.outcomes[i] = outcomes[0]
        to_index.extend(ids)
    return to_index
