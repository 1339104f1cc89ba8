"""per-host concurrency across processes: host_leases (a request in flight to a host holds
one of its slots until it gives it back, its lease expires, its run is closed or its process
is gone); pending_pages (an entry whose
page was refused and which has no title to store an article from, kept to try its page
again) and crawl_runs.pending (how many a run kept)

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_leases",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("machine", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("host", "slot", name=op.f("pk_host_leases")),
    )
    op.create_table(
        "pending_pages",
        sa.Column("url_key", sa.String(length=2048), nullable=False),
        sa.Column("source_name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("page_error", sa.Text(), nullable=False),
        sa.Column("page_attempts", sa.Integer(), nullable=False),
        sa.Column("page_retry_at", sa.DateTime(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("url_key", name=op.f("pk_pending_pages")),
    )
    op.create_index("ix_pending_pages_source_retry", "pending_pages",
                    ["source_name", "page_retry_at"])
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("pending", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("pending")
    op.drop_index("ix_pending_pages_source_retry", table_name="pending_pages")
    op.drop_table("pending_pages")
    op.drop_table("host_leases")
