"""Full-text search over articles, on SQLite (FTS5) and PostgreSQL (tsvector), one API.

Contract: :func:`search` parses a query string with :func:`storage.query_language.parse_query`
(raising :class:`QuerySyntaxError` before anything reaches the database), or takes no query
(newest first), applies :class:`SearchFilters`, and returns :class:`SearchHit` rows, best
first, each with a snippet whose matches are wrapped in the caller's marks. User text only
ever travels as bound parameters: the FTS5 MATCH expression is bound, and PostgreSQL terms are
bound values of ``plainto_tsquery`` and friends joined by ``&&``/``||``/``!!``.

Ranking: title, highlights and body all count for matching; the order comes from the headline.
The articles whose title and highlights satisfy the whole query come first, by SQLite's
``bm25`` or PostgreSQL's ``ts_rank_cd`` over the title (weighted most) and the highlights, then
newest first; the articles that match only with their body follow, newest first (SQLite: most
recently stored first). ``rank`` is higher-is-better on both databases, but the two scales
differ. :func:`search_page` pages with a keyset cursor (:mod:`storage.search_cursor`).
Stemming is English on both (FTS5 ``porter``, the ``english`` configuration); PostgreSQL drops
stop words (a query of only ``the`` finds nothing there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, or_, select

from storage.models import Article, SourceRow
from storage.query_language import (
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
)
from storage.search_base import SNIPPET_WORDS, START, STOP, SearchBackend
from storage.search_cursor import CursorError, SortKey, decode_cursor, encode_cursor
from storage.search_filters import SearchFilters, dated_at, filtered_ids
from storage.search_index import backend_for
from storage.store import Store

# The API of search: the query language's names, and the filters and time that search()
# takes and orders by (defined in storage.search_filters, which the back-ends share).
__all__ = [
    "And", "CursorError", "Not", "Or", "Phrase", "Prefix", "Query", "QuerySyntaxError",
    "SearchFilters", "SearchHit", "SearchPage", "Term", "dated_at", "parse_query", "search",
    "search_page", "to_fts5",
]


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


def _ranked_ids(store: Store, backend: SearchBackend, node: Query | None,
                filters: SearchFilters, limit: int, order: str, after: SortKey | None
                ) -> list[SortKey]:
    if node is None or order == "date":
        at = dated_at()
        stmt = filtered_ids(filters).add_columns(at)
        if node is not None:
            stmt = stmt.where(backend.matches(node))
        if after is not None:
            assert after.at is not None
            stmt = stmt.where(or_(at < after.at, and_(at == after.at, Article.id < after.id)))
        stmt = stmt.order_by(at.desc(), Article.id.desc()).limit(limit)
        with store.engine.connect() as conn:
            return [SortKey(tier=1, id=int(r[0]), at=r[1]) for r in conn.execute(stmt)]
    return backend.ranked(store.engine, node, filters, limit, after)


def _lead(highlights: list[str] | None, summary: str | None, body: str) -> str:
    for part in (*(highlights or []), summary or "", body):
        words = part.split()
        if words:
            return " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS
                                                      else "")
    return ""


def _marked(snippet: str, marks: tuple[str, str]) -> str:
    # PostgreSQL marks each word of a phrase on its own: join neighbours into one mark.
    snippet = re.sub(f"{STOP}(\\s+){START}", r"\1", snippet)
    return snippet.replace(START, marks[0]).replace(STOP, marks[1])


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of hits and the cursor of the next (None: this is the last)."""

    hits: list[SearchHit]
    next_cursor: str | None


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
    return [h for h, _ in _search(store, query, filters, limit, order, marks, None)]


def search_page(
    store: Store,
    query: Query | str | None,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    order: Literal["rank", "date"] = "rank",
    marks: tuple[str, str] = ("**", "**"),
    cursor: str | None = None,
) -> SearchPage:
    """One page of :func:`search`'s hits: the first, or the one after ``cursor`` (the
    ``next_cursor`` of the page before, for the same query, filters and order: see
    :mod:`storage.search_cursor`). Raises :class:`CursorError` for a cursor that is not one,
    as well as what :func:`search` raises."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after = decode_cursor(cursor, order) if cursor is not None else None
    found = _search(store, query, filters, limit + 1, order, marks, after)
    if len(found) <= limit:
        return SearchPage([h for h, _ in found], None)
    return SearchPage([h for h, _ in found[:limit]], encode_cursor(order, found[limit - 1][1]))


def _search(store: Store, query: Query | str | None, filters: SearchFilters | None,
            limit: int, order: Literal["rank", "date"], marks: tuple[str, str],
            after: SortKey | None) -> list[tuple[SearchHit, SortKey]]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    node = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    backend = backend_for(store.engine)
    ranked = _ranked_ids(store, backend, node, filters, limit, order, after)
    ids = [k.id for k in ranked]
    if not ids:
        return []
    snippets: dict[int, str] = {}
    with store.engine.connect() as conn:
        if node is not None:
            snippets = {int(i): s or "" for i, s in conn.execute(backend.snippets(node, ids))}
        rows = {r.id: r for r in conn.execute(
            select(Article.id, Article.title, SourceRow.name.label("source"),
                   Article.canonical_url, dated_at().label("dated_at"), Article.published_at,
                   Article.primary_topic, Article.story_id, Article.highlights,
                   Article.summary, Article.body)
            .join(SourceRow, SourceRow.id == Article.source_id)
            .where(Article.id.in_(ids)))}
    hits: list[tuple[SearchHit, SortKey]] = []
    for key in ranked:
        r = rows[key.id]
        snippet = snippets.get(key.id) or _lead(r.highlights, r.summary, r.body)
        hits.append((SearchHit(
            id=key.id, title=r.title, source=r.source, url=r.canonical_url,
            dated_at=r.dated_at, published_at=r.published_at, primary_topic=r.primary_topic,
            story_id=r.story_id, rank=key.rank if order == "rank" and node is not None
            else None, snippet=_marked(snippet, marks),
        ), key))
    return hits
