"""WatchlistMatcher: a watchlist's query and filters evaluated on one article in memory.

The query is the search query language (:mod:`storage.query_language`), read as the search
index reads it: words are runs of letters and digits, compared case- and accent-blind, over
the title, highlights, summary and body. ``topics`` / ``entities`` / ``sources`` each pass
when the list is empty or the article has one of them (an entity may be an id,
``country:ph``, or a bare slug, ``ph``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from config.watchlists import Watchlist
from storage.query_language import And, Not, Or, Phrase, Prefix, Query, Term, parse_query

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """``text``'s words, folded as FTS5's unicode61 tokenizer folds them."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded)


class MatchableArticle(Protocol):
    title: str
    highlights: list[str]
    summary: str | None
    body: str
    source: str
    topics: dict[str, float]
    entities: dict[str, int]


@dataclass(slots=True)
class _Text:
    seq: list[str]
    vocab: frozenset[str]

    @classmethod
    def of(cls, art: MatchableArticle) -> _Text:
        seq: list[str] = []
        for part in (art.title, *art.highlights, art.summary or "", art.body):
            seq.extend(words(part))
            seq.append("\x00")  # a phrase never runs across two fields
        return cls(seq, frozenset(seq))


def _has_phrase(seq: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    first = phrase[0]
    return any(seq[i] == first and seq[i:i + n] == phrase
               for i in range(len(seq) - n + 1))


def _eval(node: Query, text: _Text) -> bool:
    if isinstance(node, Term):
        ws = words(node.text)
        return bool(ws) and (ws[0] in text.vocab if len(ws) == 1 else _has_phrase(text.seq, ws))
    if isinstance(node, Phrase):
        ws = words(node.text)
        return bool(ws) and _has_phrase(text.seq, ws)
    if isinstance(node, Prefix):
        stem = words(node.stem)
        return bool(stem) and any(w.startswith(stem[0]) for w in text.vocab)
    if isinstance(node, Not):
        return not _eval(node.node, text)
    if isinstance(node, And):
        return all(_eval(n, text) for n in node.nodes)
    if isinstance(node, Or):
        return any(_eval(n, text) for n in node.nodes)
    raise TypeError(f"unknown query node {node!r}")


class WatchlistMatcher:
    """Whether an article matches ``watchlist``; :meth:`matched` says which terms hit."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        node = parse_query(watchlist.query)
        assert node is not None, "config.watchlists validated the query"
        self.node: Query = node
        self._terms = [t for t in _leaves(node)]

    def _filters(self, art: MatchableArticle) -> bool:
        wl = self.watchlist
        if wl.sources and art.source not in wl.sources:
            return False
        if wl.topics and not set(wl.topics) & set(art.topics):
            return False
        if wl.entities:
            ids = set(art.entities)
            slugs = {e.split(":", 1)[-1] for e in ids}
            if not any((e in ids) if ":" in e else (e in slugs) for e in wl.entities):
                return False
        return True

    def matches(self, art: MatchableArticle, text: _Text | None = None) -> bool:
        return self._filters(art) and _eval(self.node, text or _Text.of(art))

    def matched(self, art: MatchableArticle, text: _Text | None = None) -> list[str]:
        """The query's words, phrases and prefixes found in ``art`` (for the alert)."""
        text = text or _Text.of(art)
        return [label for label, leaf in self._terms if _eval(leaf, text)]


def _leaves(node: Query) -> list[tuple[str, Query]]:
    if isinstance(node, Term):
        return [(node.text, node)]
    if isinstance(node, Phrase):
        return [(f'"{node.text}"', node)]
    if isinstance(node, Prefix):
        return [(f"{node.stem}*", node)]
    if isinstance(node, Not):
        return []
    out: list[tuple[str, Query]] = []
    for n in node.nodes:
        out.extend(_leaves(n))
    return out


def article_text(art: MatchableArticle) -> _Text:
    """The article's words, computed once and shared by every watchlist."""
    return _Text.of(art)


__all__ = ["MatchableArticle", "WatchlistMatcher", "article_text", "words"]
