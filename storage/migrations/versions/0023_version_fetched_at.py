"""an index on article_versions.fetched_at: the digest's developments (Today) read the
versions fetched in a window

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_versions_fetched_at", "article_versions", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_article_versions_fetched_at", table_name="article_versions")
