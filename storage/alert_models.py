"""Tables of the alerts: what alerted once per story (``alert_events``) and its outbox
(``alert_deliveries``: one row per event and target, or per batch window and target).

An event is unique by (watchlist, story, event, key): "new" and "grown" have key 0, so a
story alerts each at most once however many copies, re-fetches or writers see it; "updated"
has the article's version count as its key, one alert per revision. The crawl writes both
tables in the database thread after the batch's commit; the delivery worker
(``alerts.delivery``) reads due rows, sends them and records the attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base

_ID = BigInteger().with_variant(Integer(), "sqlite")


class AlertEvent(Base):
    """One alert of one watchlist about one story: new, grown or updated."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("watchlist", "story_id", "event", "event_key",
                                       name="uq_alert_events_once"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[int] = mapped_column(Integer, default=0)
    story_id: Mapped[int] = mapped_column(BigInteger)
    article_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # The documented JSON body (alerts.payload), as it was when the event was decided.
    payload: Mapped[dict[str, Any]]


class AlertDelivery(Base):
    """One event to send to one target: pending until sent, or failed after its attempts."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"),
                                          index=True)
    watchlist: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it may next be sent: now, the end of its batch window, or after a back-off.
    due_at: Mapped[datetime]
    # Deliveries sharing a batch window and target go out as one message.
    batch_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
