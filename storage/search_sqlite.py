"""Search on SQLite: the FTS5 table ``articles_fts``, kept in sync by triggers.

The MATCH expression (:func:`storage.query_language.to_fts5`) is a bound parameter. Ranking
is ``bm25`` over the title and highlights; stemming is FTS5's ``porter``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import Select

from storage.models import Article
from storage.query_language import Query, to_fts5
from storage.search_base import SNIPPET_WORDS, START, STOP, SearchBackend
from storage.search_filters import SearchFilters, filtered_ids, has_filters

_fts = table("articles_fts", column("rowid"))
# Weights of title, highlights and body in bm25. The body counts for matching, not for rank:
# PostgreSQL ranks on a small title-and-highlights vector (reading every match's full vector
# is too slow), and both databases should order alike.
_BM25_WEIGHTS = (10.0, 4.0, 0.0)


class SqliteSearch(SearchBackend):
    """:class:`~storage.search_base.SearchBackend` on SQLite (FTS5). The index methods do
    nothing: triggers keep ``articles_fts`` in sync in the writer's transaction."""

    queued = False

    def matches(self, node: Query) -> ColumnElement[bool]:
        match = select(_fts.c.rowid).select_from(_fts).where(
            literal_column("articles_fts").op("MATCH", return_type=Boolean)(
                bindparam("fts_query", to_fts5(node))))
        return Article.id.in_(match)

    def ranked(self, engine: Engine, node: Query, filters: SearchFilters, limit: int
               ) -> list[tuple[int, float | None]]:
        # Rank inside the FTS table alone (joining every match to articles first costs more
        # than the ranking); filters become a set of ids each match is checked against.
        fts: ColumnElement[Any] = literal_column("articles_fts")
        bm25 = func.bm25(fts, *_BM25_WEIGHTS, type_=Float)
        ranked: Select[Any] = (
            select(_fts.c.rowid, (-bm25).label("rank")).select_from(_fts)
            .where(fts.op("MATCH", return_type=Float)(bindparam("fts_query", to_fts5(node)))))
        if has_filters(filters):
            # "+rowid": test each match against the filtered ids; a plain rowid constraint is
            # handed to FTS5, which then looks every filtered id up in the index (100x slower).
            ranked = ranked.where(literal_column("+articles_fts.rowid").in_(
                filtered_ids(filters)))
        ranked = ranked.order_by(bm25, _fts.c.rowid.desc()).limit(limit)
        with engine.connect() as conn:
            return [(int(r[0]), float(r[1])) for r in conn.execute(ranked)]

    def snippets(self, node: Query, ids: Sequence[int]) -> Select[Any]:
        fts: ColumnElement[Any] = literal_column("articles_fts")
        return (
            select(literal_column("articles_fts.rowid"), func.snippet(
                fts, -1, bindparam("start", START), bindparam("stop", STOP), "…",
                SNIPPET_WORDS))
            .select_from(_fts)
            .where(fts.op("MATCH")(bindparam("fts_query", to_fts5(node))),
                   _fts.c.rowid.in_(ids)))

    def queue(self, conn: Connection, article_ids: Sequence[int]) -> None:
        return None

    def queue_all(self, engine: Engine) -> int:
        return 0

    def index_ids(self, engine: Engine, article_ids: Sequence[int]) -> None:
        return None

    def pending(self, engine: Engine) -> int:
        return 0

    def index_pending(self, engine: Engine, *, batch: int, limit: int | None,
                      progress: Callable[[int], None] | None,
                      stop: Callable[[], bool] | None) -> int:
        return 0
