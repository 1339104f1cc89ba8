"""Build a digest: a period's on-topic stories, each once, grouped by topic and ranked.

Contract of :func:`build_digest`:

- The period is a local day (``day``, in :func:`digest_zone`) or ``[since, until)``.
- Articles are dated by publication time, else first-seen time. Off-topic articles (no primary
  topic) do not make a story; they still count as coverage of a story an on-topic one opened.
- A story appears once, under the topic with its highest score among its articles (or only
  under ``topic`` when one is asked for). Its copies — near-duplicates and other articles of
  the same story in the period — collapse into "also reported by" with one link per source.
- Stories rank by how many sources covered them in the period, then by their newest article.
- Each story is "new" (first reported in the period) or "developing" (reported before, with
  new reports or material revisions in the period: "+2 sources", "figure corrected: …"); the
  previous digest is taken to cover everything before the period
  (:mod:`storage.developments`). A story whose only news is a material revision of an
  article reported earlier is listed too. ``top`` holds the period's most-reported stories.
- An empty period gives a digest with no sections, never an error.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from config.schema import Settings, Topic
from config.watchlists import Watchlist
from storage.developments import Development, revised_in, story_developments
from storage.queries import (
    ArticleRow,
    RunRow,
    articles_by_id,
    is_failure,
    story_primaries,
    window_articles,
    window_runs,
)
from storage.store import Store

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z0-9\"'“‘(])")
LEAD_MAX_CHARS = 320
MAX_HIGHLIGHTS = 3
# The digest's head lists this many of the most-reported stories (two sources or more).
TOP_STORIES = 5
# A story lists at most this many revision lines.
MAX_CHANGES = 3
#: The most matching articles a watchlist's digest reads per filter combination.
WATCHLIST_LIMIT = 5000


@dataclass(slots=True)
class Copy:
    """Another source's report of a story."""

    source: str
    title: str
    url: str
    local_time: str


@dataclass(slots=True)
class DigestStory:
    story_id: int | None
    title: str
    url: str
    source: str
    dated_at: datetime
    local_time: str
    topic: str
    score: float
    highlights: list[str]
    lead: str
    source_count: int
    article_count: int
    also: list[Copy] = field(default_factory=list)
    # "new": first reported in the period; "developing": reported before it.
    status: str = "new"
    # What is new since the previous digest: "+2 sources", "figure corrected: 36 → 38".
    changes: list[str] = field(default_factory=list)
    # An article of the story changed materially in the period.
    updated: bool = False


@dataclass(slots=True)
class DigestSection:
    topic: str
    name: str
    stories: list[DigestStory]


@dataclass(slots=True)
class RunFailure:
    source: str
    status: str
    local_time: str
    error: str | None


@dataclass(slots=True)
class Totals:
    articles: int
    stories: int
    sources: int
    off_topic: int
    runs: int
    failed_runs: int
    # Pages the sites refused or answered with a bot wall, over the period's runs.
    blocked_pages: int = 0


@dataclass(slots=True)
class Digest:
    title: str
    period: str
    timezone: str
    day: date | None
    since: datetime
    until: datetime
    topic: str | None
    generated_at: datetime
    totals: Totals
    sections: list[DigestSection]
    failures: list[RunFailure]
    top: list[DigestStory] = field(default_factory=list)
    # Enabled sources whose runs succeed but which stored nothing new for long, as of the
    # period's end (storage.staleness), sorted by name.
    stale_sources: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.sections

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("since", "until", "generated_at"):
            data[key] = getattr(self, key).isoformat()
        data["day"] = self.day.isoformat() if self.day else None
        for story in [s for sec in data["sections"] for s in sec["stories"]] + data["top"]:
            story["dated_at"] = story["dated_at"].isoformat()
        return data


def digest_zone(settings: Settings) -> ZoneInfo:
    """The zone digest days are counted in: the digest job's, else the user's default."""
    return ZoneInfo(settings.scheduler.digest_timezone or settings.default_timezone)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` to the next local midnight, in UTC (DST-safe)."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _topic_name(topic: str) -> str:
    return topic.replace("_", " ").replace("-", " ").capitalize()


def _topic_order(topic: str) -> tuple[int, str]:
    known = [t.value for t in Topic]
    return (known.index(topic), topic) if topic in known else (len(known), topic)


def lead_text(row: ArticleRow) -> str:
    """One or two sentences: the summary if there is one, else the body's opening."""
    text = " ".join((row.summary or row.lead).split())
    if not text:
        return ""
    sentences = _SENTENCE_END.split(text)
    out = sentences[0]
    if len(sentences) > 1 and len(out) + len(sentences[1]) < LEAD_MAX_CHARS:
        out = f"{out} {sentences[1]}"
    if len(out) > LEAD_MAX_CHARS:
        out = out[:LEAD_MAX_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return out


def _local_time(when: datetime, tz: tzinfo, with_date: bool) -> str:
    local = when.astimezone(tz)
    fmt = "%d %b %H:%M %Z" if with_date else "%H:%M %Z"
    return local.strftime(fmt)


def _representative(articles: list[ArticleRow], primary_ids: set[int]) -> ArticleRow:
    on_topic = [a for a in articles if a.primary_topic is not None] or articles
    for a in on_topic:
        if a.id in primary_ids:
            return a
    originals = [a for a in on_topic if a.duplicate_of_id is None] or on_topic
    return min(originals, key=lambda a: (a.first_seen_at, a.id))


def build_digest(
    store: Store,
    settings: Settings,
    *,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    topic: str | None = None,
    now: datetime | None = None,
    watchlist: Watchlist | None = None,
) -> Digest:
    """The digest of ``day`` (local) or of ``[since, until)``; see the module docstring.

    Raises ValueError unless exactly one of ``day`` and ``since``/``until`` is given, or when
    ``since`` is not before ``until``. With ``watchlist``, only the stories one of whose
    articles in the period matches it (:func:`watchlist_articles`).
    """
    tz = digest_zone(settings)
    now = now or datetime.now(UTC)
    if day is not None:
        if since is not None or until is not None:
            raise ValueError("give a day or a since/until period, not both")
        since, until = day_bounds(day, tz)
    elif since is None or until is None:
        raise ValueError("give a day, or both since and until")
    if since >= until:
        raise ValueError("the period is empty: 'since' must be before 'until'")

    articles = window_articles(store, since, until)
    if watchlist is not None:
        hits = watchlist_articles(store, watchlist, since, until)
        stories = {a.story_id for a in articles if a.id in hits and a.story_id is not None}
        articles = [a for a in articles if a.id in hits or a.story_id in stories]
    in_period = {a.id for a in articles}
    revised = [a for a in articles_by_id(
        store, [i for i in revised_in(store, since, until) if i not in in_period])
        if a.story_id is not None
        and (watchlist is None or a.story_id in {r.story_id for r in articles})]
    runs = window_runs(store, since, until)
    last_local_day = (until - timedelta(microseconds=1)).astimezone(tz).date()
    with_date = day is None and since.astimezone(tz).date() != last_local_day

    groups: dict[tuple[str, int], list[ArticleRow]] = {}
    for a in [*articles, *revised]:
        key = ("story", a.story_id) if a.story_id is not None else ("article", a.id)
        groups.setdefault(key, []).append(a)
    story_ids = [k[1] for k in groups if k[0] == "story"]
    primary_ids = story_primaries(store, story_ids)
    developments = story_developments(store, story_ids, since, until)

    # topic -> [(newest article time, story)], ranked below.
    found: dict[str, list[tuple[datetime, DigestStory]]] = {}
    covered: set[int] = set()
    for members in groups.values():
        scores = _story_scores(members)
        if not scores:
            continue  # off-topic throughout
        if topic is not None:
            if topic not in scores:
                continue
            chosen = topic
        else:
            chosen = max(scores, key=lambda t: (scores[t], -_topic_order(t)[0]))
        rep = _representative(members, primary_ids)
        covered.update(a.id for a in members)
        by_source: dict[str, ArticleRow] = {}
        for a in sorted(members, key=lambda a: (a.first_seen_at, a.id)):
            if a.source != rep.source:
                by_source.setdefault(a.source, a)
        status, changes, updated = _development(
            developments.get(rep.story_id) if rep.story_id is not None else None,
            [a for a in members if a.id in in_period], since)
        found.setdefault(chosen, []).append((max(a.dated_at for a in members), DigestStory(
            story_id=rep.story_id, title=rep.title, url=rep.url, source=rep.source,
            dated_at=rep.dated_at, local_time=_local_time(rep.dated_at, tz, with_date),
            topic=chosen, score=scores[chosen],
            highlights=[h for h in rep.highlights if h.strip()][:MAX_HIGHLIGHTS],
            lead=lead_text(rep), source_count=1 + len(by_source), article_count=len(members),
            also=[Copy(source=c.source, title=c.title, url=c.url,
                       local_time=_local_time(c.dated_at, tz, with_date))
                  for c in by_source.values()],
            status=status, changes=changes, updated=updated,
        )))

    sections = []
    for t in sorted(found, key=_topic_order):
        ranked = sorted(found[t], key=lambda p: (-p[1].source_count, -p[0].timestamp(),
                                                 p[1].title))
        sections.append(DigestSection(topic=t, name=_topic_name(t),
                                      stories=[story for _, story in ranked]))

    everything = [story for section in sections for story in section.stories]
    top = sorted((s for s in everything if s.source_count >= 2),
                 key=lambda s: (-s.source_count, -s.dated_at.timestamp(), s.title))[:TOP_STORIES]
    listed = [a for a in articles if a.id in covered]
    failures = [RunFailure(source=r.source, status=r.status,
                           local_time=_local_time(r.started_at, tz, with_date),
                           error=_one_line(r.first_error)) for r in runs if is_failure(r)]
    totals = Totals(articles=len(listed), stories=sum(len(s.stories) for s in sections),
                    sources=len({a.source for a in listed}),
                    off_topic=len(articles) - len(listed), runs=len(runs),
                    failed_runs=len(failures), blocked_pages=sum(r.blocked for r in runs))
    from storage.staleness import stale_sources

    stale = stale_sources(store.engine, [s.name for s in settings.sources if s.enabled],
                          factor=settings.scheduler.stale_factor,
                          floor=settings.scheduler.stale_floor, now=min(until, now))
    period = _period_label(day, since, until, tz)
    title = ("Digest" + (f": {_topic_name(topic)}" if topic else "")
             + (f": watchlist {watchlist.name}" if watchlist else "") + f" — {period}")
    return Digest(title=title, period=period, timezone=str(tz), day=day, since=since,
                  until=until, topic=topic, generated_at=now, totals=totals, sections=sections,
                  failures=failures, top=top, stale_sources=sorted(stale))


def _development(dev: Development | None, reports: list[ArticleRow], since: datetime
                 ) -> tuple[str, list[str], bool]:
    """A story's status ("new" or "developing"), what changed, and whether it was revised,
    from its history and its reports in the period."""
    if dev is None:
        return "new", [], False
    changes: list[str] = []
    status = "new" if dev.first_reported_at >= since else "developing"
    if status == "developing" and reports:
        gained = {a.source for a in reports} - dev.earlier_sources
        if gained:
            changes.append(f"+{len(gained)} source" + ("s" if len(gained) > 1 else ""))
        else:
            changes.append(f"+{len(reports)} report" + ("s" if len(reports) > 1 else ""))
    seen: set[str] = set()
    for r in dev.revisions:
        if r.change not in seen and len(seen) < MAX_CHANGES:
            seen.add(r.change)
            changes.append(r.change)
    return status, changes, bool(dev.revisions)


def watchlist_articles(store: Store, watchlist: Watchlist, since: datetime,
                       until: datetime) -> set[int]:
    """The ids of the articles dated in ``[since, until)`` that match ``watchlist``'s query
    and filters, through the search index (each filter list: any of its values)."""
    from itertools import product

    from storage.search import search
    from storage.search_filters import SearchFilters

    ids: set[int] = set()
    anything: list[str | None] = [None]
    for t, e, s in product(watchlist.topics or anything, watchlist.entities or anything,
                           watchlist.sources or anything):
        hits = search(store, watchlist.query, SearchFilters(topic=t, entity=e, source=s,
                                                            since=since, until=until),
                      limit=WATCHLIST_LIMIT, order="date")
        ids.update(h.id for h in hits)
    return ids


def _story_scores(members: list[ArticleRow]) -> dict[str, float]:
    """Each topic's best score among the story's on-topic articles (empty: off-topic)."""
    scores: dict[str, float] = {}
    for a in members:
        if a.primary_topic is None:
            continue
        for t, sc in (a.topics or {a.primary_topic: 0.0}).items():
            scores[t] = max(scores.get(t, sc), sc)
    return scores


def _one_line(text: str | None) -> str | None:
    if not text:
        return None
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:199] + "…"


def _period_label(day: date | None, since: datetime, until: datetime, tz: tzinfo) -> str:
    if day is not None:
        return f"{day:%A} {day.day} {day:%B %Y}"
    a, b = since.astimezone(tz), until.astimezone(tz)
    return f"{a:%d %b %Y %H:%M} to {b:%d %b %Y %H:%M %Z}"


__all__ = [
    "Copy", "Digest", "DigestSection", "DigestStory", "RunFailure", "RunRow", "Totals",
    "build_digest", "day_bounds", "digest_zone", "lead_text",
]
