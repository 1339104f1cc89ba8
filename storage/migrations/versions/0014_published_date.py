"""articles.published_date: the publication's calendar day where the page was written

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02

``published_at`` is UTC: a date-only value ("2022-01-28" on a page in Berlin) is stored at the
start of that day in the page's zone, which is 27 January in UTC, and every output that read the
UTC day showed the day before. ``published_date`` keeps the day the page means (in the offset
it prints, else the source's time zone). Existing rows get NULL (outputs then fall back to the
UTC day of ``published_at``, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


# A plain ADD/DROP COLUMN, not a batch (table copy): on SQLite the search index's views and
# triggers refer to ``articles`` and a copy-and-rename breaks them.
def upgrade() -> None:
    op.add_column("articles", sa.Column("published_date", sa.Date(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE articles DROP COLUMN published_date")
    else:
        op.drop_column("articles", "published_date")
