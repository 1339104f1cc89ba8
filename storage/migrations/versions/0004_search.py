"""full-text search index and the SQL views meant for people

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

SQLite: ``articles_fts``, an FTS5 external-content table over ``articles_fts_content`` (a view of
``articles`` with the highlights JSON decoded to plain lines), kept in sync by three triggers on
``articles``. Porter stemming, like PostgreSQL's ``english`` configuration.

PostgreSQL: ``articles.search_vector``, a stored generated ``tsvector`` (title weight A,
highlights B, body C) with a GIN index, for matching; ``articles.headline_vector`` (title and
highlights only), for ranking. The database keeps both in sync itself.

Both: the views ``articles_view`` and ``stories_view`` (see docs/schema.md).

A later migration that rebuilds ``articles`` on SQLite (``batch_alter_table`` with a
"move and copy") drops the triggers and trips over the views: it must call ``drop_objects``
before and ``create_objects`` after, copied from here.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _sqlite_highlights(alias: str) -> str:
    return f"(SELECT group_concat(j.value, char(10)) FROM json_each({alias}.highlights) AS j)"


SQLITE_OBJECTS = [
    f"""CREATE VIEW articles_fts_content AS
        SELECT a.id AS id, a.title AS title, {_sqlite_highlights('a')} AS highlights,
               a.body AS body
        FROM articles AS a""",
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, highlights, body,
        content='articles_fts_content', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, highlights, body)
        VALUES (new.id, new.title, {_sqlite_highlights('new')}, new.body);
    END""",
    f"""CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, highlights, body)
        VALUES ('delete', old.id, old.title, {_sqlite_highlights('old')}, old.body);
    END""",
    f"""CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, highlights, body ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, highlights, body)
        VALUES ('delete', old.id, old.title, {_sqlite_highlights('old')}, old.body);
        INSERT INTO articles_fts(rowid, title, highlights, body)
        VALUES (new.id, new.title, {_sqlite_highlights('new')}, new.body);
    END""",
    # FTS5's own 'rebuild' cannot scan a view that calls json_each ("SQL logic error"),
    # so index the rows already there with a plain insert.
    """INSERT INTO articles_fts(rowid, title, highlights, body)
        SELECT id, title, highlights, body FROM articles_fts_content""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TABLE IF EXISTS articles_fts",
    "DROP VIEW IF EXISTS articles_fts_content",
]

PG_OBJECTS = [
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, highlights), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'C')
    ) STORED""",
    # Ranking reads this small vector, not search_vector: a full vector is a few kilobytes,
    # compressed out of line, and reading it for every match of a common word is slow.
    """ALTER TABLE articles ADD COLUMN headline_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, highlights), 'B')
    ) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
]

PG_DROP = [
    "DROP INDEX IF EXISTS ix_articles_search_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS headline_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_vector",
]


def _views(dialect: str) -> list[str]:
    if dialect == "postgresql":
        topics = "(SELECT string_agg(t.topic, ',' ORDER BY t.score DESC, t.topic) " \
                 "FROM article_topics AS t WHERE t.article_id = a.id)"
        entities = "(SELECT string_agg(e.entity_id, ',' ORDER BY e.mentions DESC, e.entity_id) " \
                   "FROM article_entities AS e WHERE e.article_id = a.id)"
        highlights = "(SELECT string_agg(h.value, E'\\n') " \
                     "FROM json_array_elements_text(a.highlights) AS h(value))"
    else:
        # SQLite's group_concat has no ORDER BY before 3.44: order in a subquery.
        topics = "(SELECT group_concat(topic, ',') FROM (SELECT t.topic FROM article_topics " \
                 "AS t WHERE t.article_id = a.id ORDER BY t.score DESC, t.topic))"
        entities = "(SELECT group_concat(entity_id, ',') FROM (SELECT e.entity_id FROM " \
                   "article_entities AS e WHERE e.article_id = a.id " \
                   "ORDER BY e.mentions DESC, e.entity_id))"
        highlights = _sqlite_highlights("a")
    return [
        f"""CREATE VIEW articles_view AS
            SELECT a.id AS id,
                   s.name AS source,
                   a.title AS title,
                   a.canonical_url AS url,
                   COALESCE(a.published_at, a.first_seen_at) AS dated_at,
                   a.published_at AS published_at,
                   a.first_seen_at AS first_seen_at,
                   a.modified_at AS modified_at,
                   a.primary_topic AS primary_topic,
                   {topics} AS topics,
                   {entities} AS entities,
                   a.story_id AS story_id,
                   a.duplicate_of_id AS duplicate_of_id,
                   {highlights} AS highlights,
                   a.summary AS summary,
                   a.body AS body,
                   a.language AS language,
                   a.section AS section
            FROM articles AS a JOIN sources AS s ON s.id = a.source_id""",
        """CREATE VIEW stories_view AS
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
            LEFT JOIN sources AS s ON s.id = a.source_id""",
    ]


VIEWS_DROP = ["DROP VIEW IF EXISTS stories_view", "DROP VIEW IF EXISTS articles_view"]


def create_objects(dialect: str) -> None:
    for sql in (PG_OBJECTS if dialect == "postgresql" else SQLITE_OBJECTS) + _views(dialect):
        op.execute(sql)


def drop_objects(dialect: str) -> None:
    for sql in VIEWS_DROP + (PG_DROP if dialect == "postgresql" else SQLITE_DROP):
        op.execute(sql)


def upgrade() -> None:
    create_objects(op.get_bind().dialect.name)


def downgrade() -> None:
    drop_objects(op.get_bind().dialect.name)
