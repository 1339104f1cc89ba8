"""Test factory for stored news: articles with topics, entities and stories, via the Store API.

A :class:`Newsroom` writes through a :class:`~storage.Store` with :class:`TitleStories` as matcher:
articles with the same title are near-duplicates (their LSH bands are derived from the title),
and articles given the same ``story`` label belong to one story.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import ArticleRecord, Store
from storage.records import Candidate

# 09:00 IST on Wednesday 25 November 2026.
T0 = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)


class TitleStories:
    """A StoryMatcher for tests: same title = copy; same label (from :class:`Newsroom`) = story."""

    window = timedelta(days=7)
    # The store offers same-story candidates sharing this many headline terms; articles with
    # one label share two made-up terms (see Newsroom.article).
    min_shared_terms = 2

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def near_duplicate(self, record: ArticleRecord, candidates: list[Candidate]
                       ) -> Candidate | None:
        return next((c for c in candidates if c.title == record.title), None)

    def same_story(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        label = self.labels.get(record.title)
        if label is None:
            return None
        return next((c for c in candidates if self.labels.get(c.title) == label), None)

    # The records these tests make have no story keys: nothing is found by them.
    min_shared_keys = 3

    def same_event(self, record: ArticleRecord, candidates: list[Candidate]
                   ) -> Candidate | None:
        return None


def bands_for(title: str) -> list[int]:
    return [zlib.crc32(f"{i}:{title}".encode()) for i in range(4)]


class Newsroom:
    """Writes articles through ``Store.upsert_articles`` and returns their ids."""

    def __init__(self, store: Store, alerts: Any = None) -> None:
        """``alerts``: an :class:`alerts.evaluate.AlertEvaluator` to run after each write,
        as the crawl's storage pipeline does."""
        self.store = store
        self.matcher = TitleStories()
        self.alerts = alerts
        self.n = 0

    def article(
        self,
        title: str,
        *,
        source: str = "wire",
        at: datetime = T0,
        published: datetime | None | bool = True,
        topics: dict[str, float] | None = None,
        body: str | None = None,
        highlights: Iterable[str] = (),
        summary: str | None = None,
        entities: dict[str, int] | None = None,
        story: str | None = None,
        key: str | None = None,
        url: str | None = None,
    ) -> ArticleRecord:
        self.n += 1
        key = key or f"{source}.example.com/news/{self.n}"
        if story is not None:
            self.matcher.labels[title] = story
        topics = dict(topics or {})
        primary = max(topics, key=lambda t: topics[t]) if topics else None
        pub = at if published is True else (None if published is False else published)
        assert pub is None or isinstance(pub, datetime)
        return ArticleRecord(
            url_key=key, canonical_url=url or f"https://{key}", url=url or f"https://{key}",
            source=source, title=title,
            body=body if body is not None else f"{title}. Reported by {source}. " * 3,
            fetched_at=at, highlights=list(highlights), summary=summary, published_at=pub,
            topic_scores=topics, topics=topics, primary_topic=primary,
            entities=entities if entities is not None else {"country:in": 1},
            bands=bands_for(title),
            title_terms=[f"story-{story}", f"label-{story}"] if story is not None else [],
        )

    def add(self, *records: ArticleRecord) -> list[int]:
        # The matcher moved from the Store to each upsert call; accept either API.
        if "matcher" in inspect.signature(self.store.upsert_articles).parameters:
            outcomes = self.store.upsert_articles(list(records), matcher=self.matcher)  # type: ignore[call-arg,unused-ignore]
        else:
            self.store.matcher = self.matcher  # type: ignore[attr-defined,unused-ignore]
            outcomes = self.store.upsert_articles(list(records))
        if self.alerts is not None:
            self.alerts.after_write(self.store, list(records), outcomes)
        ids = []
        for rec in records:
            art = self.store.article_by_url(rec.url_key)
            assert art is not None
            ids.append(art.id)
        return ids

    def one(self, title: str, **kw: Any) -> int:
        return self.add(self.article(title, **kw))[0]


def open_newsroom(db_url: str) -> Newsroom:
    return Newsroom(Store.from_url(db_url))
