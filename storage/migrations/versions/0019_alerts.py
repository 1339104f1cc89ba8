"""watchlist alerts: alert_events (once per watchlist, story and event) and alert_deliveries
(the outbox the delivery worker sends from)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("watchlist", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("event_key", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.UniqueConstraint("watchlist", "story_id", "event", "event_key",
                            name="uq_alert_events_once"),
    )
    op.create_index("ix_alert_events_watchlist", "alert_events", ["watchlist"])
    op.create_index("ix_alert_events_created_at", "alert_events", ["created_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_id", _ID, sa.ForeignKey("alert_events.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("watchlist", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("batch_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_alert_deliveries_event_id", "alert_deliveries", ["event_id"])
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alert_events")
