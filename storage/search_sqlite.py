"""Search on SQLite: the FTS5 table ``articles_fts``, kept in sync by triggers.

The MATCH expression (:func:`storage.query_language.to_fts5`) is a bound parameter. Ranking
is ``bm25`` over the title and highlights of the articles whose title and highlights satisfy
the query (an FTS5 column filter); stemming is FTS5's ``porter``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import Select

from storage.models import Article
from storage.query_language import Query, has_not, to_fts5
from storage.search_base import SNIPPET_WORDS, START, STOP, SearchBackend
from storage.search_cursor import SortKey
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

    def ranked(self, engine: Engine, node: Query, filters: SearchFilters, limit: int,
               after: SortKey | None = None) -> list[SortKey]:
        """Two queries inside the FTS table alone (joining every match to articles first
        costs more than the ranking): the headline matches ranked by bm25 — only they are
        ranked, the body having no weight — then, if they are fewer than ``limit``, the
        body-only matches in FTS5's own rowid order, newest stored first, which stops at
        ``limit`` instead of reading every match of a common word."""
        expr = to_fts5(node)
        headline = f"{{title highlights}} : ({expr})"
        # A headline satisfying a query with NOT can still be no match (the word it excludes
        # may be in the body): check the whole text as well.
        first_expr = f"({headline}) AND {expr}" if has_not(node) else headline
        fts: ColumnElement[Any] = literal_column("articles_fts")
        bm25 = func.bm25(fts, *_BM25_WEIGHTS, type_=Float)
        keys: list[SortKey] = []
        with engine.connect() as conn:
            if after is None or after.tier == 0:
                first = self._matching(first_expr, filters).add_columns(bm25)
                if after is not None:
                    assert after.rank is not None
                    last = -after.rank
                    first = first.where(or_(bm25 > last, and_(bm25 == last,
                                                              _fts.c.rowid < after.id)))
                keys = [SortKey(tier=0, id=int(i), rank=-float(b)) for i, b in conn.execute(
                    first.order_by(bm25, _fts.c.rowid.desc()).limit(limit))]
            if len(keys) < limit:
                rest = self._matching(f"{expr} NOT ({headline})", filters)
                if after is not None and after.tier == 1:
                    rest = rest.where(_fts.c.rowid < after.id)
                keys += [SortKey(tier=1, id=int(i), rank=0.0) for (i,) in conn.execute(
                    rest.order_by(_fts.c.rowid.desc()).limit(limit - len(keys)))]
        return keys

    @staticmethod
    def _matching(expr: str, filters: SearchFilters) -> Select[Any]:
        fts: ColumnElement[Any] = literal_column("articles_fts")
        stmt: Select[Any] = select(_fts.c.rowid).select_from(_fts).where(
            fts.op("MATCH", return_type=Boolean)(bindparam("fts_query", expr)))
        if has_filters(filters):
            # "+rowid": test each match against the filtered ids; a plain rowid constraint is
            # handed to FTS5, which then looks every filtered id up in the index (100x slower).
            stmt = stmt.where(literal_column("+articles_fts.rowid").in_(filtered_ids(filters)))
        return stmt

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
