"""One head: join the scheduler branch (0002 → 0009) and the articles branch (… → 0014)

Every later revision follows this one, so `newsmon db upgrade` reports a single revision.

Revision ID: 0015
Revises: 0009, 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0015"
down_revision = ("0009", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
