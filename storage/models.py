"""SQLAlchemy models: sources, articles (with their URL aliases and versions), crawl runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class SourceRow(Base):
    """A configured source, as the database knows it (the YAML stays the source of truth)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Article(Base):
    """One article, identified by the key of its canonical URL."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(2048), unique=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    highlights: Mapped[list[str]] = mapped_column(default=list)
    summary: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # "page" or "feed" (revision 0017): the page was refused, a wall, or had less text.
    body_source: Mapped[str] = mapped_column(String(16), default="page", server_default="page")
    page_error: Mapped[str | None] = mapped_column(Text)
    # The publisher an aggregator (Google News) names for the article (revision 0017).
    publisher: Mapped[str | None] = mapped_column(Text)
    publisher_url: Mapped[str | None] = mapped_column(Text)
    page_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    page_retry_at: Mapped[datetime | None] = mapped_column(index=True)
    authors: Mapped[list[str]] = mapped_column(default=list)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    published_raw: Mapped[str | None] = mapped_column(Text)
    published_precision: Mapped[str | None] = mapped_column(String(16))
    published_source: Mapped[str | None] = mapped_column(String(32))
    # The calendar day the page means (its offset, else the source's zone); NULL on rows
    # stored before revision 0014.
    published_date: Mapped[date | None]
    modified_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    fetched_at: Mapped[datetime]
    language: Mapped[str | None] = mapped_column(String(16))
    image_url: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    # One story, once: the story this article belongs to, and the article it is a
    # near-duplicate (syndicated copy) of, if any. The story's first-seen copy is its primary.
    story_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    # PostgreSQL: the filing that set ``story_id``, numbered in the order filings took the
    # story lock (``storage.stories``); a writer that looked for candidates before taking the
    # lock reads what was filed after its look by this number. None on SQLite.
    filed_seq: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The highest-scoring topic at or above the threshold (or pinned); None: off-topic.
    primary_topic: Mapped[str | None] = mapped_column(String(32), index=True)
    topic_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)

    source: Mapped[SourceRow] = relationship(lazy="joined", innerjoin=True)
    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.id", cascade="all, delete-orphan"
    )


class Story(Base):
    """Articles about one event: syndicated copies and independent pieces alike."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Not a foreign key: articles point at stories, and a cycle of constraints would make
    # inserts order-dependent on every database.
    primary_article_id: Mapped[int] = mapped_column(BigId, index=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    article_count: Mapped[int] = mapped_column(default=1)
    source_count: Mapped[int] = mapped_column(default=1)


class ArticleTopic(Base):
    """A topic an article belongs to (at or above the threshold, or pinned), with its score."""

    __tablename__ = "article_topics"
    __table_args__ = (Index("ix_article_topics_topic_score", "topic", "score"),)

    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class ArticleEntity(Base):
    """A country or organisation an article mentions (ids from config/entities.yaml)."""

    __tablename__ = "article_entities"

    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    mentions: Mapped[int] = mapped_column(default=1)


class ArticleBand(Base):
    """MinHash LSH band hashes: articles sharing a (band, bucket) are near-duplicate
    candidates. The index lives here so every crawler process shares it."""

    __tablename__ = "article_bands"

    # A bucket hashes the band's index with its values, so buckets of different bands
    # never collide and the bucket alone is the lookup key.
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)
    band: Mapped[int] = mapped_column(SmallInteger)


class ArticleTermPair(Base):
    """Pairs of content words of an article's headline (entity names and stop words left
    out), ``"army exercise"``: two articles about one event share at least two words, so at
    least one pair, and a pair heads far fewer articles than a single word does."""

    __tablename__ = "article_term_pairs"

    # Looked up by pair within a time window: a range scan of the key's prefix.
    pair: Mapped[str] = mapped_column(Text, primary_key=True)
    # The article's time for story windows: published, else first seen.
    at: Mapped[datetime] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)


class ArticleStoryKey(Base):
    """An article's story keys (``crawler.dedup.salient``): its body's rarest words, names,
    amounts and counts. Reports of one event written apart share several within the story
    window; looked up by key within the window, as headline pairs are."""

    __tablename__ = "article_story_keys"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    # The article's time for story windows: published, else first seen.
    at: Mapped[datetime] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)


class StoryLink(Base):
    """Why an article is in its story: the article it was linked to and the reason
    ("copy: …", "headline: …", "shared: …"); none for an article that opened its story."""

    __tablename__ = "story_links"

    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    linked_to_id: Mapped[int] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(Text)


class ArticleURL(Base):
    """Every URL an article was seen under (feed link, fetched URL, canonical), by key."""

    __tablename__ = "article_urls"

    url_key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )


class ArticleVersion(Base):
    """One fetched state of an article: the first fetch and every change seen after it, with
    its text (zlib-compressed, ``storage.revisions.pack``). ``status`` "accepted": it became
    the article; "rejected": a re-fetch much worse than the stored text (``reason``), kept
    only here."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # Indexed: the digest reads the versions fetched in a window (storage.developments).
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    modified_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    # NULL for versions stored before revision 0008.
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    highlights: Mapped[bytes | None] = mapped_column(LargeBinary)
    summary: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str] | None]
    status: Mapped[str] = mapped_column(String(16), server_default="accepted")
    reason: Mapped[str | None] = mapped_column(Text)

    article: Mapped[Article] = relationship(back_populates="versions")


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, and what it stored."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_name", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    requests: Mapped[int] = mapped_column(default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    pages: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    dropped: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    # Pages refused by the site (401/403/429/451) or answered by a bot wall: not errors.
    blocked: Mapped[int] = mapped_column(default=0, server_default="0")
    # Entries kept as pending pages (refused page, no title to store an article from).
    pending: Mapped[int] = mapped_column(default=0, server_default="0")
    first_error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]


class HttpValidator(Base):
    """ETag and Last-Modified per feed or sitemap URL, for conditional GET from any process."""

    __tablename__ = "http_validators"
    __table_args__ = (UniqueConstraint("url", name="uq_http_validators_url"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime]
