"""Tables of the background service: its one-per-database lock row and each source's state.

``scheduler_lock`` holds at most one row (``id = 1``): the running service, refreshed every few
seconds (its heartbeat). ``source_state`` keeps, per source name, what must survive a restart
(the next run time and the schedule it was computed from, the back-off) and a summary of the
last runs; ``crawl_runs`` stays the history itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SchedulerLock(Base):
    """The service that owns this database: who, since when, and its last sign of life."""

    __tablename__ = "scheduler_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class SourceState(Base):
    """Scheduling state of one source, by name; absent until the service first schedules it."""

    __tablename__ = "source_state"

    source_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the next run time was computed from; a different schedule recomputes it.
    schedule_key: Mapped[str] = mapped_column(String(255))
    schedule: Mapped[str] = mapped_column(Text)
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    backed_off_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class SourceRunLock(Base):
    """A crawl of one source that is running now: which command, process and host, since
    when, and its last sign of life (storage.run_locks)."""

    __tablename__ = "source_run_locks"

    source_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    command: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
