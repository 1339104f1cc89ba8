"""faster writes: new articles are inserted with their story (deferrable foreign keys)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

On PostgreSQL a writer now files a batch before it inserts the articles, and inserts each row
once, with its story, instead of inserting it and then updating it (which wrote a second copy
of the row and of its nine index entries, and left a dead row for VACUUM). The rows that point
at the new articles (versions, topics, entities) are written before them, outside the story
lock; their foreign keys become ``DEFERRABLE INITIALLY IMMEDIATE`` so that the writer can have
them checked at commit (``SET CONSTRAINTS … DEFERRED``). Every other transaction still has
them checked at once. SQLite: nothing changes (it still inserts, then files).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TABLES = ("article_versions", "article_topics", "article_entities")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t in _TABLES:
            op.execute(f"ALTER TABLE {t} ALTER CONSTRAINT fk_{t}_article_id_articles "
                       "DEFERRABLE INITIALLY IMMEDIATE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t in _TABLES:
            op.execute(f"ALTER TABLE {t} ALTER CONSTRAINT fk_{t}_article_id_articles "
                       "NOT DEFERRABLE")
