"""Filter values a command can check before it searches: a --source, --topic or --entity that
names nothing known is a mistake to report (exit 2), not a filter that matches nothing.

Known values are those in the database (sources with a row, topics and entities that some
article carries) together with those the caller passes from the configuration (configured
sources, the taxonomy's topics, the gazetteer's entity ids)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, select

from storage.models import ArticleEntity, ArticleTopic, SourceRow

#: More known values than this are not listed; the closest matches are.
LIST_AT_MOST = 12


def known_sources(engine: Engine, configured: Iterable[str] = ()) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(SourceRow.name))) | set(configured)


def known_topics(engine: Engine, configured: Iterable[str] = ()) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(ArticleTopic.topic).distinct())) | set(configured)


def known_entities(engine: Engine, configured: Iterable[str] = ()) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(ArticleEntity.entity_id).distinct())) | set(configured)


def entity_matches(value: str, known: Iterable[str]) -> bool:
    """An id (``country:us``) matches itself; a bare slug (``us``) any kind's."""
    if ":" in value:
        return value in known
    return any(k.split(":", 1)[-1] == value for k in known)


def unknown_value_message(option: str, value: str, known: Iterable[str],
                          names: Mapping[str, str] | None = None) -> str:
    """``--source 'nosuch': no source of that name. Known: a, b`` or ``...: did you mean
    'x'?``; ``names`` (a display name, lower case: its value) also count as close."""
    values = sorted(known)
    what = option.removeprefix("--")
    head = f"{option} {value!r}: no {what} of that name"
    if not values:
        return f"{head}; there are none yet (the database has no articles)"
    close = difflib.get_close_matches(value, values, n=3, cutoff=0.6)
    if not close and names:
        close = [names[n] for n in difflib.get_close_matches(value.lower(), list(names), n=3,
                                                              cutoff=0.6)]
    if not close and ":" not in value and option == "--entity":
        slugs = {v.split(":", 1)[-1]: v for v in values}
        close = [slugs[n] for n in difflib.get_close_matches(value, list(slugs), n=3,
                                                              cutoff=0.6)]
    mean = f": did you mean {' or '.join(map(repr, close))}?" if close else ""
    if len(values) <= LIST_AT_MOST:
        return f"{head}{mean or '.'} Known: {', '.join(values)}."
    if close:
        return head + mean
    return (f"{head}. {len(values)} are known, such as {', '.join(values[:LIST_AT_MOST])}; "
            "see `newsmon stats`")
