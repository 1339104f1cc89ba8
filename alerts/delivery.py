"""The delivery worker: sends what the outbox (``alert_deliveries``) holds, off the crawl.

:func:`deliver_due` claims the due pending rows (moving their ``due_at`` a lease ahead, so a
second worker skips them), sends one message per row, or per target and batch window, and
records each attempt: sent, or its error and the next attempt ``retry_delay`` later,
doubling, until ``max_attempts`` marks it failed. A failing target costs only its own rows'
attempts: the crawl never waits for it. :class:`DeliveryWorker` runs it in a thread.

A crawl in the worker's own process hands what it writes straight to the worker
(:func:`local_worker`, :meth:`DeliveryWorker.hand_over`): the crawl inserts those rows
already leased, in the transaction that writes the events, so the worker sends them without
first queueing for SQLite's write lock behind the crawl's next batch; the attempts are
recorded by a second thread. Rows whose process dies unsent fall due again when the lease
ends, for any worker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerts.channels import DeliveryError, send
from config.schema import Settings
from storage.alert_models import AlertDelivery, AlertEvent
from storage.store import Store

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
#: How long the attempts of handed-over rows wait for the crawl's next write transaction to
#: record them (:meth:`DeliveryWorker.take_outcomes`) before the worker writes them itself.
RECORD_AFTER = 1.0
Sender = Callable[[str, Any, list[dict[str, Any]], Any], None]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Due:
    """One claimed delivery: what sending it and recording the attempt need."""

    id: int
    target: str
    watchlist: str
    batch_until: datetime | None
    attempts: int
    body: dict[str, Any]


#: The ids of a message's deliveries and the values its attempt writes to them.
Outcome = tuple[list[int], dict[str, Any]]


def deliver_due(store: Store, settings: Settings, *, now: datetime | None = None,
                sender: Sender = send, limit: int = 500) -> tuple[int, int]:
    """Send the deliveries due at ``now``; return (messages sent, messages failed).

    Looking for due rows is a plain read: an idle pass takes no write lock, so it never
    queues behind (or holds up) the crawl's writers. The rows found are claimed in one
    short transaction (only those still pending and due: a second worker that claimed one
    first keeps it), sent, and every attempt is recorded in one more transaction."""
    now = now or _now()
    with store.session() as session:
        rows = session.execute(
            select(AlertDelivery, AlertEvent.payload)
            .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
            .where(AlertDelivery.status == "pending", AlertDelivery.due_at <= now)
            .order_by(AlertDelivery.id).limit(limit)).all()
    if not rows:
        return 0, 0
    with store.write_session() as session, session.begin():
        claimed = set(session.scalars(
            update(AlertDelivery)
            .where(AlertDelivery.id.in_([d.id for d, _ in rows]),
                   AlertDelivery.status == "pending", AlertDelivery.due_at <= now)
            .values(due_at=now + LEASE).returning(AlertDelivery.id)))
    due = [Due(d.id, d.target, d.watchlist, d.batch_until, d.attempts, body)
           for d, body in rows if d.id in claimed]
    sent, failed, outcomes = send_claimed(due, settings, sender, now)
    record(store, outcomes)
    return sent, failed


def send_claimed(due: Sequence[Due], settings: Settings, sender: Sender,
                 now: datetime) -> tuple[int, int, list[Outcome]]:
    """Send claimed deliveries, one message per row or per target and batch window; return
    (messages sent, messages failed, what to record)."""
    groups: dict[tuple[str, str, Any], list[Due]] = {}
    for d in due:
        groups.setdefault((d.target, d.watchlist, d.batch_until or d.id), []).append(d)
    sent = failed = 0
    opts = settings.alerts
    outcomes: list[Outcome] = []
    for (target_name, _wl, _), members in groups.items():
        target = settings.notify.get(target_name)
        error: str | None = None
        if target is None:
            error = f"notify target {target_name!r} is no longer in the settings"
        else:
            try:
                sender(target_name, target, [d.body for d in members], settings.digest.smtp)
            except DeliveryError as exc:
                error = exc.reason
            except Exception as exc:  # a sender's bug must not stop the other targets
                logger.exception("delivery to %r failed", target_name)
                error = f"{type(exc).__name__}: {exc}"
        attempts = members[0].attempts + 1
        values: dict[str, Any]
        if error is None:
            sent += 1
            values = {"status": "sent", "sent_at": _now(), "attempts": attempts,
                      "last_error": None}
        else:
            failed += 1
            delay = (opts.retry_delay or timedelta(seconds=30)) * (2 ** (attempts - 1))
            give_up = attempts >= opts.max_attempts
            logger.warning("alert delivery to %r failed (attempt %d%s): %s", target_name,
                           attempts, ", giving up" if give_up else "", error)
            values = {"status": "failed" if give_up else "pending", "attempts": attempts,
                      "last_error": error, "due_at": now + delay}
        outcomes.append(([d.id for d in members], values))
    return sent, failed, outcomes


def record(store: Store, outcomes: Sequence[Outcome]) -> None:
    """Write the attempts ``outcomes`` describe, in one transaction."""
    if not outcomes:
        return
    with store.write_session() as session, session.begin():
        apply(session, outcomes)


def apply(session: Session, outcomes: Sequence[Outcome]) -> None:
    """Write the attempts ``outcomes`` describe in ``session``'s transaction."""
    for ids, values in outcomes:
        session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(ids))
                        .values(**values))


_workers: weakref.WeakSet[DeliveryWorker] = weakref.WeakSet()
_workers_lock = threading.Lock()


def local_worker(store: Store) -> DeliveryWorker | None:
    """A running delivery worker of this process on ``store``'s database, if there is one."""
    url = store.engine.url.render_as_string(hide_password=False)
    with _workers_lock:
        workers = list(_workers)
    for worker in workers:
        if worker.url == url:
            return worker
    return None


class DeliveryWorker:
    """:func:`deliver_due` in a daemon thread, until :meth:`stop` (which sends what was
    handed over and runs a last pass, so what a finished crawl queued is sent before it
    returns). What this process's crawl hands over (:meth:`hand_over`) is sent at once;
    the outbox is polled every ``poll_interval`` for what other processes wrote and for
    retries falling due."""

    def __init__(self, store: Store, settings: Settings, *, sender: Sender = send) -> None:
        self.store = store
        self.settings = settings
        self.sender = sender
        self.url = store.engine.url.render_as_string(hide_password=False)
        self.interval = (settings.alerts.poll_interval or timedelta(seconds=0.5)).total_seconds()
        self._inbox: queue.SimpleQueue[list[Due] | None] = queue.SimpleQueue()
        self._outcomes: list[Outcome] = []
        self._oldest = 0.0  # monotonic time the oldest unrecorded outcome was added
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recorder: threading.Thread | None = None

    def start(self) -> DeliveryWorker:
        self._recorder = threading.Thread(target=self._record, name="newsmon-alerts-record",
                                          daemon=True)
        self._recorder.start()
        self._thread = threading.Thread(target=self._run, name="newsmon-alerts", daemon=True)
        self._thread.start()
        with _workers_lock:
            _workers.add(self)
        return self

    def hand_over(self, due: list[Due]) -> None:
        """Send ``due`` now (thread-safe): rows its caller inserted leased to this process."""
        self._inbox.put(due)

    def _pass(self) -> None:
        try:
            deliver_due(self.store, self.settings, sender=self.sender)
        except Exception:  # a database hiccup: the rows stay pending for the next pass
            logger.exception("alert delivery pass failed")

    def _send(self, due: list[Due]) -> None:
        try:
            _, _, outcomes = send_claimed(due, self.settings, self.sender, _now())
        except Exception:  # the rows stay leased and fall due again when the lease ends
            logger.exception("alert delivery of %d handed-over rows failed", len(due))
            return
        self.give_back(outcomes)

    def take_outcomes(self) -> list[Outcome]:
        """The attempts not recorded yet, for the caller to write in the transaction it
        holds anyway (the crawl's next batch of events): SQLite then sees no extra writer
        while the crawl writes. On a rollback the caller must :meth:`give_back` them."""
        with self._lock:
            out, self._outcomes = self._outcomes, []
        return out

    def give_back(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        with self._lock:
            if not self._outcomes:
                self._oldest = time.monotonic()
            self._outcomes.extend(outcomes)

    def _run(self) -> None:
        next_poll = time.monotonic() + self.interval
        while True:
            try:
                due = self._inbox.get(timeout=max(0.0, next_poll - time.monotonic()))
            except queue.Empty:
                due = []
            if due is None:  # stop(): everything handed over before it has been sent
                return
            if due:
                self._send(due)
            if time.monotonic() >= next_poll:  # a busy crawl must not starve the retries
                self._pass()
                next_poll = time.monotonic() + self.interval

    def _record(self) -> None:
        """Write the attempts nobody took within RECORD_AFTER (the crawl wrote nothing)."""
        while True:
            stopping = self._stopping.wait(RECORD_AFTER / 4)
            with self._lock:
                due = stopping or (self._outcomes
                                   and time.monotonic() - self._oldest >= RECORD_AFTER)
            if due:
                outcomes = self.take_outcomes()
                try:
                    record(self.store, outcomes)
                except Exception:  # unrecorded: the rows fall due again when the lease ends
                    logger.exception("recording %d alert deliveries failed", len(outcomes))
            if stopping:
                return

    def stop(self, final_pass: bool = True) -> None:
        with _workers_lock:
            _workers.discard(self)
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join()
        while not self._inbox.empty():  # handed over while it was stopping
            due = self._inbox.get()
            if due:
                self._send(due)
        self._stopping.set()
        if self._recorder is not None:
            self._recorder.join()
        if final_pass:
            self._pass()

    def __enter__(self) -> DeliveryWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DeliveryWorker", "Due", "apply", "deliver_due", "local_worker", "record",
           "send_claimed"]
