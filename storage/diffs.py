"""Word-level differences between two versions of an article, and whether a change matters.

:func:`word_diff` lines up two texts word by word (``difflib``), :func:`figures` finds the
numbers in a run of words, and :func:`describe_change` says in one line what changed between
two versions of an article — a corrected figure, a new headline, revised text — or None when
the change is not material (spacing, punctuation, a word or two of copy-editing). Pure
functions: the digest, ``newsmon show --diff`` and the web page use them on
``article_versions`` rows.

What counts as material is a rule written down here, not a threshold fitted to data: any
changed figure, any changed headline word, or body edits touching at least
``MATERIAL_WORDS`` words or ``MATERIAL_SHARE`` of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

# Body edits smaller than both of these are copy-editing, not a revision.
MATERIAL_WORDS = 12
MATERIAL_SHARE = 0.05
# A headline quoted in a change line is cut at this many characters.
QUOTE_CHARS = 80

_TOKEN = re.compile(r"\S+")
_FIGURE = re.compile(r"[$€£₹¥]?\d[\d,.]*(?:\s?%)?")
_EDGE_PUNCT = ".,;:!?\"'“”‘’()[]"

Op = Literal["equal", "delete", "insert", "replace"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of words that is the same in both texts (``equal``) or differs (the rest):
    ``old`` holds the first text's words of the run, ``new`` the second's."""

    op: Op
    old: tuple[str, ...]
    new: tuple[str, ...]


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def _norm(word: str) -> str:
    return word.strip(_EDGE_PUNCT).lower()


def word_diff(old: str | None, new: str | None) -> list[Chunk]:
    """The two texts as runs of equal and changed words, in order. Words are compared
    without case and edge punctuation, so "Navy," and "navy" are the same word; each chunk
    keeps the words as written."""
    a, b = tokens(old), tokens(new)
    matcher = SequenceMatcher(None, [_norm(w) for w in a], [_norm(w) for w in b],
                              autojunk=False)
    return [Chunk(op, tuple(a[i1:i2]), tuple(b[j1:j2]))
            for op, i1, i2, j1, j2 in matcher.get_opcodes()]


def condensed(chunks: list[Chunk], context: int = 8) -> list[Chunk | None]:
    """``chunks`` with long equal runs cut to ``context`` words either side of a change;
    None marks where words were left out. An unchanged text gives ``[]``."""
    if all(c.op == "equal" for c in chunks):
        return []
    out: list[Chunk | None] = []
    last = len(chunks) - 1
    for i, c in enumerate(chunks):
        if c.op != "equal" or len(c.old) <= 2 * context:
            out.append(c)
            continue
        head = c.old[:context] if i > 0 else ()
        tail = c.old[-context:] if i < last else ()
        if head:
            out.append(Chunk("equal", head, c.new[:context]))
        out.append(None)
        if tail:
            out.append(Chunk("equal", tail, c.new[-context:]))
    return out


def figures(words: tuple[str, ...] | list[str]) -> list[str]:
    """The numbers among ``words`` as written ("36,000", "₹2.1", "12%"), in order."""
    out: list[str] = []
    for w in words:
        for m in _FIGURE.finditer(w):
            fig = m.group(0).rstrip(".,")
            if any(ch.isdigit() for ch in fig):
                out.append(fig)
    return out


def _changed_words(chunks: list[Chunk]) -> tuple[int, int]:
    removed = sum(len(c.old) for c in chunks if c.op != "equal")
    added = sum(len(c.new) for c in chunks if c.op != "equal")
    return removed, added


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text}”" if len(text) <= QUOTE_CHARS else f"“{text[:QUOTE_CHARS - 1]}…”"


def _figure_change(chunks: list[Chunk]) -> str | None:
    """"figure corrected: 36,000 → 38,000" for the first changed run whose numbers differ."""
    for c in chunks:
        if c.op == "equal":
            continue
        was, now = figures(c.old), figures(c.new)
        if was != now and (was or now):
            if was and now:
                return f"figure corrected: {', '.join(was[:2])} → {', '.join(now[:2])}"
            if now:
                return f"figure added: {', '.join(now[:2])}"
            return f"figure removed: {', '.join(was[:2])}"
    return None


def describe_change(old_title: str, old_body: str | None, new_title: str,
                    new_body: str | None) -> str | None:
    """One line saying what changed from the old version to the new, or None when nothing
    material did (see the module docstring). A changed figure is named first, then a new
    headline, then the size of the body's revision."""
    title_chunks = word_diff(old_title, new_title)
    title_changed = any(c.op != "equal" for c in title_chunks)
    parts: list[str] = []
    body_chunks: list[Chunk] = []
    if old_body is not None and new_body is not None:
        body_chunks = word_diff(old_body, new_body)
    figure = _figure_change(title_chunks) or _figure_change(body_chunks)
    if figure:
        parts.append(figure)
    if title_changed:
        parts.append(f"headline now {_quote(new_title)}")
    removed, added = _changed_words(body_chunks)
    size = max(len(tokens(old_body)), 1)
    if max(removed, added) >= MATERIAL_WORDS or max(removed, added) >= MATERIAL_SHARE * size:
        if removed or added:
            parts.append(f"text revised (+{added} / −{removed} words)")
    return "; ".join(parts) or None


__all__ = ["Chunk", "condensed", "describe_change", "figures", "tokens", "word_diff"]
