"""Take each source's run lock (storage.run_locks) around a crawl of it, in this process.

Sources another live crawl is running are refused: they get a ``skipped`` result whose first
error names the source and the holder, and are not crawled; the others are. While the crawl
runs, a reactor timer refreshes the locks' heartbeat (in the database thread,
crawler.dbthread); they are released when it ends."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task

from config.schema import Source
from crawler.dbthread import in_db_thread
from storage.records import RunStats
from storage.run_locks import HEARTBEAT, SourceBusy, SourceRunLocks
from storage.store import Store

logger = logging.getLogger(__name__)

SKIPPED = "skipped"


@dataclass(slots=True)
class Locked:
    """The sources this crawl holds, and why each of the others was refused."""

    sources: list[Source]
    refused: dict[str, str] = field(default_factory=dict)
    locks: SourceRunLocks | None = None
    _timer: Any = None

    def start_heartbeat(self) -> None:
        """Refresh the heartbeat every HEARTBEAT from a reactor timer, in the database thread
        (call once the reactor runs or is about to run)."""
        if self.locks is not None and self.locks.held:
            self._timer = task.LoopingCall(in_db_thread, self.locks.beat)
            self._timer.start(HEARTBEAT.total_seconds(), now=False)


@contextmanager
def run_locks(store: Store, sources: Sequence[Source], holder: str | None,
              run_id: int | None = None) -> Iterator[Locked]:
    """Lock ``sources`` as ``holder`` (the command, e.g. "newsmon crawl"; None: take no
    locks, the caller holds them). A refused source's pre-created run row ``run_id``, if
    any, is closed as skipped with the message."""
    if holder is None:
        yield Locked(list(sources))
        return
    locks = SourceRunLocks(store.engine, holder)
    locked = Locked([], locks=locks)
    for source in sources:
        try:
            locks.acquire(source.name)
        except SQLAlchemyError as exc:
            # The database cannot be reached: the crawl itself meets that and records the run
            # as failed ("database unavailable when the run started"); no lock to hold.
            logger.warning("source %r: could not take its run lock (%s); crawling without it",
                           source.name, type(exc).__name__)
            locked.sources.append(source)
            continue
        except SourceBusy as exc:
            logger.warning("%s", exc)
            locked.refused[source.name] = str(exc)
            if run_id is not None:
                store.finish_run(run_id, SKIPPED, RunStats(first_error=str(exc)))
            continue
        locked.sources.append(source)
    try:
        yield locked
    finally:
        if locked._timer is not None and locked._timer.running:
            locked._timer.stop()
        locks.release()
