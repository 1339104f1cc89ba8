"""What the run history says about sources: the last run, last success and failure streak
(from ``crawl_runs``, so ``newsmon crawl`` runs count as much as the service's), and what a
source published in a window (:mod:`scheduler.adaptive` reads it). Read-only queries, part of
:class:`storage.scheduler_store.SchedulerStore`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from storage.models import Article, CrawlRun, SourceRow

#: Run statuses that count as a success or as a failure; the others (running, interrupted)
#: say nothing about the source and neither reset nor extend a failure streak.
SUCCESS = frozenset({"ok", "partial"})
FAILURE = frozenset({"failed", "timeout"})


@dataclass(frozen=True, slots=True)
class SourceHistory:
    """What the run history says about one source."""

    last_run_at: datetime | None
    last_status: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    articles: int
    blocked: int = 0  # pages refused or walled in the last finished run


@dataclass(frozen=True, slots=True)
class Publishing:
    """What one source published in a window (its articles' published time, else the time
    newsmon first saw them): the rate :mod:`scheduler.adaptive` reads."""

    count: int  # articles whose time is in [since, now]
    oldest: datetime | None  # the earliest and latest of those times
    newest: datetime | None
    last: datetime | None  # the latest time of any article of the source (until now)


class SourceHistoryQueries:
    """The history queries of :class:`storage.scheduler_store.SchedulerStore`."""

    engine: Engine

    def publishing(self, source: str, since: datetime, now: datetime) -> Publishing | None:
        """The articles of ``source`` published in ``[since, now]`` (a missing published time
        counts as the first-seen one); None when the source has no successful run yet.

        Bounded by ``first_seen_at >= since`` (an article is not stored before it is
        published), so it reads the window's rows through the index, not the whole source;
        ``last`` is read only when the window is empty."""
        at = func.coalesce(Article.published_at, Article.first_seen_at)
        of_source = Article.source_id == (
            select(SourceRow.id).where(SourceRow.name == source).scalar_subquery())
        with self.engine.connect() as conn:
            ran = conn.execute(select(CrawlRun.id).where(
                CrawlRun.source_name == source, CrawlRun.status.in_(SUCCESS)).limit(1)).first()
            if ran is None:
                return None
            count, oldest, newest = conn.execute(
                select(func.count(Article.id), func.min(at), func.max(at))
                .where(of_source, Article.first_seen_at >= since, at >= since, at <= now)
            ).one()
            last: datetime | None = newest
            if not count:
                last = conn.execute(select(func.max(at)).where(of_source, at <= now)).scalar()
        return Publishing(count=int(count), oldest=_aware(oldest), newest=_aware(newest),
                          last=_aware(last))

    def history(self, source: str, scan: int = 200) -> SourceHistory:
        """Last run, last success and the current failure streak of ``source``."""
        return self.histories([source], scan)[source]

    def histories(self, sources: Sequence[str], scan: int = 200) -> dict[str, SourceHistory]:
        """:meth:`history` of each of ``sources``, in three queries whatever their number
        (each source's latest ``scan`` runs are read for its failure streak)."""
        names = list(dict.fromkeys(sources))
        latest = (select(CrawlRun.source_name, CrawlRun.status, CrawlRun.started_at,
                         CrawlRun.finished_at, CrawlRun.blocked,
                         func.row_number().over(partition_by=CrawlRun.source_name,
                                                order_by=CrawlRun.id.desc()).label("n"))
                  .where(CrawlRun.source_name.in_(names)).subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(select(latest.c.source_name, latest.c.status,
                                       latest.c.started_at, latest.c.finished_at,
                                       latest.c.blocked)
                                .where(latest.c.n <= scan).order_by(latest.c.source_name,
                                                                    latest.c.n)).all()
            last_success = dict(conn.execute(
                select(CrawlRun.source_name, func.max(CrawlRun.finished_at))
                .where(CrawlRun.source_name.in_(names), CrawlRun.status.in_(SUCCESS))
                .group_by(CrawlRun.source_name)).all())
            articles = dict(conn.execute(
                select(SourceRow.name, func.count(Article.id))
                .join(SourceRow, SourceRow.id == Article.source_id)
                .where(SourceRow.name.in_(names)).group_by(SourceRow.name)).all())
        runs: dict[str, list[tuple[str, datetime, datetime | None, int | None]]] = {
            name: [] for name in names}
        for name, status, started, finished, blocked in rows:
            runs[name].append((status, started, finished, blocked))
        return {name: _history(runs[name], last_success.get(name), articles.get(name, 0))
                for name in names}

    def recorded_sources(self) -> list[str]:
        """The names of the sources this database has runs or articles of, sorted."""
        with self.engine.connect() as conn:
            names = set(conn.execute(select(CrawlRun.source_name).distinct()).scalars())
            names.update(conn.execute(select(SourceRow.name)).scalars())
        return sorted(names)


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates (max) lose the column type on some dialects; make them aware UTC again.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _history(rows: Sequence[tuple[str, datetime, datetime | None, int | None]],
             last_success: datetime | None, articles: int) -> SourceHistory:
    """A source's history from its latest runs, newest first."""
    streak = 0
    for status, _started, _finished, _blocked in rows:
        if status in SUCCESS:
            break
        if status in FAILURE:
            streak += 1
    last = next((r for r in rows if r[0] != "running"), rows[0] if rows else None)
    return SourceHistory(
        last_run_at=(last[2] or last[1]) if last is not None else None,
        last_status=last[0] if last is not None else None,
        last_success_at=_aware(last_success),
        consecutive_failures=streak,
        articles=int(articles),
        blocked=int(last[3] or 0) if last is not None else 0,
    )
