"""Re-fetch revisions: whether a re-fetch may replace a stored article, and version texts.

:func:`judge` is the policy (a pure function) the store asks before a re-fetch with new
content replaces the stored article: a re-fetch much worse than the stored text — a wall, a
stub, a redirect to another page, a body that lost most of its words, a title that became a
wall or the site's name — never replaces it; the store keeps it as a rejected version with
the reason :func:`judge` gives. :func:`pack` and :func:`unpack` compress a version's texts.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from storage.article import ArticleRecord

# A re-fetch whose body keeps fewer than this share of the stored body's words lost them.
MIN_KEPT_WORDS = 0.5
# A body this short is a stub (a teaser, a "subscribe to read" box), not an article.
STUB_WORDS = 40
# A redirected re-fetch is the same article (moved) only if it keeps this share of the
# stored body's word 3-grams; another article, a section or a listing keeps almost none.
MIN_SHARED_SHINGLES = 0.5
# Index pages that are a site's front page as much as "/" is.
_FRONT_PATHS = re.compile(r"^/?((index|default|home|start)(\.[a-z]{2,5})?)?/?$", re.I)
_WORD = re.compile(r"\w+")
_VARYING = re.compile(r"'[^']*'|\d+")
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:·•»]\s+")


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store has of an article, as :func:`judge` compares it."""

    title: str
    body: str


def is_front_page(url: str) -> bool:
    """Whether ``url`` (absolute, or a URL key ``host/path?query``) is a site's front page —
    path "/" or empty (or an index page), no query — rather than an article."""
    if "://" in url:
        parts = urlsplit(url)
        path, query = parts.path, parts.query
    else:
        rest = url.partition("/")[2]
        path, _, query = rest.partition("?")
    return not query and bool(_FRONT_PATHS.match(path))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + 3]) for i in range(max(len(tokens) - 2, 0))}


def site_names(title: str) -> set[str]:
    """The short parts of a page title that name the site ("… | Test Wire" -> {"test
    wire"}); a title with no separator has none."""
    parts = [p.strip().lower() for p in _TITLE_SPLIT.split(title) if p.strip()]
    return {p for p in parts if len(words(p)) <= 4} if len(parts) > 1 else set()


def judge(stored: Stored, rec: ArticleRecord) -> str | None:
    """Why the re-fetch ``rec`` must not replace the ``stored`` article, or None if it may."""
    if rec.wall:
        return f"wall: {rec.wall}"
    if rec.redirected_to and is_front_page(rec.redirected_to):
        return f"redirected to the front page {rec.redirected_to}"
    title = " ".join(rec.title.split())
    if not title:
        return "no title"
    old, new = words(stored.body), words(rec.body)
    if len(new) < STUB_WORDS <= len(old):
        return f"stub: {len(new)} words (stored: {len(old)})"
    if old and len(new) < MIN_KEPT_WORDS * len(old):
        return (f"body lost most of its words: {len(new)} of {len(old)} "
                f"({len(new) / len(old):.0%})")
    if rec.redirected_to and old:
        kept = _shingles(old)
        shared = len(kept & _shingles(new)) / len(kept) if kept else 1.0
        if shared < MIN_SHARED_SHINGLES:
            return f"redirected to another page {rec.redirected_to} ({shared:.0%} of the text)"
    low = title.lower()
    names = site_names(stored.title)
    unrelated = not set(words(low)) & set(words(stored.title)) and len(words(low)) <= 3
    if low != stored.title.strip().lower() and (low in names or unrelated):
        return f"title became the site's: {title!r} (stored: {stored.title!r})"
    return None


def reason_kind(reason: str) -> str:
    """What kind of rejection ``reason`` is: the reason without its quoted parts and numbers
    (a Ray ID, a reference, word counts), which change from one fetch to the next."""
    return _VARYING.sub("", reason)


def pack(text: str | None) -> bytes | None:
    """``text`` zlib-compressed (UTF-8); None stays None."""
    return None if text is None else zlib.compress(text.encode("utf-8"), 6)


def unpack(data: bytes | None) -> str | None:
    return None if data is None else zlib.decompress(data).decode("utf-8")


def pack_list(items: list[str] | None) -> bytes | None:
    return None if items is None else pack(json.dumps(items, ensure_ascii=False))


def unpack_list(data: bytes | None) -> list[str] | None:
    text = unpack(data)
    return None if text is None else list(json.loads(text))


__all__ = ["MIN_KEPT_WORDS", "MIN_SHARED_SHINGLES", "STUB_WORDS", "Stored", "is_front_page",
           "judge", "pack", "pack_list", "reason_kind", "site_names", "unpack", "unpack_list",
           "words"]
