"""SqliteStoryFiler: story filing in SQLite's SQL (IN lists, a JSON parameter)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from storage.models import Article, ArticleBand, ArticleEntity, ArticleStoryKey, Story
from storage.records import Candidate
from storage.stories.base import StoryFiler
from storage.stories.common import (
    _CANDIDATE_COLUMNS,
    _CHUNK,
    Found,
    NewArticle,
    _candidate,
    _chunks,
)
from storage.types import naive_utc


class SqliteStoryFiler(StoryFiler):
    """Story filing on SQLite. The store's write transaction holds the file's write lock
    (``BEGIN IMMEDIATE``) from before the lookups to the commit, so no other writer files in
    between: no story lock of its own, nothing to catch up on."""

    chunk = _CHUNK
    pair_chunk = 2_000

    @staticmethod
    def index_lookups(session: Session) -> AbstractContextManager[None]:
        """Nothing: SQLite's planner uses the indexes for these queries."""
        return nullcontext()

    def lock(self) -> None:
        """Nothing: the write transaction's lock is the story lock."""

    def _watermark(self) -> int:
        return 0

    def _catch_up(self, items: Sequence[NewArticle], found: Found) -> None:
        return None

    def _write_filing(self, rows: Sequence[tuple[int, int, int | None]]) -> None:
        # ORM bulk UPDATE by primary key: one executemany.
        self.session.execute(update(Article), [
            {"id": a, "story_id": s, "duplicate_of_id": d} for a, s, d in rows])

    def _insert_stories(self, new_stories: dict[int, Story]) -> dict[int, int]:
        temps = list(new_stories)
        self.session.add_all(new_stories[t] for t in temps)
        self.session.flush()
        return {t: new_stories[t].id for t in temps}

    def _in_buckets(self, buckets: Sequence[int]) -> Any:
        return (select(ArticleBand.bucket, ArticleBand.article_id)
                .where(ArticleBand.bucket.in_(buckets)))

    def _batch_terms(self, rows: Sequence[tuple[int, str]], times: Sequence[datetime],
                     window: timedelta) -> tuple[Any, Any, Any]:
        # One JSON parameter, read with json_each; times as SQLite stores them.
        def stored(t: datetime) -> str:
            return naive_utc(t).strftime("%Y-%m-%d %H:%M:%S.%f")

        data = [(i, p, stored(times[i] - window), stored(times[i] + window)) for i, p in rows]
        rel = func.json_each(bindparam(None, json.dumps(data))).table_valued(
            "value", name="batch")
        cols = SimpleNamespace(**{
            name: func.json_extract(rel.c.value, f"$[{k}]")
            for k, name in enumerate(("i", "pair", "lo", "hi"))})
        return rel, cols, cols

    def _read_candidate_rows(self, ids: Sequence[int], visible: Sequence[ColumnElement[bool]]
                             ) -> dict[int, Candidate]:
        # The articles' rows, then their entities and story keys in two more queries.
        out: dict[int, Candidate] = {}
        for chunk in _chunks(ids, self.chunk):
            for row in self.session.execute(
                select(*_CANDIDATE_COLUMNS).where(Article.id.in_(chunk), *visible)
            ):
                out[row[0]] = _candidate(row)
        if out:
            for chunk in _chunks(sorted(out), self.chunk):
                for aid, eid in self.session.execute(
                    select(ArticleEntity.article_id, ArticleEntity.entity_id)
                    .where(ArticleEntity.article_id.in_(chunk))
                ):
                    out[aid].entities.add(eid)
                for aid, key in self.session.execute(
                    select(ArticleStoryKey.article_id, ArticleStoryKey.key)
                    .where(ArticleStoryKey.article_id.in_(chunk))
                ):
                    out[aid].keys.add(key)
        return out

    def _member(self, col: Any, items: Sequence[Any],
                element: TypeEngine[Any]) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = col.in_(items)
        return cond
