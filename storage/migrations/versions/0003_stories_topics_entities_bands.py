"""stories topics entities bands

Revision ID: 0003
Revises: 0001 (independent of 0002, the scheduler tables)
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "primary_article_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stories_first_seen_at"), ["first_seen_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stories_primary_article_id"), ["primary_article_id"], unique=False
        )

    op.create_table(
        "article_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_terms_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("term", "article_id", name=op.f("pk_article_terms")),
    )
    with op.batch_alter_table("article_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_terms_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index("ix_article_terms_term_at", ["term", "at"], unique=False)

    op.create_table(
        "article_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket", "article_id", name=op.f("pk_article_bands")),
    )
    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_bands_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "article_entities",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_entities_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name=op.f("pk_article_entities")),
    )
    with op.batch_alter_table("article_entities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_entities_entity_id"), ["entity_id"], unique=False
        )

    op.create_table(
        "article_topics",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_topics_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "topic", name=op.f("pk_article_topics")),
    )
    with op.batch_alter_table("article_topics", schema=None) as batch_op:
        batch_op.create_index("ix_article_topics_topic_score", ["topic", "score"], unique=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "duplicate_of_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("primary_topic", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("topic_scores", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("minhash", sa.LargeBinary(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_articles_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_articles_primary_topic"), ["primary_topic"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_articles_story_id"), ["story_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_duplicate_of_id_articles"),
            "articles",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_story_id_stories"),
            "stories",
            ["story_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_articles_story_id_stories"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_articles_duplicate_of_id_articles"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_articles_story_id"))
        batch_op.drop_index(batch_op.f("ix_articles_primary_topic"))
        batch_op.drop_index(batch_op.f("ix_articles_duplicate_of_id"))
        batch_op.drop_column("minhash")
        batch_op.drop_column("topic_scores")
        batch_op.drop_column("primary_topic")
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("story_id")

    with op.batch_alter_table("article_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_article_topics_topic_score")

    op.drop_table("article_topics")
    with op.batch_alter_table("article_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_entities_entity_id"))

    op.drop_table("article_entities")
    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_bands_article_id"))

    op.drop_table("article_terms")
    op.drop_table("article_bands")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_primary_article_id"))
        batch_op.drop_index(batch_op.f("ix_stories_first_seen_at"))

    op.drop_table("stories")
