"""StoryFiler: the interface of story filing, with the logic both dialects share.

A filer lives for one transaction (one batch). Its SQL differs by dialect; each dialect's
subclass (``sqlite.py``, ``postgres.py``) supplies the hooks at the end of the class, and
:func:`storage.stories.story_filer` picks the subclass once, by the session's dialect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, TypeEngine

from storage.article import ArticleRecord
from storage.models import Article, ArticleStoryKey, ArticleTermPair, Story, StoryLink
from storage.records import Candidate, StoryMatcher
from storage.stories.common import (
    GUARD_KEY,
    MAX_KEY_ARTICLES,
    Filed,
    Found,
    NewArticle,
    _aware,
    _chunks,
    _pairs_of,
    headline_pairs,
)
from storage.stories.pools import Pools


class StoryFiler(ABC):
    """Files a batch's new articles under stories, inside the batch's transaction.

    ``matcher`` decides which candidate, if any, an article copies or shares an event with
    (None: every article opens its own story). Articles matching ``exclude`` are no
    candidates. Use :meth:`lookup` before the articles are inserted and :meth:`file` after;
    or, for rows inserted after filing, :meth:`lock`, :meth:`assign`, then :meth:`finish`
    once the rows are written. :meth:`check` answers without writing.
    """

    # Ids per statement (an IN list or array), and (item, headline pair) rows per statement
    # in the headline-pair lookup.
    chunk: int
    pair_chunk: int

    def __init__(self, session: Session, matcher: StoryMatcher | None, *,
                 exclude: ColumnElement[bool] | None = None) -> None:
        self.session = session
        self.matcher = matcher
        # Articles matching ``exclude`` are no candidates (``newsmon reprocess``: those not
        # re-processed yet, as if they were not stored).
        self._exclude = exclude
        self._temp_ids = count(-1, -1)  # provisional ids of stories opened in this batch

    def lookup(self, records: Sequence[ArticleRecord]) -> Found:
        """The candidate lookups of :meth:`file` for ``records``, run before they are
        inserted (so the lookups do not meet the batch's own rows); hand the result to
        :meth:`file` with the same articles in the same order."""
        return self._lookup(records, set())

    def file(self, items: Sequence[NewArticle], found: Found | None = None) -> None:
        """File ``items`` (inserted in this transaction) under stories; ``found``: what
        :meth:`lookup` returned for their records, else the lookups run now."""
        if not items:
            return
        filed = self.assign(items, found)
        self._write_filing(filed.rows)
        self.finish(filed)

    def assign(self, items: Sequence[NewArticle], found: Found | None = None) -> Filed:
        """Under the lock: match ``items`` and insert the stories they open; return each
        one's story and the article it copies, for the caller to write (:meth:`file` updates
        rows that exist; a writer inserting its rows after filing puts them in the INSERT),
        then :meth:`finish`. ``found``: what :meth:`lookup` returned for their records, else
        the lookups run now (the rows of ``items`` left out)."""
        if found is None:
            found = self._lookup_inserted(items)
        self.lock()
        self._catch_up(items, found)
        pools = Pools.of(found)

        assigned: list[tuple[int, int, int | None]] = []  # article, story (maybe temp), dup of
        links: list[tuple[int, int, str]] = []  # article, linked to, why
        new_stories: dict[int, Story] = {}
        for i, item in enumerate(items):
            rec = item.record
            match, duplicate_of = pools.match(self.matcher, i, rec)
            if match is not None and match.story_id is not None:
                story_id = match.story_id
                links.append((item.article_id, match.article_id, match.reason or "matched"))
            else:
                story_id = next(self._temp_ids)
                when = rec.published_at or rec.fetched_at
                new_stories[story_id] = Story(
                    primary_article_id=item.article_id, title=rec.title,
                    first_seen_at=rec.fetched_at, last_seen_at=when)
            assigned.append((item.article_id, story_id, duplicate_of))
            if self.matcher is not None:
                pools.remember(item, story_id, duplicate_of)

        real = self._insert_stories(new_stories) if new_stories else {}
        # Stories that gained an article: existing ones, and new ones joined by a later copy
        # in this same batch. A new story with one article already has the right counts.
        members = Counter(s for _, s, _ in assigned)
        return Filed(rows=[(a, real.get(s, s), d) for a, s, d in assigned],
                     joined={real.get(s, s) for s, n in members.items() if s > 0 or n > 1},
                     links=links)

    def finish(self, filed: Filed) -> None:
        """Once the rows of :meth:`assign` are written: record why each article joined its
        story, and recount the stories that grew."""
        if filed.links:
            self.session.execute(insert(StoryLink), [
                {"article_id": a, "linked_to_id": t, "reason": r[:500]}
                for a, t, r in filed.links])
        if filed.joined:
            with self.index_lookups(self.session):  # by the story_id index, not a scan
                self._recount(sorted(filed.joined))

    def check(self, items: Sequence[NewArticle]) -> list[tuple[Candidate | None, int | None]]:
        """The dedup check alone, writing nothing: for each of ``items`` in order, the
        candidate it would be filed with (None: a new story) and the article it copies
        (None: not a copy), earlier items counting as filed."""
        pools = Pools.of(self._lookup_inserted(items))
        out: list[tuple[Candidate | None, int | None]] = []
        for i, item in enumerate(items):
            match, duplicate_of = pools.match(self.matcher, i, item.record)
            out.append((match, duplicate_of))
            if self.matcher is not None:
                story = match.story_id if match is not None and match.story_id else -1 - i
                pools.remember(item, story, duplicate_of)
        return out

    # -- candidate lookups ---------------------------------------------------------------

    def _lookup_inserted(self, items: Sequence[NewArticle]) -> Found:
        """:meth:`_lookup` for articles whose rows exist already (they are left out)."""
        return self._lookup([it.record for it in items], {it.article_id for it in items})

    def _lookup(self, records: Sequence[ArticleRecord], own: set[int]) -> Found:
        """The stored candidates of ``records``: articles sharing an LSH bucket, and filed
        articles that are not copies sharing headline pairs or story keys within the time
        window; the articles ``own`` (the batch's, if already inserted) left out."""
        found = Found()
        if self.matcher is None or not records:
            return found
        with self.index_lookups(self.session):
            found.watermark = self._watermark()  # first: what is filed below it is seen
            found.band_hits = self._band_hits(records, own)
            found.pair_counts = self._pair_counts(records, own)
            found.key_counts = self._key_counts(records, own)
            self._read_candidates(found, {a for _, a in found.band_hits},
                                  {a for _, a, _ in found.pair_counts + found.key_counts})
        return found

    def _read_candidates(self, found: Found, band_ids: set[int], term_ids: set[int]) -> None:
        """Add the candidates ``band_ids`` (LSH hits) and ``term_ids`` (headline pairs) to
        ``found``, read in one query."""
        cands = self._candidates(sorted(band_ids | term_ids))
        found.band_cands.update((a, c) for a, c in cands.items() if a in band_ids)
        found.term_cands.update((a, c) for a, c in cands.items() if a in term_ids)

    def _band_hits(self, records: Sequence[ArticleRecord], own: set[int]
                   ) -> list[tuple[int, int]]:
        """(bucket, article id) of the stored articles in the batch's LSH buckets."""
        buckets = sorted({b for r in records for b in r.bands})
        hits: list[tuple[int, int]] = []
        for chunk in _chunks(buckets, self.chunk):
            hits.extend((int(b), int(a)) for b, a in self.session.execute(self._in_buckets(chunk))
                        if a not in own)
        return hits

    def _pair_counts(self, records: Sequence[ArticleRecord], own: set[int]
                     ) -> list[tuple[int, int, int]]:
        """(item index, article id, pairs shared) for the stored articles within the
        matcher's time window of each article of the batch whose headlines share at least
        ``min_shared_terms`` words with its own, counted by the database in one query per
        batch. Copies and unfiled articles are dropped later, with the rows."""
        assert self.matcher is not None
        rows = [(i, p) for i, r in enumerate(records) for p in headline_pairs(r.title_terms)]
        need = max(_pairs_of(self.matcher.min_shared_terms), 1)
        return self._shared_counts(records, rows, ArticleTermPair, ArticleTermPair.pair,
                                   need, own)

    def _key_counts(self, records: Sequence[ArticleRecord], own: set[int]
                    ) -> list[tuple[int, int, int]]:
        """(item index, article id, keys shared) for the stored articles within the
        matcher's time window of each article of the batch sharing at least
        ``min_shared_keys`` story keys with it, counted as :meth:`_pair_counts` counts."""
        assert self.matcher is not None
        rows = [(i, k) for i, r in enumerate(records) for k in dict.fromkeys(r.story_keys)
                if not k.startswith(GUARD_KEY)]
        return self._shared_counts(records, rows, ArticleStoryKey, ArticleStoryKey.key,
                                   max(self.matcher.min_shared_keys, 1), own,
                                   cap=MAX_KEY_ARTICLES)

    def _shared_counts(self, records: Sequence[ArticleRecord], rows: list[tuple[int, str]],
                       table: Any, key: Any, need: int, own: set[int], cap: int | None = None
                       ) -> list[tuple[int, int, int]]:
        """(item index, article id, keys shared) of the stored articles of ``table`` (a
        lookup table of (key, at, article_id)) sharing at least ``need`` of the (item index,
        key) ``rows`` within the item's window. With ``cap``, a key that more than ``cap``
        stored articles carry within the window counts for none: it says little about which
        event an article reports, and joining on it would read every one of them (each key
        costs at most ``cap + 1`` index entries to count)."""
        assert self.matcher is not None
        if not rows:
            return []
        times = [r.published_at or r.fetched_at for r in records]
        pairs: list[tuple[int, int, int]] = []
        for chunk in _chunks(rows, self.pair_chunk):
            batch, cols, bounds = self._batch_terms(chunk, times, self.matcher.window)
            query = (
                select(cols.i.label("i"), table.article_id, func.count().label("n"))
                .join_from(batch, table, and_(
                    key == cols.pair, table.at.between(bounds.lo, bounds.hi)))
                .group_by(cols.i, table.article_id)
                .having(func.count() >= need)
            )
            if cap is not None:
                carriers = (select(literal(1)).select_from(table)
                            .where(key == cols.pair, table.at.between(bounds.lo, bounds.hi))
                            .limit(cap + 1).subquery("carriers"))
                query = query.where(
                    select(func.count()).select_from(carriers).scalar_subquery() <= cap)
            counted = query.subquery("counted")
            pairs.extend((int(i), int(a), int(n))
                         for i, a, n in self.session.execute(select(counted))
                         if a not in own)
        return pairs

    def _candidates(self, ids: Sequence[int]) -> dict[int, Candidate]:
        """The filed articles among ``ids`` (and not ``exclude``) as candidates, with their
        entities."""
        visible: list[ColumnElement[bool]] = [Article.story_id.is_not(None)]
        if self._exclude is not None:
            visible.append(~self._exclude)
        return self._read_candidate_rows(ids, visible)

    def _recount(self, story_ids: Sequence[int]) -> None:
        rows: list[dict[str, object]] = []
        for chunk in _chunks(story_ids, self.chunk):
            for sid, n, sources, last in self.session.execute(
                select(Article.story_id, func.count(Article.id),
                       func.count(func.distinct(Article.source_id)),
                       func.max(func.coalesce(Article.published_at, Article.first_seen_at)))
                .where(self._member(Article.story_id, chunk, BigInteger()))
                .group_by(Article.story_id)
            ):
                rows.append({"id": sid, "article_count": n, "source_count": sources,
                             "last_seen_at": _aware(last)})
        if rows:
            self.session.execute(update(Story), rows)

    # -- what each dialect supplies ------------------------------------------------------

    @staticmethod
    @abstractmethod
    def index_lookups(session: Session) -> AbstractContextManager[None]:
        """Around the candidate queries, the known-key check and the story recount: make the
        planner look every key of a batch up in its index (or nothing)."""

    @abstractmethod
    def lock(self) -> None:
        """Take the story lock, held until the transaction ends, if the dialect needs one
        besides the transaction's own. Two processes filing copies of one wire story at once
        would each miss the other and open two stories; one transaction at a time files
        stories."""

    @abstractmethod
    def _watermark(self) -> int:
        """Inside :meth:`index_lookups`, before the lookups: the highest filing number
        visible (0 where the lookups run under the lock)."""

    @abstractmethod
    def _catch_up(self, items: Sequence[NewArticle], found: Found) -> None:
        """Under the lock, before matching: bring ``found`` up to date with what other
        writers filed since the lookups began (nothing where the lookups ran under it)."""

    @abstractmethod
    def _write_filing(self, rows: Sequence[tuple[int, int, int | None]]) -> None:
        """Set (article, story, article it copies) on rows that exist."""

    @abstractmethod
    def _insert_stories(self, new_stories: dict[int, Story]) -> dict[int, int]:
        """Insert the stories opened in this batch (at least one); provisional id -> real
        id."""

    @abstractmethod
    def _in_buckets(self, buckets: Sequence[int]) -> Any:
        """(bucket, article id) of the stored articles in ``buckets``: one query."""

    @abstractmethod
    def _batch_terms(self, rows: Sequence[tuple[int, str]], times: Sequence[datetime],
                     window: timedelta) -> tuple[Any, Any, Any]:
        """The batch's (item index, headline pair) as a relation ``batch``, its columns
        ``i`` and ``pair``, and the bounds ``lo``, ``hi`` of the item's time window (item
        time -/+ ``window``) as expressions over it."""

    @abstractmethod
    def _read_candidate_rows(self, ids: Sequence[int], visible: Sequence[ColumnElement[bool]]
                             ) -> dict[int, Candidate]:
        """The articles among ``ids`` matching every condition of ``visible``, as candidates
        with their entities, by id."""

    @abstractmethod
    def _member(self, col: Any, items: Sequence[Any],
                element: TypeEngine[Any]) -> ColumnElement[bool]:
        """``col IN items`` (``element``: the items' type)."""
