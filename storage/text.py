"""Text as it enters newsmon: one sanitiser and the field caps, so every database stores the
same thing (PostgreSQL refuses NUL in text; SQLite would keep it) and no field is unbounded.

Contract of :func:`sanitise_record`: every text field of an :class:`ArticleRecord` is cleaned
(:func:`clean_text`) and cut to its cap (:data:`CAPS`, documented in docs/schema.md) in place;
a record whose URL is over its cap cannot be cut (the URL is its identity), so the reason to
drop it is returned instead. Idempotent: a clean record comes out as it went in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from storage.article import ArticleRecord

# C0 controls but \t \n \r, DEL, lone surrogates (invalid in UTF-8), the non-characters
# U+FFFE and U+FFFF.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Bidi embeddings, overrides and isolates: in a one-line field they reorder what a reader
# sees (visual spoofing); paragraphs of body text may legitimately need them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s")

#: Longest value of each field, in characters (``*_count``: how many of a list are kept).
CAPS: dict[str, int] = {
    "title": 1_000,
    "summary": 5_000,
    "highlight": 1_000,
    "highlight_count": 20,
    "body": 1_000_000,
    "author": 200,
    "author_count": 20,
    "tag": 100,
    "tag_count": 50,
    "section": 200,
    "publisher": 200,
    "published_raw": 200,
    "language": 16,
    "image_url": 4_096,
    "url": 8_192,
    "url_key": 2_048,
}
#: How many content words of a headline count as its terms (and so make its word pairs).
MAX_TITLE_TERMS = 24


def clean_text(value: str, *, one_line: bool = False) -> str:
    """``value`` without NUL and the other C0 controls (but tab, newline, carriage return),
    DEL, lone surrogates and U+FFFE/U+FFFF; ``one_line`` also drops the bidi overrides,
    embeddings and isolates (U+202A-U+202E, U+2066-U+2069)."""
    value = _CONTROLS.sub("", value)
    return _BIDI.sub("", value) if one_line else value


def cap_text(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters, at the last space in the final fifth
    of the limit when there is one (else mid-word), with an ellipsis to show the cut."""
    if len(value) <= limit:
        return value
    head = value[:limit - 1]
    cut = max((m.start() for m in _SPACE.finditer(head, (limit * 4) // 5)), default=-1)
    if cut > 0:
        head = head[:cut]
    return head.rstrip() + "\u2026"


def clean_cell(value: Any) -> Any:
    """A database value with its text cleaned (a string, or the strings of a JSON list or
    dict); other values as they are. For copying rows written before text was sanitised."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_cell(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_cell(v)
                for k, v in value.items()}
    return value


def _field(value: str | None, cap: str, *, one_line: bool) -> str | None:
    if value is None:
        return None
    return cap_text(clean_text(value, one_line=one_line), CAPS[cap])


def _items(values: Iterable[str], cap: str, *, one_line: bool = True) -> list[str]:
    out = []
    for v in values:
        v = cap_text(clean_text(v, one_line=one_line).strip(), CAPS[cap])
        if v:
            out.append(v)
        if len(out) == CAPS[f"{cap}_count"]:
            break
    return out


def sanitise_record(rec: ArticleRecord) -> str | None:
    """Clean and cap ``rec``'s text in place (see the module docstring); the reason to drop
    it when its URL is over its cap, else None."""
    for name in ("url", "canonical_url"):
        if len(getattr(rec, name)) > CAPS["url"]:
            return "url too long"
    if len(rec.url_key) > CAPS["url_key"]:
        return "url too long"
    rec.title = cap_text(" ".join(clean_text(rec.title, one_line=True).split()), CAPS["title"])
    rec.body = cap_text(clean_text(rec.body), CAPS["body"])
    rec.summary = _field(rec.summary, "summary", one_line=False)
    rec.highlights = _items(rec.highlights, "highlight", one_line=False)
    rec.authors = _items(rec.authors, "author")
    rec.tags = _items(rec.tags, "tag")
    rec.section = _field(rec.section, "section", one_line=True)
    rec.publisher = _field(rec.publisher, "publisher", one_line=True)
    if rec.publisher_url is not None:
        rec.publisher_url = clean_text(rec.publisher_url, one_line=True)
        if len(rec.publisher_url) > CAPS["image_url"]:
            rec.publisher_url = None  # a cut URL is no URL
    rec.published_raw = _field(rec.published_raw, "published_raw", one_line=True)
    if rec.language is not None:
        rec.language = clean_text(rec.language, one_line=True)
        if len(rec.language) > CAPS["language"]:
            rec.language = None  # not a language tag
    if rec.image_url is not None:
        rec.image_url = clean_text(rec.image_url, one_line=True)
        if len(rec.image_url) > CAPS["image_url"]:
            rec.image_url = None  # a URL cut short is no URL; the article is fine without
    rec.alias_keys = [k for k in rec.alias_keys if len(k) <= CAPS["url_key"]]
    return None


__all__ = ["CAPS", "MAX_TITLE_TERMS", "cap_text", "clean_cell", "clean_text",
           "sanitise_record"]
