"""WatchlistMatcher: a watchlist's query and filters evaluated on one article in memory.

The query is the search query language (:mod:`storage.query_language`), read as the search
index reads it: words are runs of letters and digits, compared case- and accent-blind, over
the title, highlights, summary and body. ``topics`` / ``entities`` / ``sources`` each pass
when the list is empty or the article has one of them (an entity may be an id,
``country:ph``, or a bare slug, ``ph``)."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from config.watchlists import Watchlist
from storage.query_language import And, Not, Or, Phrase, Prefix, Query, Term, parse_query

_WORD = re.compile(r"[^\W_]+")


@functools.cache
def _strip_marks() -> dict[int, None]:
    """A ``str.translate`` table deleting every combining mark (built once, ~0.2 s)."""
    return {cp: None for cp in range(sys.maxunicode + 1)
            if unicodedata.combining(chr(cp))}


def words(text: str) -> list[str]:
    """``text``'s words, folded as FTS5's unicode61 tokenizer folds them."""
    folded = text.casefold()
    if not folded.isascii():  # ASCII has nothing to decompose: skip the Unicode work
        folded = unicodedata.normalize("NFKD", folded).translate(_strip_marks())
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


_Test = Callable[[_Text], bool]


def _compile(node: Query) -> _Test:
    """``node`` as one function of an article's words: the query's words are folded here,
    once per watchlist, not once per article."""
    if isinstance(node, Term | Phrase):
        ws = words(node.text)
        if not ws:
            return lambda text: False
        if len(ws) == 1 and isinstance(node, Term):
            word = ws[0]
            return lambda text: word in text.vocab
        return lambda text: ws[0] in text.vocab and _has_phrase(text.seq, ws)
    if isinstance(node, Prefix):
        stem = words(node.stem)
        if not stem:
            return lambda text: False
        first = stem[0]
        return lambda text: any(w.startswith(first) for w in text.vocab)
    if isinstance(node, Not):
        inner = _compile(node.node)
        return lambda text: not inner(text)
    if isinstance(node, And):
        parts = [_compile(n) for n in node.nodes]
        return lambda text: all(p(text) for p in parts)
    if isinstance(node, Or):
        parts = [_compile(n) for n in node.nodes]
        return lambda text: any(p(text) for p in parts)
    raise TypeError(f"unknown query node {node!r}")


class WatchlistMatcher:
    """Whether an article matches ``watchlist``; :meth:`matched` says which terms hit."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        node = parse_query(watchlist.query)
        assert node is not None, "config.watchlists validated the query"
        self.node: Query = node
        self._test = _compile(node)
        self._terms = [(label, _compile(leaf)) for label, leaf in _leaves(node)]
        #: Words of which an article must carry one to match (None: no such set is known).
        self.required = _required(node)

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
        return self._filters(art) and self._test(text or _Text.of(art))

    def matched(self, art: MatchableArticle, text: _Text | None = None) -> list[str]:
        """The query's words, phrases and prefixes found in ``art`` (for the alert)."""
        text = text or _Text.of(art)
        return [label for label, test in self._terms if test(text)]


def _required(node: Query) -> frozenset[str] | None:
    """A set of words one of which every matching article has, or None (a prefix, a NOT)."""
    if isinstance(node, Term | Phrase):
        ws = words(node.text)
        return frozenset(ws[:1])  # no word at all: it never matches
    if isinstance(node, And):
        sets = [r for r in map(_required, node.nodes) if r is not None]
        return min(sets, key=len) if sets else None
    if isinstance(node, Or):
        out: set[str] = set()
        for n in node.nodes:
            part = _required(n)
            if part is None:
                return None
            out |= part
        return frozenset(out)
    return None


class MatcherIndex:
    """The matchers an article can match, found from its words rather than by trying each:
    a matcher is listed under its required words (:attr:`WatchlistMatcher.required`), or
    tried on every article when it has none."""

    def __init__(self, matchers: list[WatchlistMatcher]) -> None:
        self.matchers = matchers
        self._always: list[int] = []
        self._by_word: dict[str, list[int]] = {}
        for i, m in enumerate(matchers):
            if m.required is None:
                self._always.append(i)
            for word in m.required or ():
                self._by_word.setdefault(word, []).append(i)

    def candidates(self, text: _Text) -> set[int]:
        """Indexes (into ``matchers``) of those that may match ``text``."""
        out = set(self._always)
        by_word = self._by_word
        if len(by_word) < len(text.vocab):
            for word, found in by_word.items():
                if word in text.vocab:
                    out.update(found)
        else:
            for word in text.vocab:
                if word in by_word:
                    out.update(by_word[word])
        return out


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


__all__ = ["MatchableArticle", "MatcherIndex", "WatchlistMatcher", "article_text", "words"]
