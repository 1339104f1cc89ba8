"""faster writes: search vectors indexed outside the insert; headline word pairs for stories

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Until now ``articles.search_vector`` and ``headline_vector`` were stored generated columns:
PostgreSQL computed ``to_tsvector`` of the whole article inside every INSERT, and again inside
every UPDATE of the row, even one that only sets ``story_id`` — about two thirds of the time of
storing an article, inside the transaction that holds the story-filing lock.

Now:

- ``search_docs(article_id, headline_vector, search_vector, dated_at)``: the same two vectors,
  one narrow row per article, GIN indexes on both (``search_vector`` to match,
  ``headline_vector`` to find the articles whose headline matches, which rank first), and the
  article's date (published, else first seen) with a B-tree index, so that the newest
  body-only matches are found in a recent window before an older one is read.
- ``search_queue(article_id)``: articles whose text is new or changed. The storage layer adds
  to it in the transaction that writes the article; ``storage.search_index.index_pending``
  takes rows off it (``FOR UPDATE SKIP LOCKED``, so several indexers can run) and writes their
  vectors. By default the writer indexes what it wrote right after its commit; bulk writers
  leave it to ``newsmon db index`` and the service's indexing job.

Articles' ``body`` and ``highlights`` are compressed with lz4 from now on where the server has it
(pglz before; existing rows keep theirs).

Upgrading queues every existing article; until the queue is drained (``newsmon db index``, or
the service within a minute) older articles are not found by search.

SQLite keeps its FTS5 index in sync by triggers (revision 0004).

Both databases: ``article_terms`` (one row per headline word) becomes ``article_term_pairs``
(one row per pair of headline words, ``"army exercise"``, the two words in code-point order).
Two articles are same-story candidates when their headlines share at least two words, that is
at least one pair; looking candidates up by pair instead of by word reads about 75 times fewer
rows in a busy window, because single words like "military" head thousands of articles a day.
The pairs are built from the stored words.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PG_UP = [
    """CREATE TABLE search_docs (
        article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        headline_vector tsvector NOT NULL,
        search_vector tsvector NOT NULL,
        dated_at timestamp NOT NULL
    )""",
    # Newest-first listings of body-only matches look at a recent window first.
    "CREATE INDEX ix_search_docs_dated_at ON search_docs (dated_at)",
    "CREATE INDEX ix_search_docs_search_vector ON search_docs USING gin (search_vector)",
    "CREATE INDEX ix_search_docs_headline_vector ON search_docs USING gin (headline_vector)",
    # No foreign key: queueing must cost the writer next to nothing; the indexer skips ids
    # whose article is gone.
    "CREATE TABLE search_queue (article_id BIGINT PRIMARY KEY)",
    "INSERT INTO search_queue (article_id) SELECT id FROM articles",
    "DROP INDEX IF EXISTS ix_articles_search_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS headline_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_vector",
]

PG_DOWN = [
    "DROP TABLE IF EXISTS search_queue",
    "DROP TABLE IF EXISTS search_docs",
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, highlights), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'C')
    ) STORED""",
    """ALTER TABLE articles ADD COLUMN headline_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, highlights), 'B')
    ) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
]


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _create_pairs() -> None:
    op.create_table(
        "article_term_pairs",
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_article_term_pairs_article_id_articles"),
                                ondelete="CASCADE"),
        # (pair, at) first: candidates are looked up by pair within a time window.
        sa.PrimaryKeyConstraint("pair", "at", "article_id", name=op.f("pk_article_term_pairs")),
    )
    op.create_index(op.f("ix_article_term_pairs_article_id"), "article_term_pairs",
                    ["article_id"])
    # "C" order on PostgreSQL is code-point order, as Python sorts the words.
    c = ' COLLATE "C"' if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(f"""INSERT INTO article_term_pairs (pair, at, article_id)
        SELECT a.term || ' ' || b.term, a.at, a.article_id
        FROM article_terms AS a JOIN article_terms AS b
          ON b.article_id = a.article_id AND a.term{c} < b.term{c}""")
    op.drop_table("article_terms")


def _restore_terms() -> None:
    op.create_table(
        "article_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_article_terms_article_id_articles"),
                                ondelete="CASCADE"),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("term", "article_id", name=op.f("pk_article_terms")),
    )
    op.create_index(op.f("ix_article_terms_article_id"), "article_terms", ["article_id"])
    op.create_index("ix_article_terms_term_at", "article_terms", ["term", "at"])
    pos = "strpos(pair, ' ')" if op.get_bind().dialect.name == "postgresql" else \
        "instr(pair, ' ')"
    op.execute(f"""INSERT INTO article_terms (term, article_id, at)
        SELECT DISTINCT w, article_id, at FROM (
            SELECT substr(pair, 1, {pos} - 1) AS w, article_id, at FROM article_term_pairs
            UNION ALL
            SELECT substr(pair, {pos} + 1) AS w, article_id, at FROM article_term_pairs
        ) AS words""")
    op.drop_table("article_term_pairs")


def _lz4_available() -> bool:
    return bool(op.get_bind().execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar())


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_UP:
            op.execute(sql)
        if _lz4_available():
            # New rows' long texts compress with lz4: several times faster than the default
            # pglz to write and to read back, for slightly larger values.
            for col in ("body", "highlights"):
                op.execute(f"ALTER TABLE articles ALTER COLUMN {col} SET COMPRESSION lz4")
    _create_pairs()


def downgrade() -> None:
    _restore_terms()
    if op.get_bind().dialect.name == "postgresql":
        for col in ("body", "highlights"):
            op.execute(f"ALTER TABLE articles ALTER COLUMN {col} SET COMPRESSION default")
        for sql in PG_DOWN:
            op.execute(sql)
