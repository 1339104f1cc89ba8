"""The search back-end interface: what full-text search and its index need from a database.

Two implementations, picked by dialect in :func:`storage.search_index.backend_for` (the one
place that does): ``storage.search_sqlite`` (FTS5, kept in sync by triggers) and
``storage.search_postgres`` (``tsvector`` documents written from a queue).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import Select

from storage.query_language import Query
from storage.search_cursor import SortKey
from storage.search_filters import SearchFilters

# Match markers inside snippets: control characters no article text carries; the caller's
# marks replace them at the end.
START, STOP = "\x02", "\x03"
SNIPPET_WORDS = 24


class SearchBackend(ABC):
    """Full-text search over ``articles`` in one database, and the upkeep of its index.

    User text only ever travels as bound parameters. Ranks are higher-is-better; the scales
    of two back-ends differ."""

    #: Whether a write queues its articles for an indexer (``search_queue``); if not, the
    #: index is kept in sync by the database itself and the index methods do nothing.
    queued: bool

    # -- querying ----------------------------------------------------------------------

    @abstractmethod
    def matches(self, node: Query) -> ColumnElement[bool]:
        """``Article`` matches ``node`` (for listings by date, where no rank is needed)."""

    @abstractmethod
    def ranked(self, engine: Engine, node: Query, filters: SearchFilters, limit: int,
               after: SortKey | None = None) -> list[SortKey]:
        """The keys of up to ``limit`` of the articles that match ``node`` and pass
        ``filters``, best first, strictly after ``after`` if given: the headline matches
        (the title and highlights satisfy the whole query) by rank (tier 0), then the rest
        newest first (tier 1)."""

    @abstractmethod
    def snippets(self, node: Query, ids: Sequence[int]) -> Select[Any]:
        """(id, snippet) of those of ``ids`` that match ``node``: a few words around the
        matches, each wrapped in :data:`START` and :data:`STOP`, at most
        :data:`SNIPPET_WORDS` a fragment."""

    # -- the index ---------------------------------------------------------------------

    @abstractmethod
    def queue(self, conn: Connection, article_ids: Sequence[int]) -> None:
        """Queue ``article_ids`` for indexing, inside the caller's transaction."""

    @abstractmethod
    def queue_all(self, engine: Engine) -> int:
        """Queue every stored article (after a bulk copy); return how many are queued."""

    @abstractmethod
    def index_ids(self, engine: Engine, article_ids: Sequence[int]) -> None:
        """Index ``article_ids`` now, in one transaction, and take them off the queue."""

    @abstractmethod
    def pending(self, engine: Engine) -> int:
        """How many articles wait to be indexed."""

    @abstractmethod
    def index_pending(self, engine: Engine, *, batch: int, limit: int | None,
                      progress: Callable[[int], None] | None,
                      stop: Callable[[], bool] | None) -> int:
        """Index queued articles until the queue is empty (or ``limit`` are done, or
        ``stop()`` says so between batches), ``batch`` a transaction; return how many were
        taken off the queue. ``progress`` is called with the size of each batch done."""
