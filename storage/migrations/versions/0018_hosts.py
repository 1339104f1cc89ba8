"""per-host politeness: robots_txt (cached per host with its expiry), host_pauses
(Retry-After for every source and process), host_slots (the per-host delay across
processes), and crawl_runs.blocked (pages refused or walled, apart from errors)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("netloc", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("netloc", name=op.f("pk_robots_txt")),
    )
    op.create_table(
        "host_pauses",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pauses")),
    )
    op.create_table(
        "host_slots",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_slots")),
    )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("blocked", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("blocked")
    op.drop_table("host_slots")
    op.drop_table("host_pauses")
    op.drop_table("robots_txt")
