"""PostgresStoryFiler: story filing in PostgreSQL's SQL (array parameters, COPY, an advisory
lock taken after the lookups)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, any_, column, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, DateTime, Float, Integer, Text, TypeEngine

from storage.models import (
    Article,
    ArticleBand,
    ArticleEntity,
    ArticleStoryKey,
    ArticleTermPair,
    Story,
)
from storage.records import Candidate, StoryMatcher
from storage.stories.base import StoryFiler
from storage.stories.common import (
    _CANDIDATE_COLUMNS,
    GUARD_KEY,
    Found,
    NewArticle,
    _candidate,
    _chunks,
    _pairs_of,
    headline_pairs,
)
from storage.types import array_literal, naive_utc, pg_array

# Any constant will do: it names the lock that serialises story filing across processes.
STORY_LOCK = 0x6E65_7773  # "news"
_LOOKUP_SETTINGS = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "jit")


@contextmanager
def _index_lookups(session: Session) -> Iterator[None]:
    """Look every key of a batch up in its index (nested loops), for the candidate queries,
    the known-key check and the story recount only. The planner cannot estimate how many rows
    an array of 25,000 LSH buckets or 12,000 headline pairs matches, and with millions of rows
    stored it picked sequential scans, hash and merge joins that read whole tables (0.7 s and
    3.7 s a batch at 200,000 articles, against a few ms of index lookups); the recount of a
    batch's few hundred stories scanned every article (70 ms a batch at 150,000 articles,
    growing with the table)."""
    # And no JIT: the planner's cost guesses for these are huge, and compiling took longer
    # than running the lookups. One round trip each way (set_config with is_local, as SET
    # LOCAL).
    previous = session.execute(text(
        "SELECT " + ", ".join(f"current_setting('{n}')" for n in _LOOKUP_SETTINGS))).one()
    _set(session, dict.fromkeys(_LOOKUP_SETTINGS, "off"))
    yield
    # Not in a ``finally``: after an error the transaction is rolled back, settings too.
    _set(session, dict(zip(_LOOKUP_SETTINGS, previous, strict=True)))


def _set(session: Session, values: dict[str, str]) -> None:
    params = {f"v{i}": v for i, v in enumerate(values.values())}
    session.execute(text("SELECT " + ", ".join(
        f"set_config('{name}', :v{i}, true)" for i, name in enumerate(values))), params)


class PostgresStoryFiler(StoryFiler):
    """Story filing on PostgreSQL. The lookups run before the story lock, so several writers
    look up at once; under the lock, what was filed in between is read by its filing number
    (``articles.filed_seq``, taken under the lock)."""

    # A whole batch's ids travel as one array parameter.
    chunk = 10**9
    pair_chunk = 10**9

    def __init__(self, session: Session, matcher: StoryMatcher | None, *,
                 exclude: ColumnElement[bool] | None = None) -> None:
        super().__init__(session, matcher, exclude=exclude)
        self._locked = False

    @staticmethod
    def index_lookups(session: Session) -> AbstractContextManager[None]:
        return _index_lookups(session)

    def lock(self) -> None:
        """The advisory story lock (and, on PostgreSQL, new articles are inserted under it:
        :meth:`assign` before the INSERT)."""
        if not self._locked:
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORY_LOCK})
            self._locked = True

    def _watermark(self) -> int:
        # Everything filed up to this number is visible to the lookups that follow.
        return self.session.execute(select(func.max(Article.filed_seq))).scalar_one() or 0

    def _catch_up(self, items: Sequence[NewArticle], found: Found) -> None:
        if self.matcher is not None:
            with _index_lookups(self.session):
                self._add_filed_since(items, found)

    def _add_filed_since(self, items: Sequence[NewArticle], found: Found) -> None:
        """Under the lock: replace what the lookups found about articles filed after
        ``found.watermark`` (some were not yet committed when the lookups ran, and the
        lookups' statements each saw a different moment) with what they share with
        ``items`` now. Everything filed at or below the watermark was committed before the
        lookups began: numbers are taken under the lock, which is held until commit."""
        assert self.matcher is not None
        own = {it.article_id for it in items}
        since = [a for a in self.session.execute(
            select(Article.id).where(Article.filed_seq > found.watermark)).scalars()
            if a not in own]
        if not since:
            return
        later = set(since)
        found.band_hits = [(b, a) for b, a in found.band_hits if a not in later]
        found.pair_counts = [(i, a, n) for i, a, n in found.pair_counts if a not in later]
        buckets = {b for it in items for b in it.record.bands}
        hits = [(int(b), int(a)) for b, a in self.session.execute(
            select(ArticleBand.bucket, ArticleBand.article_id)
            .where(self._member(ArticleBand.article_id, since, BigInteger())))
            if b in buckets]
        # Headline pairs and story keys shared within each item's window, counted as the SQL
        # lookups do.
        bounds: list[tuple[datetime, datetime]] = []
        for it in items:
            when = naive_utc(it.record.published_at or it.record.fetched_at)
            bounds.append((when - self.matcher.window, when + self.matcher.window))
        need_pairs = max(_pairs_of(self.matcher.min_shared_terms), 1)
        counts = self._shared_since(
            since, bounds, [headline_pairs(it.record.title_terms) for it in items],
            ArticleTermPair, ArticleTermPair.pair, need_pairs)
        keyed = self._shared_since(
            since, bounds, [[k for k in dict.fromkeys(it.record.story_keys)
                             if not k.startswith(GUARD_KEY)] for it in items],
            ArticleStoryKey, ArticleStoryKey.key, max(self.matcher.min_shared_keys, 1))
        found.key_counts = [(i, a, n) for i, a, n in found.key_counts if a not in later]
        found.key_counts.extend(keyed)
        found.band_hits.extend(hits)
        found.pair_counts.extend(counts)
        self._read_candidates(found, {a for _, a in hits}, {a for _, a, _ in counts + keyed})

    def _shared_since(self, since: Sequence[int], bounds: Sequence[tuple[datetime, datetime]],
                      wanted_by_item: Sequence[Sequence[str]], table: Any, key: Any, need: int
                      ) -> list[tuple[int, int, int]]:
        """(item, article, shared) for the articles ``since`` sharing at least ``need`` of
        each item's keys (a lookup ``table`` of (key, at, article_id)) within its bounds."""
        wanted: dict[str, list[int]] = defaultdict(list)
        for i, keys in enumerate(wanted_by_item):
            for k in keys:
                wanted[k].append(i)
        shared: Counter[tuple[int, int]] = Counter()
        for k, at, aid in self.session.execute(
                select(key, table.at, table.article_id)
                .where(self._member(table.article_id, since, BigInteger()))):
            if k in wanted:
                when = naive_utc(at)
                for i in wanted[k]:
                    if bounds[i][0] <= when <= bounds[i][1]:
                        shared[(i, int(aid))] += 1
        return [(i, a, n) for (i, a), n in shared.items() if n >= need]

    def _write_filing(self, rows: Sequence[tuple[int, int, int | None]]) -> None:
        # One statement for the batch; filing numbers taken under the lock.
        self.session.execute(text(
            "UPDATE articles SET story_id = v.s, duplicate_of_id = v.d, "
            "filed_seq = nextval('article_filing_seq') "
            "FROM unnest(CAST(:a AS bigint[]), CAST(:s AS bigint[]), CAST(:d AS bigint[])) "
            "AS v(a, s, d) WHERE articles.id = v.a"),
            {k: array_literal(r[n] for r in rows) for n, k in enumerate("asd")})

    def _insert_stories(self, new_stories: dict[int, Story]) -> dict[int, int]:
        # The ids from the sequence, then the rows streamed with COPY.
        temps = list(new_stories)
        ids = [int(i) for i in self.session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('stories', 'id')) "
            "FROM generate_series(1, :n)"), {"n": len(temps)}).scalars()]
        raw = self.session.connection().connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(
                "COPY stories (id, primary_article_id, title, first_seen_at, last_seen_at, "
                "article_count, source_count) FROM STDIN") as copy:
            for sid, t in zip(ids, temps, strict=True):
                st = new_stories[t]
                copy.write_row((sid, st.primary_article_id, st.title,
                                naive_utc(st.first_seen_at), naive_utc(st.last_seen_at), 1, 1))
        return dict(zip(temps, ids, strict=True))

    def _in_buckets(self, buckets: Sequence[int]) -> Any:
        # One index probe per bucket.
        wanted = func.unnest(pg_array(buckets, BigInteger())).table_valued(
            column("bucket", BigInteger())).render_derived(name="wanted")
        return (select(ArticleBand.bucket, ArticleBand.article_id).select_from(wanted)
                .join(ArticleBand, ArticleBand.bucket == wanted.c.bucket))

    def _batch_terms(self, rows: Sequence[tuple[int, str]], times: Sequence[datetime],
                     window: timedelta) -> tuple[Any, Any, Any]:
        # Array parameters. Times travel as epoch seconds (floats): psycopg sends those ten
        # times faster than datetimes, and the query turns them back into UTC timestamps.
        # Bounds go with each pair: one array of times per item, subscripted by each pair's
        # item, made this query 2 s a batch instead of 50 ms.
        epoch = [t.timestamp() for t in times]
        w = window.total_seconds()
        batch = func.unnest(
            pg_array([r[0] for r in rows], Integer()),
            pg_array([r[1] for r in rows], Text()),
            pg_array([epoch[r[0]] - w for r in rows], Float()),
            pg_array([epoch[r[0]] + w for r in rows], Float()),
        ).table_valued(column("i", Integer()), column("pair", Text()),
                       column("lo", Float()), column("hi", Float())
                       ).render_derived(name="batch", with_types=False)
        bounds = SimpleNamespace(
            lo=func.timezone("UTC", func.to_timestamp(batch.c.lo), type_=DateTime()),
            hi=func.timezone("UTC", func.to_timestamp(batch.c.hi), type_=DateTime()))
        return batch, batch.c, bounds

    def _read_candidate_rows(self, ids: Sequence[int], visible: Sequence[ColumnElement[bool]]
                             ) -> dict[int, Candidate]:
        # The entities in the same query, an array per row: one round trip fewer for every
        # lookup that finds any.
        entities = (select(func.array_agg(ArticleEntity.entity_id))
                    .where(ArticleEntity.article_id == Article.id).scalar_subquery())
        keys = (select(func.array_agg(ArticleStoryKey.key))
                .where(ArticleStoryKey.article_id == Article.id).scalar_subquery())
        out: dict[int, Candidate] = {}
        for chunk in _chunks(ids, self.chunk):
            for row in self.session.execute(
                select(*_CANDIDATE_COLUMNS, entities, keys)
                .where(self._member(Article.id, chunk, BigInteger()), *visible)
            ):
                cand = out[row[0]] = _candidate(row)
                if row[-2]:
                    cand.entities.update(row[-2])
                if row[-1]:
                    cand.keys.update(row[-1])
        return out

    def _member(self, col: Any, items: Sequence[Any],
                element: TypeEngine[Any]) -> ColumnElement[bool]:
        # One array parameter (``= ANY``), which costs the same to send and plan for 10
        # values or 25,000.
        cond: ColumnElement[bool] = col == any_(pg_array(items, element))
        return cond
