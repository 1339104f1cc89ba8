"""newsmon search: full-text search over titles, highlights and bodies, with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from typer.core import TyperCommand

from newsmon.app import app
from newsmon.options import ConfigOption, fail, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, print_rows
from newsmon.timespec import TimeSpecError, parse_when

if TYPE_CHECKING:
    from config import Settings
    from storage import Store

QUERY_HELP = ('Words (tariff), "exact phrases", prefixes (missil*), AND (or a space), OR, '
              "NOT or -word, and (groups). A -word is always part of the query, never an "
              "option: newsmon search defence -navy. Options take their value as a separate "
              "word (-n 5, not -n5). Leave out to list the newest articles.")
#: Marks a query word that starts with '-' while Click parses the command line.
_NEGATION = "\x00"


class SearchCommand(TyperCommand):
    """Reads ``-word`` (a dash and two or more characters, or -"phrase", -(group)) as part
    of the query, not as short options: ``search india -steel`` excludes steel rather
    than filtering on a source named 'teel'. Everything after ``--`` is the query."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a typer Context
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            negation = len(arg) > 2 and arg[0] == "-" and arg[1] != "-"
            out.append(_NEGATION + arg if negation else arg)
        return super().parse_args(ctx, out)
COLUMNS = (
    Column("id", justify="right"),
    Column("dated_at", "when"),
    Column("source"),
    Column("primary_topic", "topic"),
    Column("story_id", "story", justify="right"),
    Column("title", max_width=50),
    Column("snippet", max_width=70, emphasis=True),
)


class SortOrder(StrEnum):
    RANK = "rank"
    DATE = "date"


SinceOption = Annotated[str | None, typer.Option(
    "--since", help="From this time: 24h, 7d, today, 2026-11-25 (local midnight) or an ISO "
    "time.")]
UntilOption = Annotated[str | None, typer.Option(
    "--until", help="Before this time (same forms; a date includes that whole day).")]


def time_window(since: str | None, until: str | None, tz: ZoneInfo
                ) -> tuple[datetime | None, datetime | None]:
    """--since/--until as aware datetimes, or exit 2 with the accepted forms."""
    now = datetime.now(UTC)
    out: list[datetime | None] = []
    for name, value, end in (("--since", since, False), ("--until", until, True)):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(parse_when(value, now=now, tz=tz, end=end))
        except TimeSpecError as exc:
            fail(f"{name}: {exc}", 2)
    if out[0] is not None and out[1] is not None and out[0] >= out[1]:
        fail("--since must be before --until", 2)
    return out[0], out[1]


def check_filter_values(settings: Settings, store: Store, *, source: str | None = None,
                        topic: str | None = None, entity: str | None = None) -> None:
    """Exit 2 naming the known values (or the closest) for a filter value that names
    nothing in the database or the configuration."""
    from crawler.entities import Gazetteer
    from crawler.topics import Taxonomy
    from storage import filter_values as fv

    if source is not None:
        known = fv.known_sources(store.engine, (s.name for s in settings.sources))
        if source not in known:
            fail(fv.unknown_value_message("--source", source, known), 2)
    if topic is not None:
        known = fv.known_topics(store.engine, Taxonomy.load(settings.topics_file).names)
        if topic not in known:
            fail(fv.unknown_value_message("--topic", topic, known), 2)
    if entity is not None:
        specs = Gazetteer.load(settings.entities_file).config.entities
        known = fv.known_entities(store.engine, (e.id for e in specs))
        if not fv.entity_matches(entity, known):
            names = {e.name.lower(): e.id for e in specs}
            fail(fv.unknown_value_message("--entity", entity, known, names), 2)


@app.command("search", cls=SearchCommand)
def search_command(
    words: Annotated[list[str] | None, typer.Argument(
        help=QUERY_HELP, show_default=False, metavar="QUERY")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Only articles in this "
                                              "topic (defence, trade).")] = None,
    source: Annotated[str | None, typer.Option("--source", "-s",
                                               help="Only this source's articles.")] = None,
    entity: Annotated[str | None, typer.Option(
        "--entity", "-e", help="Only articles mentioning this entity: an id such as "
        "country:us or organisation:drdo, or just us, drdo.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    story: Annotated[int | None, typer.Option("--story", help="Only articles of this story "
                                              "(its id, from search or show).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000,
                                       help="At most this many results.")] = 20,
    sort: Annotated[SortOrder, typer.Option(
        "--sort", case_sensitive=False, help="rank: best match first; date: newest first.")
    ] = SortOrder.RANK,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Search articles by their title, highlights and body: headline matches first, best
    first, then the rest, newest first; each with a snippet in which the matching words are
    bold (in json, csv and ndjson: wrapped in double asterisks).

    Example: newsmon search '"free trade agreement"' india -steel --topic trade --since 7d
    """
    from sqlalchemy.exc import SQLAlchemyError

    from storage.query_language import QuerySyntaxError, parse_query
    from storage.search import SearchFilters, search

    query = " ".join(w.removeprefix(_NEGATION) for w in words) if words else None
    try:
        node = parse_query(query) if query is not None else None
    except QuerySyntaxError as exc:
        fail(f"search query: {exc}", 2)
    if query is not None and node is None:
        fail("search query: nothing to search for; give a word, or leave the query out to "
             "list the newest articles", 2)
    settings = settings_from(config)
    tz = ZoneInfo(settings.default_timezone)
    start, end = time_window(since, until, tz)
    filters = SearchFilters(topic=topic, source=source, entity=entity, since=start, until=end,
                            story_id=story)
    store = open_store(settings)
    try:
        check_filter_values(settings, store, source=source, topic=topic, entity=entity)
        hits = search(store, node, filters, limit=limit, order=sort.value)
    except SQLAlchemyError as exc:
        fail(f"search failed: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}")
    finally:
        store.close()
    rows: list[dict[str, Any]] = []
    for h in hits:
        rows.append({"id": h.id, "dated_at": h.dated_at, "source": h.source,
                     "primary_topic": h.primary_topic, "story_id": h.story_id,
                     "title": h.title, "snippet": h.snippet, "url": h.url,
                     "published_at": h.published_at, "rank": h.rank})
    what = f"for {query!r}" if query else "newest"
    noun = "article" if len(rows) == 1 else "articles"
    print_rows(rows, COLUMNS, fmt, title=f"{len(rows)} {noun} {what} (times in {tz.key})",
               tz=tz, empty="no articles match")
