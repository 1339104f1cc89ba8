"""newsmon show ID --diff [A] [B]: what changed between two versions of an article, word by
word (storage.diffs); no command of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text

from newsmon.options import console, fail

if TYPE_CHECKING:
    from storage.diffs import Chunk
    from storage.queries import VersionRow


def pick_versions(article_id: int, versions: list[VersionRow], wanted: list[int]
                  ) -> tuple[VersionRow, VersionRow] | None:
    """The two versions to compare: ``wanted`` (version ids, oldest first), else the last
    accepted version and the accepted one before it, else the last two. None when the
    article has only one version. A version id that is not this article's is a usage error
    (exit 2) naming the ones it has."""
    by_id = {v.id: v for v in versions}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        fail(f"article {article_id} has no version {', '.join(map(str, unknown))}; its "
             f"versions are {', '.join(str(v.id) for v in versions) or 'none'}", 2)
    if len(wanted) > 2:
        fail("--diff compares two versions: give at most two version ids", 2)
    if len(wanted) == 2:
        a, b = sorted(wanted)
        return by_id[a], by_id[b]
    accepted = [v for v in versions if v.status == "accepted"]
    if len(wanted) == 1:
        newer = by_id[wanted[0]]
        older = [v for v in accepted if v.id < newer.id]
        return (older[-1], newer) if older else None
    pool = accepted if len(accepted) >= 2 else versions
    return (pool[-2], pool[-1]) if len(pool) >= 2 else None


def _chunk_text(chunks: list[Chunk | None]) -> Text:
    """Words as they read in the newer version, removed ones as [-old-] and added ones as
    {+new+} (readable piped, coloured on a terminal); figures in changes stand out in bold."""
    from storage.diffs import figures

    out = Text()

    def words(ws: tuple[str, ...], style: str) -> None:
        for w in ws:
            out.append(w, style=style + (" bold" if figures([w]) else ""))
            out.append(" ")

    for c in chunks:
        if c is None:
            out.append("… ", style="dim")
        elif c.op == "equal":
            out.append(" ".join(c.new) + " ")
        else:
            if c.old:
                out.append("[-", style="red")
                words(c.old, "red strike")
                out.append("-] ", style="red")
            if c.new:
                out.append("{+", style="green")
                words(c.new, "green")
                out.append("+} ", style="green")
    return out


def show_diff(article_id: int, title: str, versions: list[VersionRow], wanted: list[int],
              tz: ZoneInfo) -> None:
    from storage.diffs import condensed, describe_change, word_diff

    pair = pick_versions(article_id, versions, wanted)
    console.print(Text(title, style="bold"))
    if pair is None:
        console.print(f"Article {article_id} has one version: nothing to compare.")
        return
    a, b = pair

    def label(v: VersionRow) -> str:
        when = v.fetched_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        return f"version {v.id} ({v.status}, fetched {when})"

    console.print(Text(f"{label(a)} → {label(b)}", style="dim"))
    change = describe_change(a.title, a.body, b.title, b.body)
    console.print(Text(f"change: {change or 'nothing material'}"))
    title_chunks = condensed(word_diff(a.title, b.title), context=50)
    if title_chunks:
        console.print()
        console.print(Text("headline: ", style="bold") + _chunk_text(title_chunks))
    if a.body is None or b.body is None:
        console.print("\n(The text of a version stored before revision 0008 was not kept.)")
        return
    body_chunks = condensed(word_diff(a.body, b.body))
    console.print()
    console.print(_chunk_text(body_chunks) if body_chunks else Text("The text is the same."))
