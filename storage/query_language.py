"""The search query language: parsed once into a tree, rendered for FTS5 or PostgreSQL.

Words (``tariff``), phrases (``"free trade agreement"``), prefixes (``missil*``), ``AND`` (also
implied by a space), ``OR``, ``NOT`` or a leading ``-`` to exclude, and parentheses. Operators
are upper-case; ``and``/``or``/``not`` are ordinary words. An exclusion must sit beside
something to find (``tariff -steel``), never alone or as one side of ``OR``.

Contract: :func:`parse_query` returns the tree (None when there is nothing to search for) or
raises :class:`QuerySyntaxError`, whose message says what is wrong and how to write it instead.
:func:`to_fts5` and :func:`to_tsquery` never let user text act as syntax: every FTS5 term is a
quoted string, every PostgreSQL term a bound value of ``plainto_tsquery``/``phraseto_tsquery``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, func, literal

TS_CONFIG = "english"


class QuerySyntaxError(ValueError):
    """A search query that cannot be run; the message says what is wrong and how to fix it."""

    def __init__(self, problem: str, query: str, position: int | None = None) -> None:
        self.problem = problem
        self.query = query
        self.position = position
        where = f" (at character {position + 1})" if position is not None else ""
        super().__init__(f"{problem}{where}")


# -- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """One word; the database's tokenizer decides what a word is (``U.S.``, ``anti-dumping``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words that must appear together, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class Prefix:
    """Any word starting with ``stem`` (letters and digits only)."""

    stem: str


@dataclass(frozen=True, slots=True)
class Not:
    node: Query


@dataclass(frozen=True, slots=True)
class And:
    nodes: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Or:
    nodes: tuple[Query, ...]


Query = Term | Phrase | Prefix | Not | And | Or

# -- parsing -------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r'\s+|"|\(|\)|[^\s"()]+')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORDISH = re.compile(r"[^\W_]")  # a letter or digit
_PREFIX_RE = re.compile(r"^(\w+)\*$")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: Literal["word", "phrase", "lparen", "rparen", "and", "or", "not", "minus"]
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError('unterminated phrase: add the closing "', text, i)
            out.append(_Tok("phrase", text[i + 1 : end], i))
            i = end + 1
        elif ch in "()":
            out.append(_Tok("lparen" if ch == "(" else "rparen", ch, i))
            i += 1
        else:
            m = _TOKEN_RE.match(text, i)
            assert m is not None
            word = m.group()
            if word == "AND":
                out.append(_Tok("and", word, i))
            elif word == "OR":
                out.append(_Tok("or", word, i))
            elif word == "NOT":
                out.append(_Tok("not", word, i))
            elif word.startswith("-") and (len(word) > 1 or text[i + 1 : i + 2] in ('"', "(")):
                out.append(_Tok("minus", "-", i))
                # The rest is read again on the next turn (a word, or a quoted phrase).
                i += 1
                continue
            else:
                out.append(_Tok("word", word, i))
            i = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def error(self, problem: str, pos: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(problem, self.text, pos)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Query | None:
        if not self.toks:
            return None
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            assert tok.kind == "rparen"
            raise self.error("unmatched ')': remove it or add a '(' before it", tok.pos)
        return node

    def or_expr(self) -> Query | None:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.take()
            if self.peek() is None or self.peek().kind in ("rparen", "or"):  # type: ignore[union-attr]
                raise self.error("'OR' needs something to find on both sides, as in "
                                 "'tariff OR duty'", tok.pos)
            parts.append(self.and_expr())
        kept = [p for p in parts if p is not None]
        if len(parts) > 1 and any(isinstance(p, Not) for p in kept):
            raise self.error("an exclusion cannot be one side of 'OR': exclude it from the "
                             "whole query instead, as in '(tariff OR duty) -steel'")
        if len(kept) > 1:
            return Or(tuple(kept))
        return kept[0] if kept else None

    def and_expr(self) -> Query | None:
        parts: list[Query | None] = []
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rparen"):
            if tok.kind == "and":
                self.take()
                nxt = self.peek()
                if not parts or nxt is None or nxt.kind in ("and", "or", "rparen"):
                    raise self.error("'AND' needs something to find on both sides, as in "
                                     "'india AND tariff'", tok.pos)
                continue
            parts.append(self.unary())
        if not parts:
            tok = self.peek()
            if tok is not None and tok.kind == "or":
                raise self.error("'OR' needs something to find on both sides, as in "
                                 "'tariff OR duty'", tok.pos)
            if tok is not None and tok.kind == "rparen":
                raise self.error("empty parentheses or unmatched ')': put words inside, "
                                 "as in '(tariff OR duty)'", tok.pos)
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        return And(tuple(kept))

    def unary(self) -> Query | None:
        tok = self.take()
        if tok.kind in ("not", "minus"):
            nxt = self.peek()
            if nxt is None or nxt.kind in ("and", "or", "rparen", "not", "minus"):
                what = "NOT" if tok.kind == "not" else "'-'"
                raise self.error(f"{what} needs a word, phrase or group to exclude, as in "
                                 "'tariff -steel'", tok.pos)
            inner = self.unary()
            return Not(inner) if inner is not None else None
        if tok.kind == "lparen":
            node = self.or_expr()
            close = self.peek()
            if close is None:
                raise self.error("unmatched '(': add the closing ')'", tok.pos)
            self.take()
            return node
        if tok.kind == "phrase":
            words = tok.text.split()
            if not any(_WORDISH.search(w) for w in words):
                return None
            return Phrase(" ".join(words)) if len(words) > 1 else Term(words[0])
        assert tok.kind == "word"
        if "*" in tok.text:
            m = _PREFIX_RE.match(tok.text)
            if not m:
                raise self.error(f"{tok.text!r}: '*' only goes at the end of a word of letters "
                                 "and digits, as in 'missil*'", tok.pos)
            return Prefix(m.group(1))
        if not _WORDISH.search(tok.text):
            return None  # punctuation alone: the tokenizers would drop it anyway
        return Term(tok.text)


def _check_exclusions(node: Query, query: str) -> None:
    """Every NOT must have a positive sibling in an AND: FTS5's NOT is binary, and a query
    that only excludes would scan everything."""
    if isinstance(node, Not):
        raise QuerySyntaxError("a query cannot only exclude: add something to find, as in "
                               "'tariff -steel'", query)
    if isinstance(node, And):
        if all(isinstance(n, Not) for n in node.nodes):
            raise QuerySyntaxError("a query cannot only exclude: add something to find, as in "
                                   "'tariff -steel'", query)
        for n in node.nodes:
            _check_exclusions(n.node if isinstance(n, Not) else n, query)
    elif isinstance(node, Or):
        for n in node.nodes:
            _check_exclusions(n, query)


def parse_query(text: str) -> Query | None:
    """Parse ``text``; None when it holds nothing to search for (blank, or punctuation only).

    Raises :class:`QuerySyntaxError` for an unterminated phrase, unbalanced parentheses, a
    dangling operator, a misplaced ``*``, or a query that only excludes.
    """
    # Control characters (NUL among them, which PostgreSQL refuses) are not search text.
    text = _CONTROL.sub(" ", text)
    node = _Parser(text).parse()
    if node is not None:
        _check_exclusions(node, text)
    return node


# -- rendering -----------------------------------------------------------------------------


def _fts5_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def has_not(node: Query) -> bool:
    """Whether ``node`` excludes anything (then a headline that satisfies it may not be a
    match: the excluded word can be in the body)."""
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return any(has_not(n) for n in node.nodes)
    return False


def to_fts5(node: Query) -> str:
    """The FTS5 MATCH expression for ``node``: every term a quoted string, so no user text is
    ever read as FTS5 syntax. The result is bound as a parameter, never put into SQL."""
    if isinstance(node, Term | Phrase):
        return _fts5_string(node.text)
    if isinstance(node, Prefix):
        return _fts5_string(node.stem) + " *"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(n) for n in node.nodes) + ")"
    if isinstance(node, And):
        pos = [to_fts5(n) for n in node.nodes if not isinstance(n, Not)]
        neg = [to_fts5(n.node) for n in node.nodes if isinstance(n, Not)]
        expr = "(" + " AND ".join(pos) + ")"
        for n in neg:
            expr = f"({expr} NOT {n})"
        return expr
    raise AssertionError(f"unchecked exclusion {node!r}")  # _check_exclusions prevents it


def to_tsquery(node: Query) -> ColumnElement[Any]:
    """The PostgreSQL ``tsquery`` expression for ``node``, every term a bound value."""
    from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY  # not imported on SQLite

    cfg = literal(TS_CONFIG, REGCONFIG)
    if isinstance(node, Term):
        return func.plainto_tsquery(cfg, bindparam(None, node.text), type_=TSQUERY)
    if isinstance(node, Phrase):
        return func.phraseto_tsquery(cfg, bindparam(None, node.text), type_=TSQUERY)
    if isinstance(node, Prefix):
        # The stem is letters and digits only (checked by the parser): nothing in it is
        # tsquery syntax. It is still a bound value.
        return func.to_tsquery(cfg, bindparam(None, node.stem + ":*"), type_=TSQUERY)
    if isinstance(node, Not):
        return func.tsquery_not(to_tsquery(node.node), type_=TSQUERY)
    op = "&&" if isinstance(node, And) else "||"
    parts = [to_tsquery(n) for n in node.nodes]
    expr = parts[0]
    for p in parts[1:]:
        expr = expr.op(op, return_type=TSQUERY)(p)
    return expr.self_group()
