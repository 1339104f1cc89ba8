"""Story filing: a batch of new articles filed under stories, inside the batch's transaction.

For every new article, in order: a near-duplicate (an article sharing LSH band buckets,
confirmed by the matcher) gives it that article's story and marks it a copy; else an
article about the same event (sharing headline pairs, else story keys, within the matcher's
time window, confirmed by the matcher) gives it its story; else it opens a new story as its
primary. Candidates come from a few set-based queries per batch (LSH buckets; headline pairs
and story keys within the time window), never a scan of the corpus or of the window, and
earlier articles of the same batch are candidates for later ones. Why each article joined
its story (the matcher's reason) is written to ``story_links``.

One interface, :class:`StoryFiler` (``base.py``, with the logic both dialects share), one
implementation per dialect (``sqlite.py``, ``postgres.py``), chosen once by
:func:`story_filer`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from storage.records import StoryMatcher
from storage.stories.base import StoryFiler
from storage.stories.common import Filed, Found, NewArticle, headline_pairs
from storage.stories.postgres import STORY_LOCK, PostgresStoryFiler
from storage.stories.sqlite import SqliteStoryFiler

__all__ = ["STORY_LOCK", "Filed", "Found", "NewArticle", "StoryFiler", "headline_pairs",
           "index_lookups", "story_filer"]


def _filer_class(session: Session) -> type[StoryFiler]:
    """The one place the dialect is asked: PostgreSQL's SQL, else SQLite's."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresStoryFiler
    return SqliteStoryFiler


def story_filer(session: Session, matcher: StoryMatcher | None, *,
                exclude: ColumnElement[bool] | None = None) -> StoryFiler:
    """The story filer of ``session``'s dialect, for one transaction; see
    :class:`StoryFiler` for ``matcher`` and ``exclude``."""
    return _filer_class(session)(session, matcher, exclude=exclude)


def index_lookups(session: Session) -> AbstractContextManager[None]:
    """Around a batch's key lookups in ``session`` (candidates, known keys, the recount): on
    PostgreSQL, make the planner look every key up in its index; elsewhere nothing."""
    return _filer_class(session).index_lookups(session)
