"""Result types of article extraction: :class:`ExtractedArticle` and :class:`DateCandidate`.

Both are plain dataclasses; ``to_dict()`` returns JSON-serialisable values
(datetimes as ISO 8601 strings in UTC, lists copied).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

# Evidence kinds, strongest first; a per-source "selector" beats all of them.
SOURCE_PRIORITY: tuple[str, ...] = ("jsonld", "meta", "time", "text")


@dataclass(frozen=True)
class DateCandidate:
    """One date string found in a page.

    ``raw`` is the exact string; ``source`` the kind of evidence ("jsonld",
    "meta", "time", "selector", "text"); ``origin`` where exactly it came from
    (e.g. ``"jsonld:datePublished"``, ``"meta:article:published_time"``,
    ``"time[datetime]"``, ``"text:div.byline"``); ``kind`` is "published" or
    "modified". ``parsed``/``precision`` are the time parser's answer, or None
    when it could not read the string. ``rejected`` says why the string can never be this
    article's time (it sits in a list of other articles, …); None for a usable candidate.
    """

    raw: str
    source: str
    origin: str
    kind: str
    parsed: datetime | None = None
    precision: str | None = None
    modified: datetime | None = None
    rejected: str | None = None
    local_date: date | None = None  # the calendar day where the page was written
    rule: str | None = None  # the time parser's pattern ("numeric_date+clock", "relative"…)

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "source": self.source,
            "origin": self.origin,
            "kind": self.kind,
            "parsed": _iso(self.parsed),
            "precision": self.precision,
            "modified": _iso(self.modified),
            "rejected": self.rejected,
            "local_date": self.local_date.isoformat() if self.local_date else None,
            "rule": self.rule,
        }


@dataclass
class ExtractedArticle:
    """Everything :func:`crawler.extraction.extract_article` found in one page.

    ``body`` is the main text with paragraphs separated by one blank line; it is
    ``""`` when the page has no article text. Datetimes are aware and in UTC. The fields are
    those of :data:`storage.article.PAGE_FIELDS`, typed as the model types them, and the
    evidence ``date_candidates`` (``tests/test_article_model.py`` checks).
    """

    url: str
    canonical_url: str | None = None
    title: str | None = None
    highlights: list[str] = field(default_factory=list)
    summary: str | None = None
    body: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    published_raw: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    # The publication's calendar day where the page was written (its offset, else the
    # site's zone): a date-only value keeps its day whatever the UTC time falls on.
    published_date: date | None = None
    modified_at: datetime | None = None
    language: str | None = None
    image_url: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    date_candidates: list[DateCandidate] = field(default_factory=list)
    # Why the page is not an article (an about, tag or section page…), or None
    # (crawler.extraction.pagetype).
    not_article: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime | date):
                out[f.name] = value.isoformat()
            elif f.name == "date_candidates":
                out[f.name] = [c.to_dict() for c in value]
            elif isinstance(value, list):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
