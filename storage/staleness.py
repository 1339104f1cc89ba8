"""Stale sources: runs that keep succeeding while nothing new is stored.

A source's usual gap is learned from its own run history: the median time between the
starts of its successful runs that stored something new (the last :data:`LEARN_FROM` of
them). A source is stale when its latest run succeeded and it has stored nothing new for longer than
``factor`` x that gap, and never sooner than ``floor`` (with fewer than two gaps to learn
from, the floor alone). A source that never stored anything counts from its first success.

Read by ``newsmon sources``, ``newsmon status``, ``newsmon sources check`` and the digest's
header (through :func:`stale_sources`); nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from storage.models import CrawlRun

if TYPE_CHECKING:
    from config.schema import Settings

SUCCESS = ("ok", "partial")
#: Runs that stored something new, newest first, the usual gap is learned from.
LEARN_FROM = 21


@dataclass(frozen=True, slots=True)
class Staleness:
    """How long a source has been quiet against how long it usually is."""

    stale: bool
    quiet_since: datetime  # the start of its last run that stored something new (or first success)
    usual_gap: timedelta | None  # None: too little history to learn one
    threshold: timedelta  # quiet for longer than this is stale

    def describe(self, now: datetime) -> str:
        quiet = _short(now - self.quiet_since)
        usual = f"usually every {_short(self.usual_gap)}" if self.usual_gap else "no usual gap yet"
        return f"nothing new for {quiet} ({usual}; stale after {_short(self.threshold)})"


def _short(span: timedelta) -> str:
    seconds = max(span.total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{seconds // 60:.0f}m" if seconds >= 60 else f"{seconds:.0f}s"


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def staleness(engine: Engine, source: str, *, factor: float, floor: timedelta,
              now: datetime | None = None) -> Staleness | None:
    """The staleness of ``source`` as of ``now`` (runs started later are not looked at);
    None if its latest finished run did not succeed or it never succeeded."""
    return staleness_of(engine, [source], factor=factor, floor=floor, now=now)[source]


def staleness_of(engine: Engine, names: Iterable[str], *, factor: float, floor: timedelta,
                 now: datetime | None = None) -> dict[str, Staleness | None]:
    """:func:`staleness` of each of ``names``, in three queries whatever their number."""
    now = now or datetime.now(UTC)
    wanted = list(dict.fromkeys(names))
    done = (CrawlRun.source_name.in_(wanted), CrawlRun.started_at <= now,
            CrawlRun.status != "running")
    newest = (select(CrawlRun.source_name, CrawlRun.status,
                     func.row_number().over(
                         partition_by=CrawlRun.source_name,
                         order_by=(CrawlRun.started_at.desc(), CrawlRun.id.desc())).label("n"))
              .where(*done).subquery())
    with engine.connect() as conn:
        last = dict(conn.execute(select(newest.c.source_name, newest.c.status)
                                 .where(newest.c.n == 1)).all())
        ok_names = [n for n in wanted if last.get(n) in SUCCESS]
        times: dict[str, list[datetime]] = {n: [] for n in ok_names}
        first: dict[str, Any] = {}
        if ok_names:
            ok = (CrawlRun.source_name.in_(ok_names), CrawlRun.started_at <= now,
                  CrawlRun.status.in_(SUCCESS))
            learn = (select(CrawlRun.source_name, CrawlRun.started_at,
                            func.row_number().over(partition_by=CrawlRun.source_name,
                                                   order_by=CrawlRun.started_at.desc())
                            .label("n"))
                     .where(*ok, CrawlRun.new > 0).subquery())
            for name, started in conn.execute(
                    select(learn.c.source_name, learn.c.started_at)
                    .where(learn.c.n <= LEARN_FROM).order_by(learn.c.source_name, learn.c.n)):
                if (stamp := _aware(started)) is not None:
                    times[name].append(stamp)
            first = dict(conn.execute(
                select(CrawlRun.source_name, func.min(CrawlRun.started_at))
                .where(*ok).group_by(CrawlRun.source_name)).all())
    out: dict[str, Staleness | None] = dict.fromkeys(wanted)
    for name in ok_names:
        out[name] = _judge(times[name], _aware(first.get(name)), now, factor, floor)
    return out


def _judge(stamps: list[datetime], first: datetime | None, now: datetime, factor: float,
           floor: timedelta) -> Staleness | None:
    """Staleness from the starts of a source's latest runs that stored something new
    (newest first) and of its first success."""
    quiet_since = stamps[0] if stamps else first
    if quiet_since is None:
        return None
    gaps = [(a - b).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
    usual = timedelta(seconds=median(gaps)) if len(gaps) >= 2 else None
    threshold = max(floor, usual * factor) if usual is not None else floor
    return Staleness(stale=now - quiet_since > threshold, quiet_since=quiet_since,
                     usual_gap=usual, threshold=threshold)


def stale_sources(engine: Engine, names: Iterable[str], *, factor: float, floor: timedelta,
                  now: datetime | None = None) -> dict[str, Staleness]:
    """The stale ones among ``names``, with their staleness."""
    found = staleness_of(engine, names, factor=factor, floor=floor, now=now)
    return {name: quiet for name, quiet in found.items() if quiet is not None and quiet.stale}


def history_staleness(settings: Settings) -> dict[str, str]:
    """What the configured database says of each stale source (for ``sources check``): an
    empty mapping when there is no database yet or it cannot be read, since the live probe
    needs none."""
    from storage import StorageError, Store

    try:
        store = Store.from_url(settings.database_url)
    except (StorageError, SQLAlchemyError, ImportError):
        return {}
    now = datetime.now(UTC)
    try:
        found = stale_sources(store.engine, [s.name for s in settings.sources],
                              factor=settings.scheduler.stale_factor,
                              floor=settings.scheduler.stale_floor, now=now)
    except SQLAlchemyError:
        return {}
    finally:
        store.close()
    return {name: quiet.describe(now) for name, quiet in found.items()}
