"""Search on PostgreSQL: ``tsvector`` documents in ``search_docs``, written from a queue.

Query terms are bound values of ``plainto_tsquery`` and friends joined by ``&&``/``||``/``!!``
(:func:`storage.query_language.to_tsquery`). The storage layer queues an article
(``search_queue``) in the transaction that inserts it or changes its text; indexing computes
the vectors of queued articles into ``search_docs`` and takes them off the queue, in batches,
each batch one transaction. Several indexers may run at once (``FOR UPDATE SKIP LOCKED``):
each article is indexed by one of them, and an indexer killed mid-batch leaves its batch
queued. Indexing an article twice is harmless (the row is replaced); an article deleted after
it was queued is skipped.

Weights: title A, highlights B, body C in ``search_vector`` (matching); title A, highlights B
in ``headline_vector`` (ranking), English stemming — as ``storage.query_language.TS_CONFIG``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import Select
from sqlalchemy.types import REAL, BigInteger

from storage.models import Article
from storage.query_language import TS_CONFIG, And, Not, Or, Phrase, Query, has_not, to_tsquery
from storage.search_base import SNIPPET_WORDS, START, STOP, SearchBackend
from storage.search_cursor import SortKey
from storage.search_filters import SearchFilters, filtered_ids, has_filters
from storage.types import UTCDateTime

# One row of vectors per indexed article.
_docs = table("search_docs", column("article_id"), column("search_vector"),
              column("headline_vector"), column("dated_at", UTCDateTime()))
# Body-only matches, newest first, are looked for in these windows back from the newest
# article before the whole index is read.
_WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=180))

_HEADLINE = ("setweight(to_tsvector('english'::regconfig, coalesce(a.title, '')), 'A') || "
             "setweight(to_tsvector('english'::regconfig, a.highlights), 'B')")
_BODY = "setweight(to_tsvector('english'::regconfig, coalesce(a.body, '')), 'C')"
_DATED = "coalesce(a.published_at, a.first_seen_at)"
# The headline's vector is computed once (OFFSET 0 keeps the planner from copying the
# expression into both places) and is both the ranking vector and the start of the full one.
_VECTORS = f"""
    SELECT a.id, h.v, h.v || {_BODY}, {_DATED}
    FROM articles AS a CROSS JOIN LATERAL (SELECT {_HEADLINE} AS v OFFSET 0) AS h"""
_UPSERT = """
    ON CONFLICT (article_id) DO UPDATE
        SET headline_vector = excluded.headline_vector, search_vector = excluded.search_vector,
            dated_at = excluded.dated_at"""

# Take up to :n queued ids no other indexer holds, index them, and unqueue them.
_INDEX_NEXT = text(f"""
WITH taken AS (
    DELETE FROM search_queue
    WHERE article_id IN (SELECT article_id FROM search_queue ORDER BY article_id
                         LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING article_id
), written AS (
    INSERT INTO search_docs (article_id, headline_vector, search_vector, dated_at)
    {_VECTORS} JOIN taken AS t ON t.article_id = a.id
    {_UPSERT}
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written)
""")

# The same for given ids, whether or not they are queued (the writer indexing its own batch).
_INDEX_IDS = text(f"""
WITH taken AS (
    DELETE FROM search_queue WHERE article_id = ANY(:ids) RETURNING article_id
)
INSERT INTO search_docs (article_id, headline_vector, search_vector, dated_at)
{_VECTORS} WHERE a.id = ANY(:ids)
{_UPSERT}
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def _after(at: ColumnElement[Any], key: SortKey) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the order (``at``, id) descending."""
    assert key.at is not None
    return or_(at < key.at, and_(at == key.at, _docs.c.article_id < key.id))


def _newest_body_matches(conn: Connection, stmt: Select[Any], limit: int,
                         after: SortKey | None, *, by_index: bool = False) -> list[SortKey]:
    """The newest ``limit`` rows of ``stmt`` (after ``after``, if given), looked for in
    growing windows back from the newest indexed article (or from ``after``): a window
    holding ``limit`` matches holds the newest ones (the rest are older), and only its
    candidates are read. Checking a phrase, for one, reads each candidate's whole vector; a
    common pair of words is a candidate in thousands of articles, and a day of them is
    enough. ``by_index``: let the GIN index pick a window's candidates (a bitmap) rather
    than walking every article of the window by date — for a phrase, which is checked on
    each candidate's word positions (its whole vector)."""
    newest = conn.execute(select(func.max(_docs.c.dated_at))).scalar()
    if by_index:  # after max(), which needs the index scan
        conn.execute(text("SELECT set_config('enable_indexscan', 'off', true)"))
    if after is not None:
        stmt = stmt.where(_after(_docs.c.dated_at, after))
        newest = after.at if newest is None or after.at is None else min(newest, after.at)
    ordered = stmt.order_by(_docs.c.dated_at.desc(), _docs.c.article_id.desc()).limit(limit)
    for window in (*_WINDOWS, None):
        query = ordered if window is None or newest is None else ordered.where(
            _docs.c.dated_at >= min(newest, datetime.now(UTC)) - window)
        rows = [SortKey(tier=1, id=int(r[0]), rank=float(r[1]), at=r[2])
                for r in conn.execute(query)]
        if len(rows) == limit or window is None or newest is None:
            return rows
    return []


def _has_phrase(node: Query) -> bool:
    if isinstance(node, Phrase):
        return len(node.text.split()) > 1
    if isinstance(node, And | Or):
        return any(_has_phrase(n) for n in node.nodes)
    if isinstance(node, Not):
        return _has_phrase(node.node)
    return False


class PostgresSearch(SearchBackend):
    """:class:`~storage.search_base.SearchBackend` on PostgreSQL (``tsvector``, GIN)."""

    queued = True

    def matches(self, node: Query) -> ColumnElement[bool]:
        return Article.id.in_(select(_docs.c.article_id).where(
            _docs.c.search_vector.op("@@", return_type=Boolean)(to_tsquery(node))))

    def ranked(self, engine: Engine, node: Query, filters: SearchFilters, limit: int,
               after: SortKey | None = None) -> list[SortKey]:
        """In two steps, each served by its own GIN index: the articles whose headline
        (title and highlights) matches, ranked; then, if they are fewer than ``limit``,
        those matching in the body only, newest first. Ranking every match of a common word
        would read every match's row; the headline matches are a small share of them."""
        q = to_tsquery(node)
        in_headline = _docs.c.headline_vector.op("@@", return_type=Boolean)(q)
        anywhere = _docs.c.search_vector.op("@@", return_type=Boolean)(q)
        rank = func.ts_rank_cd(_docs.c.headline_vector, q, 32, type_=Float)
        # Both steps order by the documents' own copy of the date: with no filter, the
        # articles table is not read at all (joining it to every headline match to sort by
        # its date cost as much as the ranking).
        base: Select[Any] = select(_docs.c.article_id, rank.label("rank"), _docs.c.dated_at)
        if has_filters(filters):
            # A join, not "article_id IN (filtered ids)": the planner then reads each filtered
            # article's document (thousands, for an entity) rather than the matches.
            base = (filtered_ids(filters).add_columns(rank.label("rank"), _docs.c.dated_at)
                    .join(_docs, _docs.c.article_id == Article.id))
        keys: list[SortKey] = []
        with engine.connect() as conn:
            # The planner does not cost reading the (large, compressed) tsvector, so for a
            # common word it picks a sequential scan that decompresses every row's vector:
            # five to ten times slower than the GIN index. A parallel plan only takes the
            # cores the other requests are using. Only this transaction is affected.
            conn.execute(text("SELECT set_config('enable_seqscan', 'off', true), "
                              "set_config('max_parallel_workers_per_gather', '0', true)"))
            if after is None or after.tier == 0:
                # A positive query that the headline satisfies is satisfied by the whole text
                # (whose vector starts with the headline's); one with NOT must be checked on
                # the whole text.
                first = base.where(in_headline, *([anywhere] if has_not(node) else []))
                if after is not None:
                    # ts_rank_cd is a real: compare as one, or a rank read back as a double
                    # would never equal itself.
                    last = cast(bindparam("after_rank", after.rank), REAL)
                    first = first.where(or_(rank < last, and_(rank == last,
                                                              _after(_docs.c.dated_at, after))))
                keys = [SortKey(tier=0, id=int(r[0]), rank=float(r[1]), at=r[2])
                        for r in conn.execute(first.order_by(
                            rank.desc(), _docs.c.dated_at.desc(), _docs.c.article_id.desc())
                            .limit(limit))]
            if len(keys) < limit:
                rest = base.where(anywhere, ~in_headline)
                keys += _newest_body_matches(
                    conn, rest, limit - len(keys),
                    after if after is not None and after.tier == 1 else None,
                    by_index=_has_phrase(node))
        return keys

    def snippets(self, node: Query, ids: Sequence[int]) -> Select[Any]:
        doc = func.concat_ws(
            " … ",
            select(func.string_agg(column("value"), " … "))
            .select_from(func.json_array_elements_text(Article.highlights).alias("h"))
            .scalar_subquery(),
            Article.body)
        opts = (f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, "
                "MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"")
        stmt = select(Article.id, func.ts_headline(
            literal(TS_CONFIG, REGCONFIG), doc, to_tsquery(node), bindparam("opts", opts)))
        return stmt.where(Article.id.in_(ids))

    def queue(self, conn: Connection, article_ids: Sequence[int]) -> None:
        if not article_ids:
            return
        conn.execute(text(
            "INSERT INTO search_queue (article_id) SELECT unnest(:ids) ON CONFLICT DO NOTHING"
        ).bindparams(bindparam("ids", type_=ARRAY(BigInteger))), {"ids": list(article_ids)})

    def queue_all(self, engine: Engine) -> int:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO search_queue (article_id) SELECT id FROM articles "
                              "ON CONFLICT DO NOTHING"))
            return int(conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one())

    def index_ids(self, engine: Engine, article_ids: Sequence[int]) -> None:
        if not article_ids:
            return
        with engine.begin() as conn:
            conn.execute(_INDEX_IDS, {"ids": list(article_ids)})

    def pending(self, engine: Engine) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one())

    def index_pending(self, engine: Engine, *, batch: int, limit: int | None,
                      progress: Callable[[int], None] | None,
                      stop: Callable[[], bool] | None) -> int:
        done = 0
        while (limit is None or done < limit) and not (stop is not None and stop()):
            n = batch if limit is None else min(batch, limit - done)
            with engine.begin() as conn:
                taken, _written = conn.execute(_INDEX_NEXT, {"n": n}).one()
            if not taken:
                break
            done += int(taken)
            if progress is not None:
                progress(int(taken))
        return done
