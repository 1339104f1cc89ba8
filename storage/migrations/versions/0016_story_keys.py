"""story keys, the reason of each story link, and stories_view with its sources and times

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

``article_story_keys``: each article's story keys (its body's rarest words, names, amounts,
counts; ``crawler.dedup.salient``), looked up by key within the story window as
``article_term_pairs`` is; on PostgreSQL without a foreign key, cleared by the statement
trigger of revision 0006 like the other lookup tables. ``story_links``: the article each
article was linked to and why. ``stories_view`` gains ``sources`` (the sources' names, comma
separated, alphabetical), ``first_report_at`` and ``last_report_at`` (the earliest and latest
of its articles' published, else first-seen, times). Rows stored before this revision have no
keys and no reason until ``newsmon reprocess``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_LOOKUPS_FUNCTION = """CREATE OR REPLACE FUNCTION newsmon_drop_article_lookups() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           DELETE FROM article_bands WHERE article_id IN (SELECT id FROM gone);
           DELETE FROM article_term_pairs WHERE article_id IN (SELECT id FROM gone);{more}
           RETURN NULL;
       END $$"""

_OLD_VIEW = """CREATE VIEW stories_view AS
    SELECT st.id AS id,
           st.title AS title,
           st.first_seen_at AS first_seen_at,
           st.last_seen_at AS last_seen_at,
           st.article_count AS article_count,
           st.source_count AS source_count,
           st.primary_article_id AS primary_article_id,
           s.name AS primary_source,
           a.canonical_url AS primary_url,
           a.primary_topic AS primary_topic
    FROM stories AS st
    LEFT JOIN articles AS a ON a.id = st.primary_article_id
    LEFT JOIN sources AS s ON s.id = a.source_id"""


def _view(dialect: str) -> str:
    names = ("(SELECT string_agg(DISTINCT s2.name, ',' ORDER BY s2.name)"
             if dialect == "postgresql" else
             "(SELECT group_concat(n, ',') FROM (SELECT DISTINCT s2.name AS n")
    tail = "" if dialect == "postgresql" else " ORDER BY s2.name)"
    when = "coalesce(m.published_at, m.first_seen_at)"
    return f"""CREATE VIEW stories_view AS
    SELECT st.id AS id,
           st.title AS title,
           st.first_seen_at AS first_seen_at,
           st.last_seen_at AS last_seen_at,
           st.article_count AS article_count,
           st.source_count AS source_count,
           st.primary_article_id AS primary_article_id,
           s.name AS primary_source,
           a.canonical_url AS primary_url,
           a.primary_topic AS primary_topic,
           {names} FROM articles AS m2 JOIN sources AS s2 ON s2.id = m2.source_id
             WHERE m2.story_id = st.id{tail}) AS sources,
           (SELECT min({when}) FROM articles AS m WHERE m.story_id = st.id) AS first_report_at,
           (SELECT max({when}) FROM articles AS m WHERE m.story_id = st.id) AS last_report_at
    FROM stories AS st
    LEFT JOIN articles AS a ON a.id = st.primary_article_id
    LEFT JOIN sources AS s ON s.id = a.source_id"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    fk = [] if dialect == "postgresql" else [sa.ForeignKeyConstraint(
        ["article_id"], ["articles.id"], name=op.f("fk_article_story_keys_article_id_articles"),
        ondelete="CASCADE")]
    op.create_table(
        "article_story_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        *fk,
        # (key, at) first: candidates are looked up by key within a time window.
        sa.PrimaryKeyConstraint("key", "at", "article_id", name=op.f("pk_article_story_keys")),
    )
    op.create_index(op.f("ix_article_story_keys_article_id"), "article_story_keys",
                    ["article_id"])
    op.create_table(
        "story_links",
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("linked_to_id", _ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_story_links_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_story_links")),
    )
    if dialect == "postgresql":
        op.execute(_LOOKUPS_FUNCTION.format(more="\n           DELETE FROM article_story_keys "
                                            "WHERE article_id IN (SELECT id FROM gone);"))
    op.execute("DROP VIEW IF EXISTS stories_view")
    op.execute(_view(dialect))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW IF EXISTS stories_view")
    op.execute(_OLD_VIEW)
    if dialect == "postgresql":
        op.execute(_LOOKUPS_FUNCTION.format(more=""))
    op.drop_table("story_links")
    op.drop_index(op.f("ix_article_story_keys_article_id"), table_name="article_story_keys")
    op.drop_table("article_story_keys")
