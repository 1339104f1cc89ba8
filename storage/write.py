"""Writing a batch of articles: the path both databases share, over each one's bulk insert.

Contract: :class:`ArticleWriter` writes records inside the caller's transaction (a write
session, see :meth:`storage.store.Store.write_session`) and never commits. Its subclasses,
one per database (``storage.write_sqlite``, ``storage.write_postgres``), say how keys are
looked up and how new articles are inserted and filed; the rest (updates, rejections,
aliases, enrichment on update) is the same on both.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.article import COPIED_COLUMNS, ArticleRecord
from storage.models import (
    Article,
    ArticleBand,
    ArticleEntity,
    ArticleStoryKey,
    ArticleTermPair,
    ArticleTopic,
    ArticleURL,
    ArticleVersion,
)
from storage.records import Outcome, StoryMatcher
from storage.revisions import Stored, is_front_page, judge, pack, pack_list, reason_kind
from storage.stories import Found, StoryFiler, headline_pairs, story_filer

logger = logging.getLogger(__name__)

# The record fields written to ``articles`` as they are (read from the article model).
_ARTICLE_FIELDS = COPIED_COLUMNS
# What a fetch says of the page rather than of the text (crawler.fallback).
_FETCH_FIELDS = ("body_source", "page_error", "page_attempts", "page_retry_at")


def record_keys(rec: ArticleRecord) -> list[str]:
    """Every key ``rec`` is known under, its own first. A front page is never an alias: it
    would tie every later article that redirects home to this one."""
    return [rec.url_key, *[k for k in dict.fromkeys(rec.alias_keys)
                           if k != rec.url_key and not is_front_page(k)]]


def version_row(rec: ArticleRecord, content_hash: str, *, status: str = "accepted",
            reason: str | None = None) -> dict[str, Any]:
    """The ``article_versions`` row of ``rec`` (without ``article_id``): its full text."""
    return {"fetched_at": rec.fetched_at, "modified_at": rec.modified_at or rec.fetched_at,
            "content_hash": content_hash, "title": rec.title, "body": pack(rec.body),
            "highlights": pack_list(rec.highlights), "summary": rec.summary,
            "authors": rec.authors, "status": status, "reason": reason}


class ArticleWriter(ABC):
    """Writes articles in one database's dialect; :func:`storage.store.writer_for` picks it.

    Subclasses implement :meth:`insert` (an INSERT that takes ON CONFLICT), :meth:`known_ids`
    and :meth:`insert_new`."""

    @abstractmethod
    def insert(self, table: Any) -> Any:
        """An INSERT into ``table`` of this dialect, which takes ``on_conflict_do_*``."""

    @abstractmethod
    def known_ids(self, session: Session, keys: Sequence[str]) -> dict[str, int]:
        """Key -> article id of those of ``keys`` that some stored article is known under."""

    @abstractmethod
    def insert_new(self, session: Session, filer: StoryFiler, records: Sequence[ArticleRecord],
                   source_ids: dict[str, int], found: Found | None) -> dict[str, int]:
        """Insert ``records`` (not empty; distinct keys unknown when the batch began) with
        their versions, aliases and enrichment, and file them under stories (``found``: what
        ``filer.lookup`` returned for them, or None); return key -> id of those inserted. A
        key another writer stored meanwhile is left out, for the caller to update."""

    def write(self, session: Session, records: Sequence[ArticleRecord],
              source_ids: dict[str, int], matcher: StoryMatcher | None
              ) -> tuple[list[Outcome], list[int]]:
        """:meth:`storage.store.Store.write_articles` inside its transaction (``session``):
        what happened to each record, in order, and the ids of the articles whose text is new
        or changed, queued for the search index."""
        outcomes: list[Outcome | None] = [None] * len(records)
        to_index: list[int] = []  # articles whose text is new or changed
        known = self.known_ids(session, [k for r in records for k in record_keys(r)])
        fresh: list[int] = []
        fresh_keys: set[str] = set()
        for i, rec in enumerate(records):
            if rec.url_key in fresh_keys or any(k in known for k in record_keys(rec)):
                continue
            fresh.append(i)
            fresh_keys.add(rec.url_key)
        filer = story_filer(session, matcher)
        # Candidates are looked up before the batch's own rows exist (they would only be
        # read to be left out).
        new = [records[i] for i in fresh]
        inserted = self._insert_filed(session, filer, new, source_ids, filer.lookup(new))
        to_index.extend(inserted.values())
        for i in fresh:
            if records[i].url_key in inserted:
                outcomes[i] = Outcome.NEW
        # Known keys, repeats within the batch, and keys another process inserted first.
        for i, rec in enumerate(records):
            if outcomes[i] is None:
                outcomes[i], aid = self._upsert_one(session, rec, source_ids[rec.source],
                                                    matcher)
                if outcomes[i] is not Outcome.UNCHANGED:
                    to_index.append(aid)
        from storage import search_index  # loaded by the first write, not by readers

        search_index.queue(session.connection(), to_index)
        return [o for o in outcomes if o is not None], to_index

    def _insert_filed(self, session: Session, filer: StoryFiler,
                      records: Sequence[ArticleRecord], source_ids: dict[str, int],
                      found: Found | None) -> dict[str, int]:
        """:meth:`insert_new`, for any number of ``records``."""
        if not records:
            return {}
        return self.insert_new(session, filer, records, source_ids, found)

    def _upsert_one(self, session: Session, rec: ArticleRecord, source_id: int,
                    matcher: StoryMatcher | None) -> tuple[Outcome, int]:
        """The careful path for one record: insert if new, else update or leave it; returns
        what happened and the article's id.

        A record with new content for a stored article replaces it only if
        :func:`storage.revisions.judge` finds it no worse than the stored text; otherwise the
        article (text, topics, URL, aliases) is left as it was and the record is kept as a
        rejected version with the reason (see :meth:`_reject`)."""
        chash = rec.content_hash()
        rec_keys = record_keys(rec)
        known = dict(session.execute(
            select(ArticleURL.url_key, ArticleURL.article_id)
            .where(ArticleURL.url_key.in_(rec_keys))
        ).all())
        # The record's own key first: an alias may name another article (a redirect).
        existing_id = next((known[k] for k in rec_keys if k in known), None)
        if existing_id is None:
            inserted = self._insert_filed(session, story_filer(session, matcher), [rec],
                                          {rec.source: source_id}, None)
            if rec.url_key in inserted:
                return Outcome.NEW, inserted[rec.url_key]
            # Another process stored this key between our read and our write (as an
            # article's own key, or on PostgreSQL also as one of its aliases).
            existing_id = session.execute(
                select(ArticleURL.article_id).where(ArticleURL.url_key == rec.url_key)
            ).scalar_one()
        values: dict[str, Any] = {f: getattr(rec, f) for f in _ARTICLE_FIELDS}
        article = session.get(Article, existing_id, with_for_update={"of": Article})
        assert article is not None
        if article.content_hash == chash:
            # The same text; a page tried again and refused again says so, and when next.
            for name in _FETCH_FIELDS:
                setattr(article, name, getattr(rec, name))
            self.add_aliases(session, article.id, rec_keys)
            _checked(article, rec.fetched_at)
            return Outcome.UNCHANGED, article.id
        reason = judge(Stored(title=article.title, body=article.body), rec)
        if reason is not None:
            self._reject(session, article.id, rec, chash, reason)
            _checked(article, rec.fetched_at)
            return Outcome.REJECTED, article.id
        self.add_aliases(session, article.id, rec_keys)
        modified = rec.modified_at or rec.fetched_at
        for name, value in values.items():
            if name in ("published_at", "published_raw", "published_precision", "published_date",
                        "published_source") and article.published_at is not None and (
                            value is None):
                continue  # never lose a publication time we had
            setattr(article, name, value)
        article.content_hash = chash
        article.modified_at = modified
        article.fetched_at = rec.fetched_at
        session.flush()
        self.write_enrichment(session, article.id, rec, replace=True)
        session.add(ArticleVersion(article_id=article.id, **version_row(rec, chash)))
        return Outcome.UPDATED, article.id

    def _reject(self, session: Session, article_id: int, rec: ArticleRecord, chash: str,
                reason: str) -> None:
        """Keep ``rec`` as a rejected version of article ``article_id``, unless the article's
        latest version is already a rejection of that kind, or this content was rejected
        before: a wall served on every run (with a new Ray ID or reference each time) is kept
        once."""
        logger.warning("%s: re-fetch of %s not stored over the article (%s)", rec.source,
                       rec.url, reason)
        latest = session.execute(
            select(ArticleVersion.status, ArticleVersion.reason)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.id.desc()).limit(1)).first()
        if latest is not None and latest[0] == "rejected" and (
                reason_kind(latest[1] or "") == reason_kind(reason)):
            return
        seen = session.execute(select(ArticleVersion.id).where(
            ArticleVersion.article_id == article_id, ArticleVersion.content_hash == chash,
            ArticleVersion.status == "rejected").limit(1)).scalar()
        if seen is None:
            session.add(ArticleVersion(article_id=article_id,
                                       **version_row(rec, chash, status="rejected",
                                                     reason=reason)))

    def write_enrichment(
        self, session: Session, article_id: int, rec: ArticleRecord, *, replace: bool
    ) -> None:
        """Write the topics, entities, LSH bands, headline pairs and story keys of ``rec`` for
        article ``article_id``; with ``replace``, delete the article's old ones first."""
        if replace:
            for table in (ArticleTopic, ArticleEntity, ArticleBand, ArticleTermPair,
                          ArticleStoryKey):
                session.execute(delete(table).where(table.article_id == article_id))
        self.insert_enrichment(session, [(article_id, rec)])

    @staticmethod
    def insert_enrichment(session: Session, items: Sequence[tuple[int, ArticleRecord]]) -> None:
        """Insert the enrichment rows of ``items`` (article id, record) through the ORM."""
        topics = [{"article_id": a, "topic": t, "score": sc}
                  for a, r in items for t, sc in r.topics.items()]
        entities = [{"article_id": a, "entity_id": e, "mentions": n}
                    for a, r in items for e, n in r.entities.items()]
        bands = {(b, a): i for a, r in items for i, b in enumerate(r.bands)}
        terms = [{"pair": p, "article_id": a, "at": r.published_at or r.fetched_at}
                 for a, r in items for p in headline_pairs(r.title_terms)]
        if terms:
            session.execute(insert(ArticleTermPair), terms)
        keys = [{"key": k, "article_id": a, "at": r.published_at or r.fetched_at}
                for a, r in items for k in dict.fromkeys(r.story_keys)]
        if keys:
            session.execute(insert(ArticleStoryKey), keys)
        if topics:
            session.execute(insert(ArticleTopic), topics)
        if entities:
            session.execute(insert(ArticleEntity), entities)
        if bands:
            session.execute(insert(ArticleBand), [
                {"bucket": b, "article_id": a, "band": i} for (b, a), i in bands.items()])

    def add_aliases(self, session: Session, article_id: int, keys: Sequence[str]) -> None:
        """Point each of ``keys`` not yet known at article ``article_id``."""
        rows = [{"url_key": k, "article_id": article_id} for k in dict.fromkeys(keys)]
        session.execute(
            self.insert(ArticleURL.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["url_key"])
        )


def _checked(article: Article, at: datetime) -> None:
    """``fetched_at`` is when the article was last fetched, whether or not it changed (a
    re-fetch is due again ``refetch_every`` after it)."""
    if at > article.fetched_at:
        article.fetched_at = at
