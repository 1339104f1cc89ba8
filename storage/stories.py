"""StoryFiler: files a batch of new articles under stories, inside the batch's transaction.

For every new article, in order: a near-duplicate (an article sharing LSH band buckets,
confirmed by the matcher) gives it that article's story and marks it a copy; else an
article about the same event (sharing entities within the matcher's time window, confirmed
by the matcher) gives it its story; else it opens a new story as its primary. Candidates
come from a few set-based queries per batch (LSH buckets; headline terms within the time
window), never a scan of the corpus or of the window, and earlier
articles of the same batch are candidates for later ones.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    any_,
    bindparam,
    column,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, DateTime, Float, Integer, Text, TypeEngine

from storage.models import Article, ArticleBand, ArticleEntity, ArticleTermPair, Story
from storage.records import ArticleRecord, Candidate, StoryMatcher
from storage.text import MAX_TITLE_TERMS
from storage.types import UTCDateTime, array_literal, naive_utc, pg_array

# Any constant will do: it names the lock that serialises story filing across processes.
STORY_LOCK = 0x6E65_7773  # "news"
MAX_CANDIDATES = 50
_CHUNK = 5_000
_LOOKUP_SETTINGS = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "jit")


@dataclass(slots=True)
class _Pools:
    """A batch's candidates: stored articles by LSH bucket (and, once filed, the batch's own);
    stored articles sharing headline terms, counted, by item index; the batch's own filed
    articles by headline term."""

    by_bucket: dict[int, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    stored_terms: dict[int, list[tuple[Candidate, int]]] = field(default_factory=dict)
    batch_terms: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))


@dataclass(slots=True)
class Found:
    """What the candidate lookups found, before they become pools: the highest filing number
    visible when they began, (bucket, article) band hits, (item index, article, pairs shared)
    headline-pair counts, and the candidates' rows by article id."""

    watermark: int = 0
    band_hits: list[tuple[int, int]] = field(default_factory=list)
    pair_counts: list[tuple[int, int, int]] = field(default_factory=list)
    band_cands: dict[int, Candidate] = field(default_factory=dict)
    term_cands: dict[int, Candidate] = field(default_factory=dict)


@dataclass(slots=True)
class Filed:
    """What :meth:`StoryFiler.assign` decided: (article, story, article it copies or None)
    for each item in order, and the stories that gained articles (to recount)."""

    rows: list[tuple[int, int, int | None]]
    joined: set[int]


@dataclass(slots=True)
class NewArticle:
    article_id: int
    record: ArticleRecord
    source_id: int


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _member(col: Any, items: Sequence[Any], pg: bool,
            element: TypeEngine[Any]) -> ColumnElement[bool]:
    """``col IN items``: on PostgreSQL one array parameter (``= ANY``), which costs the
    same to send and plan for 10 values or 25,000; elsewhere an IN list."""
    cond: ColumnElement[bool] = (col == any_(pg_array(items, element))
                                 if pg else col.in_(items))
    return cond


@contextmanager
def index_lookups(session: Session) -> Iterator[None]:
    """PostgreSQL: look every key of a batch up in its index (nested loops), for the
    candidate queries, the known-key check and the story recount only. The planner cannot
    estimate how many rows an array of 25,000 LSH buckets or 12,000 headline pairs matches,
    and with millions of rows stored it picked sequential scans, hash and merge joins that
    read whole tables (0.7 s and 3.7 s a batch at 200,000 articles, against a few ms of index
    lookups); the recount of a batch's few hundred stories scanned every article (70 ms a
    batch at 150,000 articles, growing with the table). Elsewhere: nothing."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
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


class StoryFiler:
    def __init__(self, session: Session, matcher: StoryMatcher | None, *,
                 exclude: ColumnElement[bool] | None = None) -> None:
        self.session = session
        self.matcher = matcher
        # Articles matching ``exclude`` are no candidates (``newsmon reprocess``: those not
        # re-processed yet, as if they were not stored).
        self._exclude = exclude
        self._temp_ids = count(-1, -1)  # provisional ids of stories opened in this batch
        self._pg = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL takes a whole batch's ids as one array; SQLite's IN lists are chunked.
        self._chunk = 10**9 if self._pg else _CHUNK
        self._locked = False

    def lookup(self, records: Sequence[ArticleRecord]) -> Found:
        """The candidate lookups of :meth:`file` for ``records``, run before they are
        inserted (so the lookups do not meet the batch's own rows); hand the result to
        :meth:`file` with the same articles in the same order."""
        return self._lookup(records, set())

    def lock(self) -> None:
        """PostgreSQL: take the story lock, held until the transaction ends. Two processes
        filing copies of one wire story at once would each miss the other and open two
        stories; one transaction at a time files stories (and, on PostgreSQL, inserts new
        articles: :meth:`assign` before the INSERT)."""
        if self._pg and not self._locked:
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORY_LOCK})
            self._locked = True

    def file(self, items: Sequence[NewArticle], found: Found | None = None) -> None:
        """File ``items`` (inserted in this transaction) under stories; ``found``: what
        :meth:`lookup` returned for their records, else the lookups run now."""
        if not items:
            return
        filed = self.assign(items, found)
        rows = filed.rows
        if self._pg:  # one statement for the batch; filing numbers taken under the lock
            self.session.execute(text(
                "UPDATE articles SET story_id = v.s, duplicate_of_id = v.d, "
                "filed_seq = nextval('article_filing_seq') "
                "FROM unnest(CAST(:a AS bigint[]), CAST(:s AS bigint[]), CAST(:d AS bigint[])) "
                "AS v(a, s, d) WHERE articles.id = v.a"),
                {k: array_literal(r[n] for r in rows) for n, k in enumerate("asd")})
        else:  # ORM bulk UPDATE by primary key: one executemany
            self.session.execute(update(Article), [
                {"id": a, "story_id": s, "duplicate_of_id": d} for a, s, d in rows])
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
        if self._pg and self.matcher is not None:
            # The lookups ran before the lock, so several writers look up at once; what was
            # filed between them and the lock is read now, by its filing number.
            with index_lookups(self.session):
                self._add_filed_since(items, found)
        pools = self._pools(found)

        assigned: list[tuple[int, int, int | None]] = []  # article, story (maybe temp), dup of
        new_stories: dict[int, Story] = {}
        for i, item in enumerate(items):
            rec = item.record
            match, duplicate_of = self._match(i, rec, pools)
            if match is not None and match.story_id is not None:
                story_id = match.story_id
            else:
                story_id = next(self._temp_ids)
                when = rec.published_at or rec.fetched_at
                new_stories[story_id] = Story(
                    primary_article_id=item.article_id, title=rec.title,
                    first_seen_at=rec.fetched_at, last_seen_at=when)
            assigned.append((item.article_id, story_id, duplicate_of))
            if self.matcher is not None:
                self._remember(item, story_id, duplicate_of, pools)

        real = self._insert_stories(new_stories)
        # Stories that gained an article: existing ones, and new ones joined by a later copy
        # in this same batch. A new story with one article already has the right counts.
        members = Counter(s for _, s, _ in assigned)
        return Filed(rows=[(a, real.get(s, s), d) for a, s, d in assigned],
                     joined={real.get(s, s) for s, n in members.items() if s > 0 or n > 1})

    def finish(self, filed: Filed) -> None:
        """Once the rows of :meth:`assign` are written: recount the stories that grew."""
        if filed.joined:
            with index_lookups(self.session):  # by the story_id index, not a scan
                self._recount(sorted(filed.joined))

    def _insert_stories(self, new_stories: dict[int, Story]) -> dict[int, int]:
        """Insert the stories opened in this batch; provisional id -> real id."""
        if not new_stories:
            return {}
        temps = list(new_stories)
        if not self._pg:
            self.session.add_all(new_stories[t] for t in temps)
            self.session.flush()
            return {t: new_stories[t].id for t in temps}
        # PostgreSQL: take the ids from the sequence, then stream the rows with COPY.
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

    # -- matching ------------------------------------------------------------------------

    def check(self, items: Sequence[NewArticle]) -> list[tuple[Candidate | None, int | None]]:
        """The dedup check alone, writing nothing: for each of ``items`` in order, the
        candidate it would be filed with (None: a new story) and the article it copies
        (None: not a copy), earlier items counting as filed."""
        pools = self._pools(self._lookup_inserted(items))
        out: list[tuple[Candidate | None, int | None]] = []
        for i, item in enumerate(items):
            match, duplicate_of = self._match(i, item.record, pools)
            out.append((match, duplicate_of))
            if self.matcher is not None:
                story = match.story_id if match is not None and match.story_id else -1 - i
                self._remember(item, story, duplicate_of, pools)
        return out

    def _lookup_inserted(self, items: Sequence[NewArticle]) -> Found:
        """:meth:`_lookup` for articles whose rows exist already (they are left out)."""
        return self._lookup([it.record for it in items], {it.article_id for it in items})

    def _lookup(self, records: Sequence[ArticleRecord], own: set[int]) -> Found:
        """The stored candidates of ``records``: articles sharing an LSH bucket, and filed
        articles that are not copies sharing headline pairs within the time window; the
        articles ``own`` (the batch's, if already inserted) left out."""
        found = Found()
        if self.matcher is None or not records:
            return found
        with index_lookups(self.session):
            if self._pg:  # first: everything filed up to this number is visible below
                found.watermark = self.session.execute(
                    select(func.max(Article.filed_seq))).scalar_one() or 0
            found.band_hits = self._band_hits(records, own)
            found.pair_counts = self._pair_counts(records, own)
            self._read_candidates(found, {a for _, a in found.band_hits},
                                  {a for _, a, _ in found.pair_counts})
        return found

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
            .where(_member(ArticleBand.article_id, since, True, BigInteger())))
            if b in buckets]
        # Headline pairs shared within each item's window, counted as the SQL lookup does.
        window = self.matcher.window
        wanted: dict[str, list[int]] = defaultdict(list)
        bounds: list[tuple[datetime, datetime]] = []
        for i, it in enumerate(items):
            when = naive_utc(it.record.published_at or it.record.fetched_at)
            bounds.append((when - window, when + window))
            for p in headline_pairs(it.record.title_terms):
                wanted[p].append(i)
        shared: Counter[tuple[int, int]] = Counter()
        for pair, at, aid in self.session.execute(
                select(ArticleTermPair.pair, ArticleTermPair.at, ArticleTermPair.article_id)
                .where(_member(ArticleTermPair.article_id, since, True, BigInteger()))):
            if pair in wanted:
                when = naive_utc(at)
                for i in wanted[pair]:
                    if bounds[i][0] <= when <= bounds[i][1]:
                        shared[(i, int(aid))] += 1
        need_pairs = max(_pairs_of(self.matcher.min_shared_terms), 1)
        counts = [(i, a, n) for (i, a), n in shared.items() if n >= need_pairs]
        found.band_hits.extend(hits)
        found.pair_counts.extend(counts)
        self._read_candidates(found, {a for _, a in hits}, {a for _, a, _ in counts})

    def _read_candidates(self, found: Found, band_ids: set[int], term_ids: set[int]) -> None:
        """Add the candidates ``band_ids`` (LSH hits) and ``term_ids`` (headline pairs) to
        ``found``, read in one query."""
        cands = self._candidates(sorted(band_ids | term_ids))
        found.band_cands.update((a, c) for a, c in cands.items() if a in band_ids)
        found.term_cands.update((a, c) for a, c in cands.items() if a in term_ids)

    def _pools(self, found: Found) -> _Pools:
        pools = _Pools()
        for bucket, aid in found.band_hits:
            cand = found.band_cands.get(aid)
            if cand is not None:
                pools.by_bucket[bucket].append(cand)
        # Candidates are filed articles that are not copies.
        by_item: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, aid, n in found.pair_counts:
            cand = found.term_cands.get(aid)
            if cand is not None and cand.duplicate_of_id is None:
                by_item[i].append((n, aid))
        for i, pairs in by_item.items():
            pairs.sort(reverse=True)  # most pairs shared, then the newest id
            pools.stored_terms[i] = [(found.term_cands[aid], _words_sharing(n))
                                     for n, aid in pairs[:MAX_CANDIDATES]]
        return pools

    def _match(self, i: int, rec: ArticleRecord, pools: _Pools
               ) -> tuple[Candidate | None, int | None]:
        """File ``rec``, the ``i``-th of the batch: a near-duplicate among the articles sharing
        LSH buckets, else a same-story match among those sharing headline terms."""
        if self.matcher is None:
            return None, None
        if rec.bands:
            hits: Counter[int] = Counter()
            seen: dict[int, Candidate] = {}
            for bucket in rec.bands:
                for cand in pools.by_bucket.get(bucket, ()):
                    hits[cand.article_id] += 1
                    seen[cand.article_id] = cand
            if hits:
                cands = [seen[a] for a, _ in hits.most_common(MAX_CANDIDATES)]
                for c in cands:
                    c.shared_bands = hits[c.article_id]
                match = self.matcher.near_duplicate(rec, cands)
                if match is not None:
                    return match, match.duplicate_of_id or match.article_id
        if rec.title_terms:
            # Stored articles come counted from SQL; earlier articles of this batch are
            # counted here.
            shared: Counter[int] = Counter()
            seen = {}
            for cand, n in pools.stored_terms.get(i, ()):
                shared[cand.article_id] = n
                seen[cand.article_id] = cand
            for term in set(rec.title_terms):
                for cand in pools.batch_terms.get(term, ()):
                    shared[cand.article_id] += 1
                    seen[cand.article_id] = cand
            need = self.matcher.min_shared_terms
            cands = [seen[a] for a, n in shared.most_common(MAX_CANDIDATES) if n >= need]
            if cands:
                match = self.matcher.same_story(rec, cands)
                if match is not None:
                    return match, None
        return None, None

    def _remember(self, item: NewArticle, story_id: int, duplicate_of: int | None,
                  pools: _Pools) -> None:
        rec = item.record
        cand = Candidate(article_id=item.article_id, story_id=story_id,
                         duplicate_of_id=duplicate_of, title=rec.title, minhash=rec.minhash,
                         entities=set(rec.entities), published_at=rec.published_at,
                         first_seen_at=rec.fetched_at)
        for bucket in rec.bands:
            pools.by_bucket[bucket].append(cand)
        if duplicate_of is None:
            for term in set(rec.title_terms):
                pools.batch_terms[term].append(cand)

    # -- candidate pools -----------------------------------------------------------------

    def _band_hits(self, records: Sequence[ArticleRecord], own: set[int]
                   ) -> list[tuple[int, int]]:
        """(bucket, article id) of the stored articles in the batch's LSH buckets."""
        buckets = sorted({b for r in records for b in r.bands})
        hits: list[tuple[int, int]] = []
        for chunk in _chunks(buckets, self._chunk):
            hits.extend((int(b), int(a)) for b, a in self.session.execute(self._in_buckets(chunk))
                        if a not in own)
        return hits

    def _in_buckets(self, buckets: Sequence[int]) -> Any:
        """(bucket, article id) of the stored articles in ``buckets``: one query."""
        stmt = select(ArticleBand.bucket, ArticleBand.article_id)
        if self._pg:  # one index probe per bucket
            wanted = func.unnest(pg_array(buckets, BigInteger())).table_valued(
                column("bucket", BigInteger())).render_derived(name="wanted")
            stmt = stmt.select_from(wanted).join(ArticleBand,
                                                 ArticleBand.bucket == wanted.c.bucket)
        else:
            stmt = stmt.where(ArticleBand.bucket.in_(buckets))
        return stmt

    def _pair_counts(self, records: Sequence[ArticleRecord], own: set[int]
                     ) -> list[tuple[int, int, int]]:
        """(item index, article id, pairs shared) for the stored articles within the
        matcher's time window of each article of the batch whose headlines share at least
        ``min_shared_terms`` words with its own, counted by the database in one query per
        batch. Copies and unfiled articles are dropped later, with the rows."""
        assert self.matcher is not None
        window = self.matcher.window
        rows: list[tuple[int, str]] = []
        times: list[datetime] = []
        for i, r in enumerate(records):
            times.append(r.published_at or r.fetched_at)
            rows.extend((i, p) for p in headline_pairs(r.title_terms))
        if not rows:
            return []
        need_pairs = max(_pairs_of(self.matcher.min_shared_terms), 1)
        pairs: list[tuple[int, int, int]] = []
        for chunk in _chunks(rows, self._chunk if self._pg else 2_000):
            batch, cols, bounds = self._batch_terms(chunk, times, window)
            counted = (
                select(cols.i.label("i"), ArticleTermPair.article_id, func.count().label("n"))
                .join_from(batch, ArticleTermPair, and_(
                    ArticleTermPair.pair == cols.pair,
                    ArticleTermPair.at.between(bounds.lo, bounds.hi)))
                .group_by(cols.i, ArticleTermPair.article_id)
                .having(func.count() >= need_pairs)
            ).subquery("counted")
            pairs.extend((int(i), int(a), int(n))
                         for i, a, n in self.session.execute(select(counted))
                         if a not in own)
        return pairs

    def _batch_terms(self, rows: Sequence[tuple[int, str]], times: Sequence[datetime],
                     window: timedelta) -> tuple[Any, Any, Any]:
        """The batch's (item index, headline pair) as a relation ``batch``, and the bounds of
        the item's time window as expressions over it: on PostgreSQL array parameters,
        elsewhere a JSON list."""
        if self._pg:
            # Times travel as epoch seconds (floats): psycopg sends those ten times faster
            # than datetimes, and the query turns them back into UTC timestamps. Bounds go
            # with each pair: one array of times per item, subscripted by each pair's item,
            # made this query 2 s a batch instead of 50 ms.
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
        # SQLite: one JSON parameter, read with json_each; times as SQLite stores them.
        def stored(t: datetime) -> str:
            return naive_utc(t).strftime("%Y-%m-%d %H:%M:%S.%f")

        data = [(i, p, stored(times[i] - window), stored(times[i] + window)) for i, p in rows]
        rel = func.json_each(bindparam(None, json.dumps(data))).table_valued(
            "value", name="batch")
        cols = SimpleNamespace(**{
            name: func.json_extract(rel.c.value, f"$[{k}]")
            for k, name in enumerate(("i", "pair", "lo", "hi"))})
        return rel, cols, cols

    def _candidates(self, ids: Sequence[int]) -> dict[int, Candidate]:
        """The filed articles among ``ids`` as candidates, with their entities (on
        PostgreSQL in the same query, an array per row: one round trip fewer for every
        lookup that finds any)."""
        out: dict[int, Candidate] = {}
        cols: tuple[Any, ...] = _CANDIDATE_COLUMNS
        if self._pg:
            cols = (*cols, select(func.array_agg(ArticleEntity.entity_id))
                    .where(ArticleEntity.article_id == Article.id).scalar_subquery())
        visible: list[ColumnElement[bool]] = [Article.story_id.is_not(None)]
        if self._exclude is not None:
            visible.append(~self._exclude)
        for chunk in _chunks(ids, self._chunk):
            for row in self.session.execute(
                select(*cols).where(_member(Article.id, chunk, self._pg, BigInteger()),
                                    *visible)
            ):
                cand = out[row[0]] = _candidate(row)
                if self._pg and row[-1]:
                    cand.entities.update(row[-1])
        if not self._pg and out:
            for chunk in _chunks(sorted(out), self._chunk):
                for aid, eid in self.session.execute(
                    select(ArticleEntity.article_id, ArticleEntity.entity_id)
                    .where(ArticleEntity.article_id.in_(chunk))
                ):
                    out[aid].entities.add(eid)
        return out

    def _recount(self, story_ids: Sequence[int]) -> None:
        rows: list[dict[str, object]] = []
        for chunk in _chunks(story_ids, self._chunk):
            for sid, n, sources, last in self.session.execute(
                select(Article.story_id, func.count(Article.id),
                       func.count(func.distinct(Article.source_id)),
                       func.max(func.coalesce(Article.published_at, Article.first_seen_at)))
                .where(_member(Article.story_id, chunk, self._pg, BigInteger()))
                .group_by(Article.story_id)
            ):
                rows.append({"id": sid, "article_count": n, "source_count": sources,
                             "last_seen_at": _aware(last)})
        if rows:
            self.session.execute(update(Story), rows)


_CANDIDATE_COLUMNS = (Article.id, Article.story_id, Article.duplicate_of_id, Article.title,
                      Article.minhash, Article.published_at, Article.first_seen_at)


def _candidate(row: Sequence[Any]) -> Candidate:
    return Candidate(article_id=row[0], story_id=row[1], duplicate_of_id=row[2], title=row[3],
                     minhash=row[4], entities=set(), published_at=row[5],
                     first_seen_at=row[6])


def headline_pairs(terms: Iterable[str]) -> list[str]:
    """Every pair of distinct ``terms`` as stored in ``article_term_pairs``: the two words in
    code-point order, joined by a space. At most the first ``MAX_TITLE_TERMS`` terms count
    (the crawl stores no more), so a headline has at most 276 pairs."""
    words = sorted(set(list(dict.fromkeys(terms))[:MAX_TITLE_TERMS]))
    return [f"{a} {b}" for i, a in enumerate(words) for b in words[i + 1:]]


def _pairs_of(words: int) -> int:
    """How many pairs of words two headlines sharing ``words`` words share."""
    return words * (words - 1) // 2


def _words_sharing(pairs: int) -> int:
    """How many words two headlines share when they share ``pairs`` pairs of words."""
    return round((1 + math.sqrt(1 + 8 * pairs)) / 2)


def _aware(value: datetime | str) -> datetime:
    """``max(coalesce(...))`` comes back as text on SQLite, bypassing the column type."""
    out = UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
    assert out is not None
    return out
