"""Full-text search over articles, on SQLite (FTS5) and PostgreSQL (tsvector), one API.

Contract: :func:`search` parses a query string with :func:`storage.query_language.parse_query`
(raising :class:`QuerySyntaxError` before anything reaches the database), or takes no query
(newest first), applies :class:`SearchFilters`, and returns :class:`SearchHit` rows, best
first, each with a snippet whose matches are wrapped in the caller's marks. User text only
ever travels as bound parameters: the FTS5 MATCH expression is bound, and PostgreSQL terms are
bound values of ``plainto_tsquery`` and friends joined by ``&&``/``||``/``!!``.

Ranking: title, highlights and body all count for matching; the order comes from the headline:
SQLite's ``bm25`` and PostgreSQL's ``ts_rank_cd`` over the title (weighted most) and the
highlights, then newest first, so articles that match only in the body follow the rest, newest
first (SQLite: most recently stored first). On PostgreSQL "the headline matches" means the
title and highlights satisfy the whole query; SQLite's bm25 also ranks a headline that has only
some of the words. ``rank`` is higher-is-better on both databases, but the two scales differ.
Stemming is English on both (FTS5 ``porter``, the ``english`` configuration); PostgreSQL drops
stop words (a query of only ``the`` finds nothing there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Select

from storage.models import Article, ArticleEntity, ArticleTopic, SourceRow
from storage.query_language import (
    TS_CONFIG,
    And,
    Not,
    Or,
    Phrase,
    Prefix,
    Query,
    QuerySyntaxError,
    Term,
    parse_query,
    to_fts5,
    to_tsquery,
)
from storage.store import Store
from storage.types import UTCDateTime

__all__ = [
    "And", "Not", "Or", "Phrase", "Prefix", "Query", "QuerySyntaxError", "SearchFilters",
    "SearchHit", "Term", "dated_at", "parse_query", "search", "to_fts5",
]

# Match markers inside snippets: control characters no article text carries; the caller's
# marks replace them at the end.
_START, _STOP = "\x02", "\x03"
_SNIPPET_WORDS = 24
# Weights of title, highlights and body in SQLite's bm25. The body counts for matching, not for
# rank: PostgreSQL ranks on a small title-and-highlights vector (reading every match's full
# vector is too slow), and both databases should order alike.
_BM25_WEIGHTS = (10.0, 4.0, 0.0)


# -- running -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Conditions every hit meets; None means no condition. ``since`` is inclusive, ``until``
    exclusive, both on :func:`dated_at`. ``entity`` is an id (``country:us``) or a bare slug
    (``us``) matching any kind."""

    topic: str | None = None
    source: str | None = None
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    story_id: int | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    title: str
    source: str
    url: str
    dated_at: datetime
    published_at: datetime | None
    primary_topic: str | None
    story_id: int | None
    rank: float | None
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "source": self.source, "url": self.url,
            "dated_at": self.dated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "primary_topic": self.primary_topic, "story_id": self.story_id,
            "rank": self.rank, "snippet": self.snippet,
        }


def dated_at() -> ColumnElement[datetime]:
    """When an article counts as dated: its publication time, else when it was first seen."""
    return func.coalesce(Article.published_at, Article.first_seen_at,
                         type_=Article.published_at.type)


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """``since <= dated_at < until``, written so either time index can serve it."""
    conds: list[ColumnElement[bool]] = []
    if since is None and until is None:
        return conds
    pub: list[ColumnElement[bool]] = []
    seen: list[ColumnElement[bool]] = [Article.published_at.is_(None)]
    if since is not None:
        pub.append(Article.published_at >= since)
        seen.append(Article.first_seen_at >= since)
    if until is not None:
        pub.append(Article.published_at < until)
        seen.append(Article.first_seen_at < until)
    conds.append(and_(*pub) | and_(*seen))
    return conds


def filter_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` over ``Article`` joined to ``SourceRow``."""
    conds = _window(filters.since, filters.until)
    if filters.topic is not None:
        conds.append(exists().where(ArticleTopic.article_id == Article.id,
                                    ArticleTopic.topic == filters.topic))
    if filters.source is not None:
        conds.append(SourceRow.name == filters.source)
    if filters.entity is not None:
        if ":" in filters.entity:
            ent: ColumnElement[bool] = ArticleEntity.entity_id == filters.entity
        else:
            ent = ArticleEntity.entity_id.endswith(":" + filters.entity, autoescape=True)
        conds.append(exists().where(ArticleEntity.article_id == Article.id, ent))
    if filters.story_id is not None:
        conds.append(Article.story_id == filters.story_id)
    return conds


_fts = table("articles_fts", column("rowid"))
# PostgreSQL's index (storage.search_index): one row of vectors per indexed article.
_docs = table("search_docs", column("article_id"), column("search_vector"),
              column("headline_vector"), column("dated_at", UTCDateTime()))
# Body-only matches, newest first, are looked for in these windows back from the newest
# article before the whole index is read (PostgreSQL).
_WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=180))


def _base(filters: SearchFilters) -> Select[Any]:
    stmt = select(Article.id).where(*filter_conditions(filters))
    if filters.source is not None:
        stmt = stmt.join(SourceRow, SourceRow.id == Article.source_id)
    return stmt


def _has_filters(filters: SearchFilters) -> bool:
    return any(v is not None for v in (filters.topic, filters.source, filters.entity,
                                       filters.since, filters.until, filters.story_id))


def _ranked_ids(store: Store, node: Query | None, filters: SearchFilters, limit: int,
                order: str) -> list[tuple[int, float | None]]:
    if node is None or order == "date":
        stmt = _base(filters)
        if node is not None:
            stmt = stmt.where(_matches(store, node))
        stmt = stmt.order_by(dated_at().desc(), Article.id.desc()).limit(limit)
        with store.engine.connect() as conn:
            return [(int(r[0]), None) for r in conn.execute(stmt)]
    if store.engine.dialect.name == "postgresql":
        return _ranked_pg(store, node, filters, limit)
    # SQLite: rank inside the FTS table alone (joining every match to articles first costs
    # more than the ranking); filters become a set of ids each match is checked against.
    fts: ColumnElement[Any] = literal_column("articles_fts")
    bm25 = func.bm25(fts, *_BM25_WEIGHTS, type_=Float)
    ranked: Select[Any] = (
        select(_fts.c.rowid, (-bm25).label("rank")).select_from(_fts)
        .where(fts.op("MATCH", return_type=Float)(bindparam("fts_query", to_fts5(node)))))
    if _has_filters(filters):
        # "+rowid": test each match against the filtered ids; a plain rowid constraint is
        # handed to FTS5, which then looks every filtered id up in the index (100x slower).
        ranked = ranked.where(literal_column("+articles_fts.rowid").in_(_base(filters)))
    ranked = ranked.order_by(bm25, _fts.c.rowid.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [(int(r[0]), float(r[1])) for r in conn.execute(ranked)]


def _has_not(node: Query) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return any(_has_not(n) for n in node.nodes)
    return False


def _ranked_pg(store: Store, node: Query, filters: SearchFilters, limit: int
               ) -> list[tuple[int, float | None]]:
    """PostgreSQL, in two steps, each served by its own GIN index: the articles whose
    headline (title and highlights) matches, ranked; then, if they are fewer than ``limit``,
    those matching in the body only, newest first. Ranking every match of a common word
    would read every match's row; the headline matches are a small share of them."""
    q = to_tsquery(node)
    in_headline = _docs.c.headline_vector.op("@@", return_type=Boolean)(q)
    anywhere = _docs.c.search_vector.op("@@", return_type=Boolean)(q)
    rank = func.ts_rank_cd(_docs.c.headline_vector, q, 32, type_=Float)
    base = _base(filters).add_columns(rank.label("rank")).join(
        _docs, _docs.c.article_id == Article.id)
    # A positive query that the headline satisfies is satisfied by the whole text (whose
    # vector starts with the headline's); one with NOT must be checked on the whole text.
    first = base.where(in_headline, *([anywhere] if _has_not(node) else []))
    with store.engine.connect() as conn:
        # The planner does not cost reading the (large, compressed) tsvector, so for a
        # common word it picks a sequential scan that decompresses every row's vector: five
        # to ten times slower than the GIN index. Only this transaction is affected.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        hits: list[tuple[int, float | None]] = [(int(r[0]), float(r[1])) for r in conn.execute(
            first.order_by(rank.desc(), dated_at().desc(), Article.id.desc()).limit(limit))]
        if len(hits) < limit:
            hits.extend(_newest_body_matches(conn, base.where(anywhere, ~in_headline),
                                             limit - len(hits)))
    return hits


def _newest_body_matches(conn: Connection, stmt: Select[Any], limit: int
                         ) -> list[tuple[int, float | None]]:
    """The newest ``limit`` rows of ``stmt``, looked for in growing windows back from the
    newest indexed article: a window holding ``limit`` matches holds the newest ones (the
    rest are older), and only its candidates are read. Checking a phrase, for one, reads
    each candidate's whole vector; a common pair of words is a candidate in thousands of
    articles, and a day of them is enough."""
    newest = conn.execute(select(func.max(_docs.c.dated_at))).scalar()
    ordered = stmt.order_by(_docs.c.dated_at.desc(), Article.id.desc()).limit(limit)
    for window in (*_WINDOWS, None):
        query = ordered if window is None or newest is None else ordered.where(
            _docs.c.dated_at >= min(newest, datetime.now(UTC)) - window)
        rows = [(int(r[0]), float(r[1])) for r in conn.execute(query)]
        if len(rows) == limit or window is None or newest is None:
            return list(rows)
    return []


def _matches(store: Store, node: Query) -> ColumnElement[bool]:
    """``Article`` matches ``node`` (for listings by date, where no rank is needed)."""
    if store.engine.dialect.name == "postgresql":
        return Article.id.in_(select(_docs.c.article_id).where(
            _docs.c.search_vector.op("@@", return_type=Boolean)(to_tsquery(node))))
    match = select(_fts.c.rowid).select_from(_fts).where(
        literal_column("articles_fts").op("MATCH", return_type=Boolean)(
            bindparam("fts_query", to_fts5(node))))
    return Article.id.in_(match)


def _snippets(store: Store, node: Query | None, ids: Sequence[int]) -> dict[int, str]:
    if node is None or not ids:
        return {}
    dialect = store.engine.dialect.name
    if dialect == "postgresql":
        doc = func.concat_ws(
            " … ",
            select(func.string_agg(column("value"), " … "))
            .select_from(func.json_array_elements_text(Article.highlights).alias("h"))
            .scalar_subquery(),
            Article.body)
        opts = (f"StartSel={_START}, StopSel={_STOP}, MaxWords={_SNIPPET_WORDS}, "
                "MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"")
        stmt = select(Article.id, func.ts_headline(
            literal(TS_CONFIG, REGCONFIG), doc, to_tsquery(node), bindparam("opts", opts)))
        stmt = stmt.where(Article.id.in_(ids))
    else:
        fts: ColumnElement[Any] = literal_column("articles_fts")
        stmt = (
            select(literal_column("articles_fts.rowid"), func.snippet(
                fts, -1, bindparam("start", _START), bindparam("stop", _STOP), "…",
                _SNIPPET_WORDS))
            .select_from(_fts)
            .where(fts.op("MATCH")(bindparam("fts_query", to_fts5(node))),
                   _fts.c.rowid.in_(ids)))
    with store.engine.connect() as conn:
        return {int(i): s or "" for i, s in conn.execute(stmt)}


def _lead(highlights: list[str] | None, summary: str | None, body: str) -> str:
    for part in (*(highlights or []), summary or "", body):
        words = part.split()
        if words:
            return " ".join(words[:_SNIPPET_WORDS]) + (" …" if len(words) > _SNIPPET_WORDS
                                                       else "")
    return ""


def _marked(snippet: str, marks: tuple[str, str]) -> str:
    # PostgreSQL marks each word of a phrase on its own: join neighbours into one mark.
    snippet = re.sub(f"{_STOP}(\\s+){_START}", r"\1", snippet)
    return snippet.replace(_START, marks[0]).replace(_STOP, marks[1])


def search(
    store: Store,
    query: Query | str | None,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    order: Literal["rank", "date"] = "rank",
    marks: tuple[str, str] = ("**", "**"),
) -> list[SearchHit]:
    """Articles matching ``query`` (text is parsed first) and ``filters``, best first.

    With no query, the newest articles that pass the filters. ``order="date"`` puts newest
    first even with a query. Raises :class:`QuerySyntaxError` for a malformed query string and
    ``ValueError`` for a limit below 1.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    node = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    ranked = _ranked_ids(store, node, filters, limit, order)
    ids = [i for i, _ in ranked]
    if not ids:
        return []
    snippets = _snippets(store, node, ids)
    with store.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(
            select(Article.id, Article.title, SourceRow.name.label("source"),
                   Article.canonical_url, dated_at().label("dated_at"), Article.published_at,
                   Article.primary_topic, Article.story_id, Article.highlights,
                   Article.summary, Article.body)
            .join(SourceRow, SourceRow.id == Article.source_id)
            .where(Article.id.in_(ids)))}
    hits: list[SearchHit] = []
    for aid, rank in ranked:
        r = rows[aid]
        snippet = snippets.get(aid) or _lead(r.highlights, r.summary, r.body)
        hits.append(SearchHit(
            id=aid, title=r.title, source=r.source, url=r.canonical_url,
            dated_at=r.dated_at, published_at=r.published_at, primary_topic=r.primary_topic,
            story_id=r.story_id, rank=rank,
            snippet=_marked(snippet, marks),
        ))
    return hits
