"""The storage API shared by the pipelines, the scheduler and the CLI."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import (
    Article,
    ArticleBand,
    ArticleEntity,
    ArticleTopic,
    ArticleURL,
    ArticleVersion,
    CrawlRun,
    HttpValidator,
    SourceRow,
    Story,
)
from storage.records import ArticleRecord, Candidate, Outcome, RunStats, StoryMatcher

logger = logging.getLogger(__name__)

_ARTICLE_FIELDS = (
    "canonical_url", "url", "title", "highlights", "summary", "body", "authors",
    "published_at", "published_raw", "published_precision", "published_source",
    "language", "image_url", "section", "tags", "topic_scores", "primary_topic", "minhash",
)
# Any constant will do: it names the lock that serialises story filing across processes.
_STORY_LOCK = 0x6E65_7773  # "news"
_MAX_CANDIDATES = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Articles, sources, runs and HTTP validators in one SQL database.

    Accepts a URL or an engine. Every write method is one transaction: it either
    stores all it was given or nothing.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._source_ids: dict[str, int] = {}

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = True, **engine_kwargs: Any) -> Store:
        store = cls(make_engine(url, **engine_kwargs))
        if migrate:
            upgrade(store.engine)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    def _insert(self, table: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table)
        return sqlite_insert(table)

    # -- sources -----------------------------------------------------------------------

    def source_id(self, name: str, kind: str = "unknown") -> int:
        """Return the id of source ``name``, creating its row on first use."""
        if name in self._source_ids:
            return self._source_ids[name]
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(SourceRow.__table__)
                .values(name=name, kind=kind, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            sid = conn.execute(select(SourceRow.id).where(SourceRow.name == name)).scalar_one()
        self._source_ids[name] = sid
        return sid

    # -- articles ----------------------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Return those of ``keys`` that some stored article is known under."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                found.update(conn.execute(
                    select(ArticleURL.url_key).where(ArticleURL.url_key.in_(chunk))
                ).scalars())
        return found

    def keys_first_seen_since(self, keys: Iterable[str], since: datetime) -> set[str]:
        """Return those of ``keys`` whose article was first seen at or after ``since``."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                found.update(conn.execute(
                    select(ArticleURL.url_key)
                    .join(Article, Article.id == ArticleURL.article_id)
                    .where(ArticleURL.url_key.in_(wanted[i : i + 500]),
                           Article.first_seen_at >= since)
                ).scalars())
        return found

    def upsert_articles(
        self, records: Sequence[ArticleRecord], matcher: StoryMatcher | None = None
    ) -> list[Outcome]:
        """Store ``records`` in one transaction; return what happened to each, in order.

        A new key inserts a row and files it under a story (``matcher`` decides which
        candidate, if any, it is a copy of or shares an event with; without one, every
        article opens its own story); a known key whose content hash changed updates the
        row in place and adds a version; an unchanged one writes nothing. Concurrent writers
        of one key are safe: the unique key decides, the loser updates or leaves it.
        """
        outcomes: list[Outcome] = []
        source_ids = {r.source: self.source_id(r.source) for r in records}
        with self.session() as session, session.begin():
            for rec in records:
                outcomes.append(
                    self._upsert_one(session, rec, source_ids[rec.source], matcher))
        return outcomes

    def _upsert_one(self, session: Session, rec: ArticleRecord, source_id: int,
                    matcher: StoryMatcher | None) -> Outcome:
        chash = rec.content_hash()
        keys = [rec.url_key, *[k for k in rec.alias_keys if k != rec.url_key]]
        existing_id = session.execute(
            select(ArticleURL.article_id).where(ArticleURL.url_key.in_(keys)).limit(1)
        ).scalar()
        values: dict[str, Any] = {f: getattr(rec, f) for f in _ARTICLE_FIELDS}
        if existing_id is None:
            result = session.execute(
                self._insert(Article.__table__)
                .values(
                    url_key=rec.url_key, source_id=source_id, content_hash=chash,
                    first_seen_at=rec.fetched_at, fetched_at=rec.fetched_at,
                    modified_at=rec.modified_at, **values,
                )
                .on_conflict_do_nothing(index_elements=["url_key"])
                .returning(Article.id)
            ).scalar()
            if result is not None:
                session.add(ArticleVersion(
                    article_id=result, fetched_at=rec.fetched_at, modified_at=rec.modified_at,
                    content_hash=chash, title=rec.title,
                ))
                self._add_aliases(session, result, keys)
                self._write_enrichment(session, result, rec, replace=False)
                self._file_under_story(session, result, rec, source_id, matcher)
                return Outcome.NEW
            # Another process inserted this key between our read and our write.
            existing_id = session.execute(
                select(Article.id).where(Article.url_key == rec.url_key)
            ).scalar_one()
        article = session.get(Article, existing_id, with_for_update={"of": Article})
        assert article is not None
        self._add_aliases(session, article.id, keys)
        if article.content_hash == chash:
            return Outcome.UNCHANGED
        modified = rec.modified_at or rec.fetched_at
        for name, value in values.items():
            if name in ("published_at", "published_raw", "published_precision",
                        "published_source") and article.published_at is not None and (
                            value is None):
                continue  # never lose a publication time we had
            setattr(article, name, value)
        article.content_hash = chash
        article.modified_at = modified
        article.fetched_at = rec.fetched_at
        session.flush()
        self._write_enrichment(session, article.id, rec, replace=True)
        session.add(ArticleVersion(
            article_id=article.id, fetched_at=rec.fetched_at, modified_at=modified,
            content_hash=chash, title=rec.title,
        ))
        return Outcome.UPDATED

    def _write_enrichment(
        self, session: Session, article_id: int, rec: ArticleRecord, *, replace: bool
    ) -> None:
        if replace:
            for table in (ArticleTopic, ArticleEntity, ArticleBand):
                session.execute(delete(table).where(table.article_id == article_id))
        if rec.topics:
            session.execute(self._insert(ArticleTopic.__table__).values([
                {"article_id": article_id, "topic": t, "score": sc}
                for t, sc in rec.topics.items()]))
        if rec.entities:
            session.execute(self._insert(ArticleEntity.__table__).values([
                {"article_id": article_id, "entity_id": e, "mentions": n}
                for e, n in rec.entities.items()]))
        if rec.bands:
            session.execute(self._insert(ArticleBand.__table__).values([
                {"band": i, "bucket": b, "article_id": article_id}
                for i, b in enumerate(rec.bands)]).on_conflict_do_nothing())

    def _file_under_story(
        self, session: Session, article_id: int, rec: ArticleRecord, source_id: int,
        matcher: StoryMatcher | None,
    ) -> None:
        """Give a new article its story: a near-duplicate's, a same-event article's, or a
        new one with this article as primary."""
        if self.engine.dialect.name == "postgresql":
            # Two processes filing copies of one wire story at once would each miss the
            # other and open two stories; one transaction at a time files stories.
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STORY_LOCK})
        match: Candidate | None = None
        duplicate_of: int | None = None
        if matcher is not None and rec.bands:
            cands = self._band_candidates(session, article_id, rec)
            match = matcher.near_duplicate(rec, cands) if cands else None
            if match is not None:
                duplicate_of = match.duplicate_of_id or match.article_id
        if matcher is not None and match is None and rec.entities:
            cands = self._story_candidates(session, article_id, rec, matcher.window)
            match = matcher.same_story(rec, cands) if cands else None
        when = rec.published_at or rec.fetched_at
        story_id = match.story_id if match is not None else None
        if story_id is None:
            story = Story(primary_article_id=article_id, title=rec.title,
                          first_seen_at=rec.fetched_at, last_seen_at=when)
            session.add(story)
            session.flush()
            story_id = story.id
        else:
            sources = session.execute(
                select(func.count(func.distinct(Article.source_id)))
                .where(Article.story_id == story_id, Article.id != article_id)
            ).scalar_one()
            same_source = session.execute(
                select(func.count(Article.id)).where(
                    Article.story_id == story_id, Article.source_id == source_id)
            ).scalar_one()
            session.execute(update(Story).where(Story.id == story_id).values(
                article_count=Story.article_count + 1,
                source_count=sources + (0 if same_source else 1),
                last_seen_at=func.max(Story.last_seen_at, when)
                if self.engine.dialect.name == "sqlite"
                else func.greatest(Story.last_seen_at, when),
            ))
        session.execute(update(Article).where(Article.id == article_id).values(
            story_id=story_id, duplicate_of_id=duplicate_of))

    def _candidates(self, session: Session, ids_scores: list[tuple[int, int]]
                    ) -> list[Candidate]:
        if not ids_scores:
            return []
        scores = dict(ids_scores)
        rows = session.execute(
            select(Article.id, Article.story_id, Article.duplicate_of_id, Article.title,
                   Article.minhash, Article.published_at, Article.first_seen_at)
            .where(Article.id.in_(scores))
        ).all()
        ents: dict[int, set[str]] = {}
        for aid, eid in session.execute(
            select(ArticleEntity.article_id, ArticleEntity.entity_id)
            .where(ArticleEntity.article_id.in_(scores))
        ):
            ents.setdefault(aid, set()).add(eid)
        out = [Candidate(article_id=r[0], story_id=r[1], duplicate_of_id=r[2], title=r[3],
                         minhash=r[4], entities=ents.get(r[0], set()), published_at=r[5],
                         first_seen_at=r[6], shared_bands=scores[r[0]]) for r in rows]
        out.sort(key=lambda c: (-c.shared_bands, c.first_seen_at, c.article_id))
        return out

    def _band_candidates(self, session: Session, article_id: int, rec: ArticleRecord
                         ) -> list[Candidate]:
        pairs = list(enumerate(rec.bands))
        hits = session.execute(
            select(ArticleBand.article_id, func.count().label("n"))
            .join(Article, Article.id == ArticleBand.article_id)
            .where(tuple_(ArticleBand.band, ArticleBand.bucket).in_(pairs),
                   ArticleBand.article_id != article_id, Article.story_id.is_not(None))
            .group_by(ArticleBand.article_id)
            .order_by(func.count().desc(), ArticleBand.article_id)
            .limit(_MAX_CANDIDATES)
        ).all()
        return self._candidates(session, [(int(a), int(n)) for a, n in hits])

    def _story_candidates(self, session: Session, article_id: int, rec: ArticleRecord,
                          window: Any) -> list[Candidate]:
        when = rec.published_at or rec.fetched_at
        hits = session.execute(
            select(ArticleEntity.article_id, func.count().label("n"))
            .join(Article, Article.id == ArticleEntity.article_id)
            .where(ArticleEntity.entity_id.in_(list(rec.entities)),
                   ArticleEntity.article_id != article_id,
                   Article.duplicate_of_id.is_(None), Article.story_id.is_not(None),
                   Article.first_seen_at >= when - window,
                   Article.first_seen_at <= when + window)
            .group_by(ArticleEntity.article_id)
            .order_by(func.count().desc(), ArticleEntity.article_id)
            .limit(_MAX_CANDIDATES)
        ).all()
        return self._candidates(session, [(int(a), int(n)) for a, n in hits])

    # -- re-processing ---------------------------------------------------------------

    def articles_to_reprocess(
        self, since: datetime | None, after: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[int, ArticleRecord]]:
        """The next ``limit`` articles first seen at or after ``since``, in first-seen order,
        after the ``(first_seen_at, id)`` position ``after``; as (id, record) pairs."""
        stmt = select(Article).order_by(Article.first_seen_at, Article.id).limit(limit)
        if since is not None:
            stmt = stmt.where(Article.first_seen_at >= since)
        if after is not None:
            stmt = stmt.where(tuple_(Article.first_seen_at, Article.id) > tuple_(*after))
        with self.session() as session:
            rows = list(session.execute(stmt).unique().scalars())
        return [(a.id, ArticleRecord(
            url_key=a.url_key, canonical_url=a.canonical_url, url=a.url, source=a.source.name,
            title=a.title, body=a.body, fetched_at=a.first_seen_at, highlights=a.highlights,
            summary=a.summary, authors=a.authors, published_at=a.published_at,
        )) for a in rows]

    def unfile_since(self, since: datetime | None) -> int:
        """Take articles first seen at or after ``since`` out of their stories (to be filed
        again by :meth:`refile`); returns how many."""
        cond = [Article.first_seen_at >= since] if since is not None else []
        with self.engine.begin() as conn:
            result = conn.execute(update(Article).where(*cond).values(
                story_id=None, duplicate_of_id=None))
        return int(result.rowcount or 0)

    def refile(self, items: Sequence[tuple[int, ArticleRecord]],
               matcher: StoryMatcher | None) -> None:
        """Replace the enrichment of stored articles and file them under stories again, in
        the order given, in one transaction."""
        with self.session() as session, session.begin():
            for article_id, rec in items:
                session.execute(update(Article).where(Article.id == article_id).values(
                    topic_scores=rec.topic_scores, primary_topic=rec.primary_topic,
                    minhash=rec.minhash))
                self._write_enrichment(session, article_id, rec, replace=True)
                source_id = session.execute(
                    select(Article.source_id).where(Article.id == article_id)).scalar_one()
                self._file_under_story(session, article_id, rec, source_id, matcher)

    def recount_stories(self) -> None:
        """Recompute every story's primary, counts and times from its articles; drop empty
        stories."""
        with self.session() as session, session.begin():
            session.execute(delete(Story).where(
                ~select(Article.id).where(Article.story_id == Story.id).exists()))
            stats = session.execute(
                select(Article.story_id, func.count(Article.id),
                       func.count(func.distinct(Article.source_id)),
                       func.min(Article.first_seen_at),
                       func.max(func.coalesce(Article.published_at, Article.first_seen_at)))
                .where(Article.story_id.is_not(None)).group_by(Article.story_id)
            ).all()
            for story_id, n, sources, first, last in stats:
                primary = session.execute(
                    select(Article.id, Article.title).where(Article.story_id == story_id)
                    .order_by(Article.first_seen_at, Article.id).limit(1)).one()
                session.execute(update(Story).where(Story.id == story_id).values(
                    article_count=n, source_count=sources, first_seen_at=first,
                    last_seen_at=last, primary_article_id=primary[0], title=primary[1]))

    def _add_aliases(self, session: Session, article_id: int, keys: Sequence[str]) -> None:
        rows = [{"url_key": k, "article_id": article_id} for k in dict.fromkeys(keys)]
        session.execute(
            self._insert(ArticleURL.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["url_key"])
        )

    def count_articles(self, source: str | None = None) -> int:
        stmt = select(func.count(Article.id))
        if source is not None:
            stmt = stmt.join(SourceRow).where(SourceRow.name == source)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def articles(self, *, source: str | None = None, limit: int | None = None) -> list[Article]:
        stmt = select(Article).order_by(Article.id)
        if source is not None:
            stmt = stmt.join(SourceRow).where(SourceRow.name == source)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.session() as session:
            return list(session.execute(stmt).unique().scalars())

    def article_by_url(self, url_key: str) -> Article | None:
        with self.session() as session:
            return session.execute(
                select(Article).join(ArticleURL, ArticleURL.article_id == Article.id)
                .where(ArticleURL.url_key == url_key)
            ).unique().scalar_one_or_none()

    # -- crawl runs --------------------------------------------------------------------

    def start_run(self, source: str, started_at: datetime | None = None) -> int:
        with self.session() as session, session.begin():
            run = CrawlRun(
                source_name=source, started_at=started_at or utcnow(), status="running",
                host=socket.gethostname(), pid=os.getpid(),
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, stats: RunStats) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(CrawlRun).where(CrawlRun.id == run_id).values(
                    status=status, finished_at=utcnow(), requests=stats.requests,
                    bytes=stats.bytes, pages=stats.pages, new=stats.new,
                    updated=stats.updated, unchanged=stats.unchanged, dropped=stats.dropped,
                    errors=stats.errors, first_error=stats.first_error,
                )
            )

    def runs(self, source: str | None = None, limit: int = 50) -> list[CrawlRun]:
        stmt = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(CrawlRun.source_name == source)
        with self.session() as session:
            return list(session.execute(stmt).scalars())

    # -- conditional GET ---------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(HttpValidator.etag, HttpValidator.last_modified)
                .where(HttpValidator.url == url)
            ).first()
        return (row[0], row[1]) if row else (None, None)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        stmt = self._insert(HttpValidator.__table__).values(
            url=url, etag=etag, last_modified=last_modified, checked_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["url"],
            set_={"etag": etag, "last_modified": last_modified, "checked_at": utcnow()},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
