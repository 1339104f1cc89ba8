"""newsmon at scale on PostgreSQL: ingest, search, digest and the dedup check with N synthetic
articles (issue 7; the target size is 1,000,000).

1. **Ingest**: N articles through the storage layer exactly as a crawl writes them,
   ``Store.upsert_articles(batch, SimilarityMatcher)`` in batches (default 1,000): rows,
   versions, URL aliases, topics, entities, LSH bands, headline terms, the generated search
   vectors and story filing. Reported: articles/s overall and per tenth of the load.
2. **Search**: ``storage.search.search`` (top 20 with snippets, as ``newsmon search``) on the
   query mix of ``benchmarks/search_bench.py``; p50 and p95.
3. **Digest**: ``newsmon.digest.build_digest`` of the last full day (5,000 articles a day).
4. **Dedup check and story linking** per article at that size and on an empty database: the
   story filer's candidate queries (LSH buckets, headline pairs and story keys in the time
   window) and the matcher, for probes half syndicated copies of recent articles, half new;
   read-only, rolled back.

Articles: 20 sources, 5,000 a day ending at ``search_bench.END``, bodies of 400–800 words
from search_bench's Zipf vocabulary with defence and trade terms, 0–3 highlights, stories of
1–8 articles (10 % verbatim copies, which the matcher files as near-duplicates). Enrichment is
synthesised rather than computed (topic scores, 1–3 entities, a random MinHash signature with
its real LSH band hashes, real headline terms and story keys): the classifier
(``crawler.pipelines.classify.enrich``) costs a few ms per article and would measure itself,
not the store.

Example::

    .venv/bin/python benchmarks/scale.py --size 2000            # what CI runs
    .venv/bin/python benchmarks/scale.py --size 1000000 --write-docs
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import queue
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
from dedup_cost import check_ms  # noqa: E402
from search_bench import (  # noqa: E402
    END,
    ENTITIES,
    IST,
    QUERIES,
    Corpus,
    make_corpus,
    percentile,
    scratch_database,
    sentences,
)
from sqlalchemy import func, select, text  # noqa: E402

from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402
from config import Settings  # noqa: E402
from crawler.dedup import SimilarityMatcher  # noqa: E402
from crawler.dedup.features import SIGNATURE_BYTES, Signature, band_hashes, title_tokens  # noqa: E402
from crawler.dedup.salient import story_keys  # noqa: E402
from crawler.entities import Gazetteer  # noqa: E402
from digest import build_digest  # noqa: E402
from storage import ArticleRecord, Store, search_index  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.search import SearchFilters, search  # noqa: E402

SECTION_TITLE = "## Scale: {size:,} articles on PostgreSQL"
PG_ADMIN_URL = os.environ.get("NEWSMON_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PER_DAY = 5000
SOURCES = 20
BODY_WORDS = (400, 800)
COPY_SHARE = 0.10  # of new articles, a verbatim copy of one of the last few hundred
TARGETS = {"ingest": 2000.0, "search_p95": 200.0, "digest": 5000.0, "dedup_ratio": 2.0,
           "dedup_ms": 5.0}


# -- synthetic articles ----------------------------------------------------------------------


@dataclass
class Generator:
    """Synthetic articles in first-seen order, with their enrichment."""

    rng: random.Random
    corpus: Corpus
    gazetteer: Gazetteer
    days: int
    made: int = 0
    recent: list[ArticleRecord] = field(default_factory=list)

    def when(self, i: int) -> datetime:
        day_start = END - timedelta(days=self.days - i // PER_DAY)
        return day_start + timedelta(seconds=86400 * (i % PER_DAY) / PER_DAY)

    def record(self, i: int, when: datetime, *, copy_of: ArticleRecord | None = None
               ) -> ArticleRecord:
        rng = self.rng
        key = f"bench.example/{self.days}/{i}-{uuid.uuid4().hex[:8]}"
        source = f"source-{rng.randrange(SOURCES):02d}"
        if copy_of is not None:  # a syndicated copy: same text, same signature
            rec = ArticleRecord(
                url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                source=source, title=copy_of.title, body=copy_of.body, fetched_at=when,
                published_at=when, highlights=list(copy_of.highlights))
            for name in ("topic_scores", "topics", "primary_topic", "entities", "minhash",
                         "bands", "title_terms", "story_keys"):
                setattr(rec, name, getattr(copy_of, name))
            return rec
        topic = rng.choices(["defence", "trade", None], weights=[45, 35, 20])[0]
        title = sentences(rng, self.corpus, rng.randint(6, 12), topic).rstrip(".")
        body = sentences(rng, self.corpus, rng.randint(*BODY_WORDS), topic)
        highlights = [sentences(rng, self.corpus, rng.randint(8, 14), topic)
                      for _ in range(rng.choice([0, 0, 2, 3]))]
        rec = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                            source=source, title=title, body=body, fetched_at=when,
                            published_at=when, highlights=highlights)
        scores = {topic: round(rng.uniform(5, 15), 2)} if topic else {}
        rec.topic_scores = scores
        rec.topics = dict(scores)
        rec.primary_topic = topic
        rec.entities = {e: rng.randint(1, 5) for e in rng.sample(ENTITIES, k=rng.randint(1, 3))}
        sig = Signature(np.frombuffer(rng.randbytes(SIGNATURE_BYTES), dtype="<u4").tobytes())
        rec.minhash = sig.to_bytes()
        rec.bands = band_hashes(sig)
        rec.title_terms = sorted(t for t in title_tokens(title, self.gazetteer) if len(t) <= 64)
        rec.story_keys = story_keys(title, body, "en")
        return rec

    def batch(self, indices: range) -> list[ArticleRecord]:
        """The articles of global positions ``indices`` (their times follow the position, so
        writers that take turns with batches write in time order together)."""
        out = []
        for i in indices:
            copy = self.recent and self.rng.random() < COPY_SHARE
            rec = self.record(i, self.when(i),
                              copy_of=self.rng.choice(self.recent) if copy else None)
            out.append(rec)
            self.recent = (self.recent + [rec])[-200:]
        self.made += len(out)
        return out


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Result:
    size: int
    batch: int
    ingest_s: float
    index_s: float
    tenths: list[float]
    db_mb: float
    search: dict[str, list[float]]
    digest_ms: list[float]
    digest_articles: int
    digest_stories: int
    dedup_full: list[float]
    dedup_empty: list[float]
    dedup_cold: list[float]
    writers: int = 1
    indexers: int = 1
    per_day: int = PER_DAY
    sources: int = SOURCES
    body_words: tuple[int, int] = BODY_WORDS
    copy_share: float = COPY_SHARE

    @property
    def rate(self) -> float:
        return self.size / self.ingest_s

    @property
    def index_rate(self) -> float:
        return self.size / self.index_s if self.index_s else float("inf")

    @property
    def searchable_rate(self) -> float:
        return self.size / (self.ingest_s + self.index_s)


def _write_share(url: str, k: int, writers: int, size: int, batch: int, days: int,
                 ready: Any, go: Any, results: Any) -> None:
    """Writer process ``k``: make its share of the batches (batch ``b`` is writer
    ``b % writers``'s), say it is ready, and once every writer is, write them; report the
    time each batch finished, and its last articles (copies for the dedup probes)."""
    gazetteer = Gazetteer.load()
    gen = Generator(random.Random(7 + k), make_corpus(random.Random(7)), gazetteer, days)
    mine = [gen.batch(range(b * batch, min((b + 1) * batch, size)))
            for b in range(k, -(-size // batch), writers)]
    # Millions of synthetic objects that a crawler never holds at once: keep them out of the
    # garbage collector's scans, which would otherwise be timed as the store's.
    gc.freeze()
    store = Store(make_engine(url), defer_search_index=True)
    matcher = SimilarityMatcher(gazetteer)
    share = sum(len(r) for r in mine)
    marks: list[tuple[float, int]] = []
    ready.put(k)
    go.wait()
    done, t0 = 0, time.monotonic()
    for records in mine:
        store.upsert_articles(records, matcher)
        marks.append((time.monotonic(), len(records)))
        done += len(records)
        if done * 10 // share != (done - len(records)) * 10 // share:
            print(f"  writer {k}: {done:,} of {share:,} stored, "
                  f"{done / (marks[-1][0] - t0):,.0f} articles/s", file=sys.stderr, flush=True)
    store.close()
    results.put((k, marks, gen.recent))


def ingest(store: Store, size: int, batch: int, writers: int, days: int
           ) -> tuple[float, list[float], list[ArticleRecord]]:
    """Load ``size`` articles with ``writers`` processes writing batches at once (each makes
    its batches first, untimed); return (seconds from the start to the last batch written,
    articles/s of each tenth of the load, the last articles made)."""
    ctx = multiprocessing.get_context("fork")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    url = store.engine.url.render_as_string(hide_password=False)
    store.engine.dispose()  # no pooled connection crosses the fork
    procs = [ctx.Process(target=_write_share,
                         args=(url, k, writers, size, batch, days, ready, go, results))
             for k in range(writers)]
    for proc in procs:
        proc.start()

    def wait_for(q: Any, what: str) -> Any:
        while True:
            try:
                return q.get(timeout=1)
            except queue.Empty:
                failed = [p for p in procs if p.exitcode not in (None, 0)]
                if failed:
                    for p in procs:
                        p.kill()
                    raise SystemExit(f"a writer process failed (exit {failed[0].exitcode}) "
                                     f"before {what}; its traceback is above") from None

    for _ in procs:
        wait_for(ready, "the load began")
    t0 = time.monotonic()
    go.set()
    reports = [wait_for(results, "the load ended") for _ in procs]
    for proc in procs:
        proc.join()
    marks = sorted(m for _, ms, _ in reports for m in ms)
    recent = [r for _, _, rs in sorted(reports, key=lambda r: r[0]) for r in rs][-200:]
    tenths: list[float] = []
    step = max(size // 10, batch)
    count, mark_count, mark_t = 0, 0, t0
    for t, n in marks:
        count += n
        if count - mark_count >= step or count == size:
            tenths.append((count - mark_count) / (t - mark_t))
            print(f"  {count:>9,} stored, {tenths[-1]:,.0f} articles/s", file=sys.stderr,
                  flush=True)
            mark_count, mark_t = count, t
    return marks[-1][0] - t0, tenths, recent


def _index_share(url: str) -> None:
    engine = make_engine(url)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if done % 50_000 < n:
            print(f"  {done:>9,} indexed for search by process {os.getpid()}", file=sys.stderr,
                  flush=True)

    search_index.index_pending(engine, progress=step)
    engine.dispose()


def build_search_index(store: Store, indexers: int) -> float:
    """Drain the search queue the load left with ``indexers`` processes at once, as several
    ``newsmon db index`` would (they take disjoint rows: SKIP LOCKED); seconds."""
    ctx = multiprocessing.get_context("fork")
    url = store.engine.url.render_as_string(hide_password=False)
    store.engine.dispose()
    t = time.monotonic()
    procs = [ctx.Process(target=_index_share, args=(url,)) for _ in range(indexers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit("an indexing process failed; its traceback is above")
    return time.monotonic() - t


def analyze(store: Store) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def time_searches(store: Store, reps: int) -> dict[str, list[float]]:
    """Milliseconds per search, by query name; the plan is shuffled after one warm-up."""
    rng = random.Random(11)
    plan = [q for q in QUERIES for _ in range(reps)]
    rng.shuffle(plan)
    for _name, query, filters in QUERIES:  # warm caches once
        search(store, query, SearchFilters(**filters))
    out: dict[str, list[float]] = {name: [] for name, _, _ in QUERIES}
    for name, query, filters in plan:
        t = time.perf_counter()
        search(store, query, SearchFilters(**filters), limit=20)
        out[name].append((time.perf_counter() - t) * 1000)
    return out


def time_digest(store: Store) -> tuple[list[float], int, int]:
    """build_digest of the last loaded day (local time), three times after a warm-up."""
    settings = Settings(default_timezone=IST)
    day = (END - timedelta(days=1)).astimezone(ZoneInfo(IST)).date()
    times, articles, stories = [], 0, 0
    build_digest(store, settings, day=day)  # warm
    for _ in range(3):
        t = time.perf_counter()
        digest = build_digest(store, settings, day=day)
        times.append((time.perf_counter() - t) * 1000)
        articles = digest.totals.articles + digest.totals.off_topic
        stories = digest.totals.stories
    return times, articles, stories


def probes(gen: Generator, n: int) -> list[ArticleRecord]:
    """Arriving at the end of the loaded period: half copies of recent articles, half new."""
    when = END
    out = []
    for j in range(n):
        copy = gen.rng.choice(gen.recent) if j % 2 == 0 and gen.recent else None
        out.append(gen.record(10**9 + j, when, copy_of=copy))
    return out


# -- databases -------------------------------------------------------------------------------


def run(size: int, batch: int, reps: int, n_probes: int, keep: bool, writers: int = 1,
        indexers: int = 1) -> Result:
    gazetteer = Gazetteer.load()
    days = max(1, -(-size // PER_DAY))
    gen = Generator(random.Random(7), make_corpus(random.Random(7)), gazetteer, days)
    matcher = SimilarityMatcher(gazetteer)
    with _db(keep) as url:
        store = Store.from_url(url, defer_search_index=True)
        try:
            print(f"ingesting {size:,} articles in batches of {batch:,} with {writers} "
                  f"writer process(es) …", file=sys.stderr, flush=True)
            ingest_s, tenths, gen.recent = ingest(store, size, batch, writers, days)
            print(f"building the search index with {indexers} process(es) …", file=sys.stderr,
                  flush=True)
            index_s = build_search_index(store, indexers)
            analyze(store)
            with store.engine.connect() as conn:
                db_mb = conn.execute(select(func.pg_database_size(func.current_database()))
                                     ).scalar_one() / 2**20
            print("timing searches, the digest and the dedup check …", file=sys.stderr,
                  flush=True)
            searches = time_searches(store, reps)
            digest_ms, d_articles, d_stories = time_digest(store)
            # Copies of what was just loaded, as a crawl would meet them, and new articles.
            sample = probes(gen, n_probes)
            # First pass: the index pages they need may not be in memory after the searches;
            # second pass, timed as the figure: a running crawler's window stays in memory.
            dedup_cold = [check_ms(store, p, matcher) for p in sample]
            dedup_full = [check_ms(store, p, matcher) for p in sample]
        finally:
            store.close()
    with _db(keep) as url_empty:  # the same probes on an empty database
        store = Store.from_url(url_empty)
        try:
            for p in sample:  # the same two passes
                check_ms(store, p, matcher)
            dedup_empty = [check_ms(store, p, matcher) for p in sample]
        finally:
            store.close()
    return Result(size, batch, ingest_s, index_s, tenths, db_mb, searches, digest_ms, d_articles,
                  d_stories, dedup_full, dedup_empty, dedup_cold, writers, indexers)


class _db:
    """``with _db(keep) as url``: a scratch PostgreSQL database."""

    def __init__(self, keep: bool) -> None:
        self._gen = scratch_database(keep, "newsmon_scale")

    def __enter__(self) -> str:
        return next(self._gen)

    def __exit__(self, *exc: Any) -> None:
        self._gen.close()


# -- report ----------------------------------------------------------------------------------


def _procs(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "es" if what.endswith("s") else "s")


def heading(size: int) -> str:
    """The section's title, from the size the run loaded."""
    return SECTION_TITLE.format(size=size)


def report(r: Result, command: str, info: RunInfo) -> str:
    """The body of the section for ``r`` (a pure function of the result and the run)."""
    def ok(good: bool) -> str:
        return "met" if good else "**not met**"

    every = [t for ts in r.search.values() for t in ts]
    s_p50, s_p95 = statistics.median(every), percentile(every, 95)
    d = statistics.median(r.digest_ms)
    full, empty = statistics.median(r.dedup_full), statistics.median(r.dedup_empty)
    cold = statistics.median(r.dedup_cold)
    ratio = full / empty if empty else float("inf")
    tenths = ", ".join(f"{t:,.0f}" for t in r.tenths)
    low, high = r.body_words
    return (
        f"`benchmarks/scale.py --size {r.size:,}`: {r.size:,} synthetic articles "
        f"({r.per_day:,} a day, {r.sources} sources, {low}–{high}-word bodies, "
        f"{r.copy_share:.0%} of them verbatim copies of recent articles, synthesised "
        f"enrichment) written through `Store.upsert_articles` in batches of {r.batch:,} with the "
        f"`SimilarityMatcher` by {_procs(r.writers, 'writer process')} at once (as crawl "
        f"workers write), into PostgreSQL on this machine (database {r.db_mb:,.0f} MB after "
        f"the load). {info.sentence()}\n\n"
        "| measure | result | target | |\n|---|---|---|---|\n"
        f"| ingest through the storage layer (search indexing deferred) | {r.rate:,.0f} "
        f"articles/s ({r.ingest_s:,.0f} s) | ≥ {TARGETS['ingest']:,.0f} articles/s | "
        f"{ok(r.rate >= TARGETS['ingest'])} |\n"
        f"| search index built after the load (`newsmon db index`, "
        f"{_procs(r.indexers, 'process')}) | {r.index_rate:,.0f} "
        f"articles/s ({r.index_s:,.0f} s) | | |\n"
        f"| stored and searchable, both steps one after the other | {r.searchable_rate:,.0f} "
        f"articles/s | ≥ {TARGETS['ingest']:,.0f} articles/s | "
        f"{ok(r.searchable_rate >= TARGETS['ingest'])} |\n"
        f"| search, {len(QUERIES)} queries × {len(every) // len(QUERIES)} | p50 "
        f"{s_p50:.1f} ms, p95 {s_p95:.1f} ms | p95 < {TARGETS['search_p95']:.0f} ms | "
        f"{ok(s_p95 < TARGETS['search_p95'])} |\n"
        f"| digest of one day ({r.digest_articles:,} articles, {r.digest_stories:,} stories) "
        f"| {d:,.0f} ms | < {TARGETS['digest']:,.0f} ms | {ok(d < TARGETS['digest'])} |\n"
        f"| dedup check per article | p50 {full:.2f} ms (the same probes on an empty "
        f"database {empty:.2f} ms, × {ratio:.2f}; their first pass {cold:.2f} ms) "
        f"| within {TARGETS['dedup_ratio']:g}× of empty | "
        f"{ok(ratio <= TARGETS['dedup_ratio'])} |\n"
        f"| the same check (story linking included) at {r.size:,} stored | p50 {full:.2f} ms "
        f"| ≤ {TARGETS['dedup_ms']:g} ms | {ok(full <= TARGETS['dedup_ms'])} |\n\n"
        "| query | p50 ms | p95 ms |\n|---|---|---|\n"
        + "".join(f"| {name} | {statistics.median(ts):.1f} | {percentile(ts, 95):.1f} |\n"
                  for name, ts in r.search.items()) + "\n"
        f"Ingest rate by tenth of the load (articles/s): {tenths}.\n\n"
        f"Reproduce (PostgreSQL from $NEWSMON_TEST_PG_URL; scratch databases are created "
        f"and dropped):\n\n```\n{command}\n```\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="articles to load")
    parser.add_argument("--batch", type=int, default=1000, help="articles per upsert")
    parser.add_argument("--reps", type=int, default=10, help="runs of each search query")
    parser.add_argument("--probes", type=int, default=100, help="dedup-check probes")
    parser.add_argument("--writers", type=int, default=1,
                        help="processes writing batches at once (as crawl workers do)")
    parser.add_argument("--indexers", type=int, default=1,
                        help="processes building the search index at once")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--write-docs", action="store_true",
                        help="replace the section of this size in docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.writers < 1 or args.indexers < 1:
        parser.error("--writers and --indexers take 1 or more")
    info = run_info()  # the code measured is the code checked out when the run starts
    result = run(args.size, args.batch, args.reps, args.probes, args.keep, args.writers,
                 args.indexers)
    command = ".venv/bin/python benchmarks/scale.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write-docs")
    body = report(result, command.strip(), info)
    print(f"{heading(result.size)}\n\n{body}")
    if args.write_docs:
        replace_section(heading(result.size), body, DOCS_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
