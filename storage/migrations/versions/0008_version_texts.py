"""every article version keeps its text; re-fetches much worse than the stored text rejected

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

``article_versions`` kept only a hash and the title of each state of an article, so a re-fetch
that replaced the article (with a consent wall, say) left no copy of the text it replaced.
Now each version keeps its full text: ``body`` and ``highlights`` (zlib-compressed UTF-8, the
highlights as a JSON list; ``storage.revisions.pack``), ``summary`` and ``authors`` (JSON), and
a ``status``: ``accepted`` (the version became the article) or ``rejected`` (a re-fetch that
was much worse than the stored text, kept only here, with its ``reason``).

zlib in a binary column, not PostgreSQL's column compression, so the stored bytes and the
code that reads them are the same on SQLite and PostgreSQL. Existing versions get NULL text
(their text was never kept) and the status ``accepted``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = ("body", "highlights", "summary", "authors", "status", "reason")


def upgrade() -> None:
    with op.batch_alter_table("article_versions") as batch:
        batch.add_column(sa.Column("body", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("highlights", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("authors", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False,
                                   server_default="accepted"))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article_versions") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
