"""Tables of per-host politeness, shared by every crawl process on this database.

``robots_txt``: each host's robots.txt (by scheme and authority, as Scrapy keys it) with its
HTTP status and when it expires, so that a crawl reads it from here instead of fetching it
again. ``host_pauses``: a host that answered 429 or 503 with ``Retry-After`` is paused until
then, for every source and every process. ``host_slots``: the next time each host may be
asked again (the per-host delay held across processes). ``host_leases``: the requests in
flight to each host, one row per slot (at most ``per_domain_concurrency`` slots), each held
by one request of one crawl until it is released or its lease expires (a crashed process
stops renewing its leases, so its slots come free within the lease time), or its crawl's run
is closed, or its process is found gone (the run and the process are on the row).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class RobotsTxt(Base):
    """One host's robots.txt as last fetched."""

    __tablename__ = "robots_txt"

    netloc: Mapped[str] = mapped_column(String(300), primary_key=True)  # "https://host:port"
    status: Mapped[int] = mapped_column(Integer)  # HTTP status, 0: not fetched (network error)
    body: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class HostPause(Base):
    """A host that asked to be left alone (429/503 with Retry-After) until ``until``."""

    __tablename__ = "host_pauses"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class HostSlot(Base):
    """When ``host`` may next be asked (a reservation: each request moves it on by the delay)."""

    __tablename__ = "host_slots"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_at: Mapped[datetime]


class HostLease(Base):
    """Slot ``slot`` of ``host``: a request in flight, held by ``holder`` (one request of one
    crawl) until ``expires_at``; free once that has passed, whoever held it, once the crawl's
    run (``run_id``) is closed, and once the process (``pid`` on ``machine``) is gone."""

    __tablename__ = "host_leases"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]
    # The crawl_runs row of the crawl holding it (NULL: not known, the lease expires only).
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    # The holding process, as crawl_runs has it (NULL: not known).
    machine: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
