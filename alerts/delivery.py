"""The delivery worker: sends what the outbox (``alert_deliveries``) holds, off the crawl.

:func:`deliver_due` claims the due pending rows (moving their ``due_at`` a lease ahead, so a
second worker skips them), sends one message per row, or per target and batch window, and
records each attempt: sent, or its error and the next attempt ``retry_delay`` later,
doubling, until ``max_attempts`` marks it failed. A failing target costs only its own rows'
attempts: the crawl never waits for it. :class:`DeliveryWorker` runs it in a thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from alerts.channels import DeliveryError, send
from config.schema import Settings
from storage.alert_models import AlertDelivery, AlertEvent
from storage.store import Store

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
Sender = Callable[[str, Any, list[dict[str, Any]], Any], None]


def _now() -> datetime:
    return datetime.now(UTC)


def deliver_due(store: Store, settings: Settings, *, now: datetime | None = None,
                sender: Sender = send, limit: int = 500) -> tuple[int, int]:
    """Send the deliveries due at ``now``; return (messages sent, messages failed)."""
    now = now or _now()
    with store.write_session() as session, session.begin():
        rows = session.execute(
            select(AlertDelivery, AlertEvent.payload)
            .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
            .where(AlertDelivery.status == "pending", AlertDelivery.due_at <= now)
            .order_by(AlertDelivery.id).limit(limit)).all()
        if not rows:
            return 0, 0
        ids = [d.id for d, _ in rows]
        session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(ids))
                        .values(due_at=now + LEASE))
    groups: dict[tuple[str, str, Any], list[tuple[AlertDelivery, dict[str, Any]]]] = {}
    for d, body in rows:
        key = (d.target, d.watchlist, d.batch_until or d.id)
        groups.setdefault(key, []).append((d, body))
    sent = failed = 0
    opts = settings.alerts
    for (target_name, _wl, _), members in groups.items():
        target = settings.notify.get(target_name)
        error: str | None = None
        if target is None:
            error = f"notify target {target_name!r} is no longer in the settings"
        else:
            try:
                sender(target_name, target, [b for _, b in members], settings.digest.smtp)
            except DeliveryError as exc:
                error = exc.reason
            except Exception as exc:  # a sender's bug must not stop the other targets
                logger.exception("delivery to %r failed", target_name)
                error = f"{type(exc).__name__}: {exc}"
        attempts = members[0][0].attempts + 1
        ids = [d.id for d, _ in members]
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
        with store.write_session() as session, session.begin():
            session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(ids))
                            .values(**values))
    return sent, failed


class DeliveryWorker:
    """:func:`deliver_due` every ``poll_interval`` in a daemon thread, until :meth:`stop`
    (which runs a last pass, so what a finished crawl queued is sent before it returns)."""

    def __init__(self, store: Store, settings: Settings, *, sender: Sender = send) -> None:
        self.store = store
        self.settings = settings
        self.sender = sender
        self.interval = (settings.alerts.poll_interval or timedelta(seconds=0.5)).total_seconds()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DeliveryWorker:
        self._thread = threading.Thread(target=self._run, name="newsmon-alerts", daemon=True)
        self._thread.start()
        return self

    def _pass(self) -> None:
        try:
            deliver_due(self.store, self.settings, sender=self.sender)
        except Exception:  # a database hiccup: the rows stay pending for the next pass
            logger.exception("alert delivery pass failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._pass()

    def stop(self, final_pass: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if final_pass:
            self._pass()

    def __enter__(self) -> DeliveryWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DeliveryWorker", "deliver_due"]
