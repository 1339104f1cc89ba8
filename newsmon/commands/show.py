"""newsmon show: one article in full, with the other articles of its story."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.text import Text

from newsmon.app import app
from newsmon.options import ConfigOption, console, fail, open_store, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, plain, print_rows

if TYPE_CHECKING:
    from storage.queries import ArticleDetail
    from storage.store import Store

BODY_PREVIEW_CHARS = 600
SIBLING_COLUMNS = (
    Column("id", justify="right"),
    Column("dated_at", "when"),
    Column("source"),
    Column("copy", "copy of", justify="right"),
    Column("title", max_width=60),
)
VERSION_COLUMNS = (
    Column("id", justify="right"),
    Column("fetched_at", "fetched"),
    Column("status"),
    Column("words", justify="right"),
    Column("title", max_width=40),
    Column("reason", max_width=60),
)


def _reference(ref: str) -> int | str:
    """The article id, or the URL key to look up; a usage error (exit 2) before the
    database is opened."""
    from crawler.urls import InvalidURL, url_key

    if ref.isdigit():
        return int(ref)
    try:
        return url_key(ref)
    except InvalidURL:
        fail(f"{ref!r} is neither an article id nor an http(s) URL", 2)


def _find(ref: int | str, store: Store) -> int | None:
    if isinstance(ref, int):
        return ref
    article = store.article_by_url(ref)
    return None if article is None else int(article.id)


def _as_dict(d: ArticleDetail) -> dict[str, Any]:
    data = asdict(d.row)
    data.pop("lead")
    data.update(body=d.body, authors=d.authors, language=d.language, section=d.section,
                tags=d.tags, modified_at=d.modified_at, entities=d.entities,
                story=asdict(d.story) if d.story else None,
                siblings=[{k: v for k, v in asdict(s).items() if k != "lead"}
                          for s in d.siblings],
                versions=[asdict(v) for v in d.versions])
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return plain(value)


@app.command("show")
def show_command(
    article: Annotated[str | None, typer.Argument(
        help="An article id, or any URL it is known under.", show_default=False)] = None,
    story: Annotated[int | None, typer.Option(
        "--story", help="Show this story's timeline instead: the first report, each "
        "source's pickup and lag, copies apart from reports written independently, "
        "revisions, and why each article was linked.", show_default=False)] = None,
    compare: Annotated[list[int] | None, typer.Argument(
        help="With --diff: the version ids to compare (see --versions).",
        show_default=False)] = None,
    body: Annotated[bool, typer.Option("--body", help="Print the whole body, not its "
                                       "opening.")] = False,
    versions: Annotated[bool, typer.Option(
        "--versions", help="List the article's versions only.")] = False,
    diff: Annotated[bool, typer.Option(
        "--diff", help="Print what changed, word by word, between two versions: the ids "
        "given after the article (newsmon show 42 --diff 7 9), else the last accepted "
        "version against the one before it. Removed words read [-so-], added {+so+}.")
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """Print one article — title, source, times, topics, entities, highlights, body — the
    other articles of its story (copies and other sources' reports), and its versions: every
    fetch that changed it, and re-fetches rejected as worse than the stored text, with the
    reason (JSON output carries each version's full text).

    Example: newsmon show https://www.thehindu.com/news/national/some-story/article123.ece
    (or newsmon show --story 42, or newsmon show 42 --diff)
    """
    if (article is None) == (story is None):
        fail("give an article id or URL, or --story ID (not both)", 2)
    if compare and not diff:
        fail(f"unexpected extra argument {compare[0]}: version ids go with --diff", 2)
    if (diff or versions) and fmt is not OutputFormat.TABLE:
        fail("--diff and --versions print text; JSON output carries every version's text", 2)
    from storage.queries import article_detail
    from storage.timeline import story_link

    settings = settings_from(config)
    tz = ZoneInfo(settings.default_timezone)
    if story is not None:
        from newsmon.commands.show_story import show_story

        return show_story(open_store(settings), story, fmt, tz)
    assert article is not None
    ref = _reference(article)
    store = open_store(settings)
    try:
        aid = _find(ref, store)
        detail = article_detail(store, aid) if aid is not None else None
        link = story_link(store, aid) if aid is not None else None
    finally:
        store.close()
    if detail is None:
        fail(f"no article with id {article}" if article.isdigit()
             else f"no article known under {article}")
    if fmt is not OutputFormat.TABLE:
        data = _jsonable(_as_dict(detail))
        data["linked"] = {"to": link[0], "reason": link[1]} if link else None
        if fmt is OutputFormat.JSON:
            sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        elif fmt is OutputFormat.NDJSON:
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v)
                    for k, v in data.items()}
            print_rows([flat], [], fmt)
        return
    if diff:
        from newsmon.commands.show_diff import show_diff

        return show_diff(detail.row.id, detail.row.title, detail.versions, compare or [], tz)
    if versions:
        console.print(Text(detail.row.title, style="bold"))
        if not detail.versions:
            console.print("No versions recorded.")
        else:
            _print_versions(detail, tz)
        return
    _print(detail, tz, body, link)


def _print_versions(d: ArticleDetail, tz: ZoneInfo) -> None:
    print_rows([{"id": v.id, "fetched_at": v.fetched_at, "status": v.status,
                 "words": v.words, "title": v.title, "reason": v.reason or ""}
                for v in d.versions], VERSION_COLUMNS, OutputFormat.TABLE, tz=tz,
               console=console, title="Versions")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _print(d: ArticleDetail, tz: ZoneInfo, full_body: bool,
           link: tuple[int, str] | None = None) -> None:
    r = d.row
    when = r.dated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    console.print(Text(r.title, style="bold"))
    console.print(Text(f"#{r.id} · {r.source} · {when}"
                       + ("" if r.published_at else " (first seen; no publication time)"),
                       style="dim"))
    console.print(Text(r.url, style="cyan"), soft_wrap=True)  # whole, to copy
    facts = [("topic", r.primary_topic or "off-topic")]
    if r.topics:
        facts.append(("scores", ", ".join(f"{t} {s:.1f}" for t, s in
                                          sorted(r.topics.items(), key=lambda x: -x[1]))))
    if d.entities:
        facts.append(("entities", ", ".join(f"{e} ×{n}" for e, n in d.entities.items())))
    if d.authors:
        facts.append(("by", ", ".join(d.authors)))
    if d.story:
        facts.append(("story", f"#{d.story.id}: {_n(d.story.article_count, 'article')} from "
                      f"{_n(d.story.source_count, 'source')}"))
    if r.duplicate_of_id:
        facts.append(("copy of", f"#{r.duplicate_of_id}"))
    if link:
        facts.append(("linked", f"to #{link[0]}, {link[1]}"))
    for label, value in facts:
        line = Text(f"{label}: ", style="bold")
        line.append(value)
        console.print(line)
    if r.highlights:
        console.print()
        for h in r.highlights:
            console.print(Text(f"• {h}"))
    if r.summary:
        console.print()
        console.print(Text(r.summary, style="italic"))
    console.print()
    text = d.body if full_body or len(d.body) <= BODY_PREVIEW_CHARS else (
        d.body[:BODY_PREVIEW_CHARS].rsplit(" ", 1)[0] + " … (--body for all of it)")
    console.print(Text(text))
    if d.siblings:
        console.print()
        rows = [{"id": s.id, "dated_at": s.dated_at, "source": s.source,
                 "copy": s.duplicate_of_id, "title": s.title} for s in d.siblings]
        print_rows(rows, SIBLING_COLUMNS, OutputFormat.TABLE, tz=tz, console=console,
                   title=f"Also in story #{r.story_id}")
    if d.versions:
        console.print()
        _print_versions(d, tz)
