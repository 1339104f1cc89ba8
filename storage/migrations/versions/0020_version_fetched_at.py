"""an index on article_versions.fetched_at: the digest's developments (Today) read the
versions fetched in a window

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_versions_fetched_at", "article_versions", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_article_versions_fetched_at", table_name="article_versions")
