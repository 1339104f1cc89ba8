"""articles.body_source, page_error, page_attempts, page_retry_at, publisher, publisher_url

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

An article whose page was refused (401, 403, 429, 5xx after retries, robots.txt) or was a bot
wall is stored from its feed or sitemap entry: ``body_source`` says "feed" (else "page"),
``page_error`` why the page could not be used, ``page_attempts`` how many tries failed since
it last worked and ``page_retry_at`` when the crawler tries it again (NULL: not again).
Existing rows are page bodies (``body_source`` "page"). ``publisher`` and ``publisher_url``:
the publisher an aggregator names for the article (a ``google_news`` source's
``<source url="...">``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_COLUMNS = ("page_retry_at", "page_attempts", "page_error", "body_source", "publisher",
            "publisher_url")


# Plain ADD/DROP COLUMN, not a batch (table copy): on SQLite the search index's views and
# triggers refer to ``articles`` and a copy-and-rename breaks them.
def upgrade() -> None:
    op.add_column("articles", sa.Column("body_source", sa.String(16), nullable=False,
                                        server_default="page"))
    op.add_column("articles", sa.Column("page_error", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("page_attempts", sa.Integer(), nullable=False,
                                        server_default="0"))
    op.add_column("articles", sa.Column("page_retry_at", sa.DateTime(), nullable=True))
    op.create_index(op.f("ix_articles_page_retry_at"), "articles", ["page_retry_at"])
    op.add_column("articles", sa.Column("publisher", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("publisher_url", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_index(op.f("ix_articles_page_retry_at"), table_name="articles")
    for name in _COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE articles DROP COLUMN {name}")
        else:
            op.drop_column("articles", name)
