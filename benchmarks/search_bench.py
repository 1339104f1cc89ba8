"""Search latency and digest build time on synthetic articles, SQLite and PostgreSQL.

Builds a database through the real migrations, fills it with synthetic news — a
Zipf-distributed vocabulary with defence and trade terms, 20 sources, 1,000 articles a day
(100 days for the default ``--articles 100000``), stories of one to eight articles with
verbatim copies, topics and entities — indexes it for search (SQLite's FTS5 triggers do so
on insert; on PostgreSQL the rows are queued and indexed as ``newsmon db index`` does), then
times :func:`storage.search.search` on a fixed mix of queries (words common and rare, phrases,
OR, exclusions, prefixes, filters, filter-only listings) and
:func:`newsmon.digest.build_digest` plus rendering for single days.

Rows are written with bulk Core inserts, not ``Store.upsert_articles``: this measures reading,
and story filing for 100,000 articles would dominate the run.

Example::

    .venv/bin/python benchmarks/search_bench.py --write-docs
    .venv/bin/python benchmarks/search_bench.py --articles 20000 --db sqlite
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shlex
import statistics
import sys
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402
from config import Settings  # noqa: E402
from digest import build_digest, render  # noqa: E402
from storage import search_index  # noqa: E402
from storage.models import Article, ArticleEntity, ArticleTopic, SourceRow, Story  # noqa: E402
from storage.search import SearchFilters, search  # noqa: E402
from storage.store import Store  # noqa: E402

SECTION_HEADING = "## Search and digest"
PG_ADMIN_URL = os.environ.get("NEWSMON_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IST = "Asia/Kolkata"
# The newest day of the synthetic data ends here; "7d" and "24h" filters count back from it.
END = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)  # midnight IST
# The synthetic data: articles a day, sources, body length in words, story sizes (with their
# weights) and the share of a story's extra articles that are verbatim copies.
PER_DAY = 1000
SOURCES = 20
BODY_WORDS = (120, 320)
STORY_SIZES = ([1, 2, 3, 4, 6, 8], [70, 18, 6, 3, 2, 1])
COPY_SHARE = 0.5
SEARCH_LIMIT = 20  # the CLI's page
DIGEST_DAYS = 5
DIGEST_REPS = 2
TARGETS = {"search_p95_ms": 200.0, "digest_ms": 5000.0}

# Most general first: a term's frequency falls with its place (Zipf), so "army" is common and
# "brahmos" rare, as in real coverage.
DOMAIN = {
    "defence": ("military army defence navy border troops exercise missile airforce drone "
                "fighter jet helicopter radar procurement warship submarine frigate tank "
                "artillery ammunition carrier drdo hal corvette howitzer sonar torpedo tejas "
                "rafale brahmos").split(),
    "trade": ("trade export import tariff investment commerce duty agreement deficit surplus "
              "customs rupee supply chain shipping steel wto sanctions quota semiconductor "
              "pharma textiles aluminium freight dumping").split(),
}
DOMAIN_CUM = {
    topic: [sum(1 / (i + 1) ** 1.3 for i in range(k + 1)) for k in range(len(terms))]
    for topic, terms in DOMAIN.items()
}
COMMON = ("the of and to in a is that for on with as was by at from said it be has have "
          "will an are this were which its after new also more government minister "
          "officials year told on percent first two last week people country").split()
PLACES = "india china us pakistan russia france japan uk bangladesh australia".split()
ENTITIES = [f"country:{p}" for p in PLACES] + [
    "organisation:drdo", "organisation:hal", "organisation:wto", "organisation:nato",
    "organisation:isro"]

QUERIES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("common word", "india", {}),
    ("domain word", "missile", {}),
    ("rare word", "brahmos", {}),
    ("phrase", '"trade agreement"', {}),
    ("OR", "tariff OR duty", {}),
    ("exclusion", "navy -china", {}),
    ("prefix", "missil*", {}),
    ("two words", "india tariff", {}),
    ("group", "(submarine OR frigate) navy", {}),
    ("word + topic + 7d", "drone", {"topic": "defence", "since": END - timedelta(days=7)}),
    ("word + source", "steel", {"source": "source-07"}),
    ("word + entity", "exports", {"entity": "country:us"}),
    ("no query, topic + 24h", None, {"topic": "trade", "since": END - timedelta(hours=24)}),
    ("no query, source", None, {"source": "source-03"}),
]


@dataclass
class Corpus:
    vocab: list[str]
    cum: list[float]


def make_corpus(rng: random.Random, size: int = 20000) -> Corpus:
    syllables = ["ka", "ro", "mi", "ten", "sha", "vor", "pel", "dan", "qui", "lo", "zar",
                 "ni", "tu", "bra", "gel", "hom", "ix", "ust", "re", "na"]
    made: set[str] = set()
    while len(made) < size:
        made.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    vocab = COMMON + PLACES + sorted(made)
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    return Corpus(vocab, cum)


def words(rng: random.Random, corpus: Corpus, n: int, topic: str | None) -> list[str]:
    out = rng.choices(corpus.vocab, cum_weights=corpus.cum, k=n)
    if topic is not None:
        picks = rng.choices(DOMAIN[topic], cum_weights=DOMAIN_CUM[topic], k=max(1, n // 20))
        for i, term in zip(rng.sample(range(n), k=len(picks)), picks, strict=True):
            out[i] = term
    return out


def sentences(rng: random.Random, corpus: Corpus, n_words: int, topic: str | None) -> str:
    ws = words(rng, corpus, n_words, topic)
    out, i = [], 0
    while i < len(ws):
        k = rng.randint(8, 20)
        chunk = ws[i : i + k]
        out.append(" ".join(chunk).capitalize() + ".")
        i += k
    return " ".join(out)


def generate(store: Store, n_articles: int, seed: int = 7, batch: int = 2000) -> float:
    """Fill ``store`` with ``n_articles`` synthetic articles and index them for search;
    returns the seconds it took."""
    rng = random.Random(seed)
    corpus = make_corpus(rng)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(SourceRow), [
            {"id": i + 1, "name": f"source-{i:02d}", "kind": "rss", "created_at": now}
            for i in range(SOURCES)])
    days = max(1, n_articles // PER_DAY)
    per_day = n_articles // days
    article_id = story_id = 0
    pending: dict[str, list[dict[str, Any]]] = {"stories": [], "articles": [], "topics": [],
                                                "entities": []}

    def flush() -> None:
        with store.engine.begin() as conn:
            if pending["stories"]:
                conn.execute(insert(Story), pending["stories"])
            if pending["articles"]:
                conn.execute(insert(Article), pending["articles"])
            if pending["topics"]:
                conn.execute(insert(ArticleTopic), pending["topics"])
            if pending["entities"]:
                conn.execute(insert(ArticleEntity), pending["entities"])
        for rows in pending.values():
            rows.clear()

    for day in range(days):
        day_start = END - timedelta(days=days - day)
        made = 0
        while made < per_day:
            size = rng.choices(STORY_SIZES[0], weights=STORY_SIZES[1])[0]
            size = min(size, per_day - made)
            topic = rng.choices(["defence", "trade", None], weights=[45, 35, 20])[0]
            story_id += 1
            first_id = article_id + 1
            when = day_start + timedelta(seconds=rng.randint(0, 86399))
            title = sentences(rng, corpus, rng.randint(6, 12), topic).rstrip(".")
            body = sentences(rng, corpus, rng.randint(*BODY_WORDS), topic)
            highlights = [sentences(rng, corpus, rng.randint(8, 14), topic)
                          for _ in range(rng.choice([0, 0, 2, 3]))]
            ents = rng.sample(ENTITIES, k=rng.randint(1, 3))
            sources = rng.sample(range(1, SOURCES + 1), k=size)
            for j in range(size):
                article_id += 1
                copy = j > 0 and rng.random() < COPY_SHARE
                t = when + timedelta(minutes=7 * j)
                a_title = title if (j == 0 or copy) else sentences(
                    rng, corpus, rng.randint(6, 12), topic).rstrip(".")
                a_body = body if (j == 0 or copy) else sentences(
                    rng, corpus, rng.randint(*BODY_WORDS), topic)
                scores = {topic: round(rng.uniform(5, 15), 2)} if topic else {}
                if topic and rng.random() < 0.15:
                    other = "trade" if topic == "defence" else "defence"
                    scores[other] = round(rng.uniform(5, scores[topic]), 2)
                pending["articles"].append({
                    "id": article_id, "url_key": f"bench.example/{article_id}",
                    "canonical_url": f"https://bench.example/{article_id}",
                    "url": f"https://bench.example/{article_id}", "source_id": sources[j],
                    "title": a_title.capitalize(), "highlights": highlights if j == 0 else [],
                    "summary": None, "body": a_body, "authors": [], "published_at": t,
                    "first_seen_at": t, "fetched_at": t, "content_hash": f"{article_id:064x}",
                    "tags": [], "story_id": story_id,
                    "duplicate_of_id": first_id if copy else None,
                    "primary_topic": topic, "topic_scores": scores})
                pending["topics"] += [{"article_id": article_id, "topic": k, "score": v}
                                      for k, v in scores.items()]
                pending["entities"] += [{"article_id": article_id, "entity_id": e,
                                         "mentions": rng.randint(1, 5)} for e in ents]
            pending["stories"].append({
                "id": story_id, "primary_article_id": first_id, "title": title.capitalize(),
                "first_seen_at": when, "last_seen_at": when + timedelta(minutes=7 * (size - 1)),
                "article_count": size, "source_count": size})
            made += size
            if len(pending["articles"]) >= batch:
                flush()
    flush()
    if store.engine.dialect.name == "postgresql":
        # Bulk rows bypass the Store, so nothing queued them for the search index (which
        # SQLite's triggers keep without a queue): queue them all and index them, as
        # ``newsmon db index`` does after a bulk load.
        search_index.queue_all(store.engine)
        search_index.index_pending(store.engine)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            conn.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')"))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[k]


def time_searches(store: Store, reps: int, seed: int = 11) -> dict[str, list[float]]:
    rng = random.Random(seed)
    plan = [q for q in QUERIES for _ in range(reps)]
    rng.shuffle(plan)
    for _name, query, filters in QUERIES:  # warm caches once
        search(store, query, SearchFilters(**filters))
    times: dict[str, list[float]] = {name: [] for name, _, _ in QUERIES}
    for name, query, filters in plan:
        t = time.perf_counter()
        hits = search(store, query, SearchFilters(**filters), limit=SEARCH_LIMIT)
        times[name].append((time.perf_counter() - t) * 1000)
        assert hits or query is None or name == "rare word", f"{name}: no hits"
    return times


def time_digests(store: Store, n_days: int, reps: int
                 ) -> tuple[list[float], list[float], int, int]:
    settings = Settings(default_timezone=IST)
    last = END.astimezone(ZoneInfo(IST)).date() - timedelta(days=1)
    days = [last - timedelta(days=i) for i in range(n_days)]
    build, rendered, stories, articles = [], [], 0, 0
    build_digest(store, settings, day=days[0])
    for _ in range(reps):
        for d in days:
            t = time.perf_counter()
            digest = build_digest(store, settings, day=d)
            t1 = time.perf_counter()
            render(digest, "html")
            render(digest, "markdown")
            t2 = time.perf_counter()
            build.append((t1 - t) * 1000)
            rendered.append((t2 - t1) * 1000)
            stories = max(stories, digest.totals.stories)
            articles = max(articles, digest.totals.articles + digest.totals.off_topic)
    return build, rendered, stories, articles


@dataclass
class Result:
    """One database's run: what was loaded (the generator's parameters, as used) and timed."""

    db: str
    server: str
    articles: int
    days: int
    sources: int
    body_words: tuple[int, int]
    story_max: int
    copy_share: float
    load_s: float
    size_mb: float | None
    reps: int
    limit: int
    search: dict[str, list[float]]
    digest_build: list[float]
    digest_render: list[float]
    digest_stories: int
    digest_articles: int


def server_version(store: Store) -> str:
    """``PostgreSQL 15.5`` or ``SQLite 3.40.1``: the server this run measured."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            version = conn.execute(text("SHOW server_version")).scalar_one()
            return f"PostgreSQL {str(version).split()[0]}"
        return f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar_one()}"


def run(db: str, url: str, n: int, reps: int) -> Result:
    store = Store.from_url(url)
    try:
        have = store.count_articles()
        load = 0.0
        if have != n:
            if have:
                raise SystemExit(f"{url} holds {have} articles, not {n}: use an empty database")
            print(f"[{db}] generating {n:,} articles …", file=sys.stderr, flush=True)
            load = generate(store, n)
            print(f"[{db}] loaded in {load:.0f} s", file=sys.stderr, flush=True)
        size = None
        with store.engine.connect() as conn:
            if db == "postgresql":
                size = conn.execute(select(func.pg_database_size(func.current_database()))
                                    ).scalar_one() / 2**20
            else:
                path = make_url(url).database
                size = Path(path).stat().st_size / 2**20 if path else None
        print(f"[{db}] timing searches …", file=sys.stderr, flush=True)
        searches = time_searches(store, reps)
        print(f"[{db}] timing digests …", file=sys.stderr, flush=True)
        build, rendered, stories, day_articles = time_digests(store, n_days=DIGEST_DAYS,
                                                              reps=DIGEST_REPS)
        return Result(db, server_version(store), n, max(1, n // PER_DAY), SOURCES, BODY_WORDS,
                      max(STORY_SIZES[0]), COPY_SHARE, load, size, reps, SEARCH_LIMIT,
                      searches, build, rendered, stories, day_articles)
    finally:
        store.close()


def scratch_database(keep: bool, prefix: str = "newsmon_bench") -> Generator[str, None, None]:
    """A new PostgreSQL database for one run (its URL), dropped afterwards unless ``keep``."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()




def table(results: list[Result]) -> str:
    lines = ["| query | " + " | ".join(f"{r.db} p50 ms | {r.db} p95 ms" for r in results)
             + " |", "|---|" + "---|---|" * len(results)]
    for name, _, _ in QUERIES:
        cells = []
        for r in results:
            cells += [f"{statistics.median(r.search[name]):.1f}",
                      f"{percentile(r.search[name], 95):.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for r in results:
        everything = [t for ts in r.search.values() for t in ts]
        cells += [f"**{statistics.median(everything):.1f}**",
                  f"**{percentile(everything, 95):.1f}**"]
    lines.append("| **all queries** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _met(good: bool) -> str:
    return "met" if good else "**not met**"


def summary(results: list[Result]) -> str:
    out = []
    for r in results:
        everything = [t for ts in r.search.values() for t in ts]
        size = f"{r.size_mb:,.0f} MB" if r.size_mb is not None else "?"
        p95 = percentile(everything, 95)
        built = statistics.median(r.digest_build)
        out.append(
            f"- {r.db} ({r.server}): {r.articles:,} articles ({size} on disk, loaded and "
            f"indexed in {r.load_s:.0f} s); search p50 {statistics.median(everything):.1f} ms, p95 "
            f"{p95:.1f} ms over {len(everything)} searches "
            f"({len(QUERIES)} queries × {r.reps}), target p95 < "
            f"{TARGETS['search_p95_ms']:,.0f} ms: {_met(p95 < TARGETS['search_p95_ms'])}; "
            f"digest of one day (up to {r.digest_articles:,} articles, {r.digest_stories} "
            f"stories) built in median {built:.0f} ms, max {max(r.digest_build):.0f} ms, "
            f"target < {TARGETS['digest_ms']:,.0f} ms: {_met(built < TARGETS['digest_ms'])}; "
            f"rendering HTML + Markdown {statistics.median(r.digest_render):.0f} ms.")
    return "\n".join(out)


def render_section(results: list[Result], command: str, info: RunInfo) -> str:
    """The body of the "Search and digest" section, every figure from ``results`` and
    ``info`` (a pure function: the tests render it from made-up results)."""
    r = results[0]
    low, high = r.body_words
    servers = ", ".join(x.server for x in results)
    return (
        f"`storage.search.search` (top {r.limit} with snippets, the CLI's call) and "
        f"`newsmon.digest.build_digest` on {r.articles:,} synthetic articles: {r.days:,} "
        f"days × {r.articles // r.days:,}, {r.sources} sources, {low}–{high}-word bodies from "
        f"a Zipf vocabulary with defence and trade terms, stories of up to {r.story_max} "
        f"articles ({r.copy_share:.0%} of the extra ones verbatim copies), topics and "
        f"entities. Each query ran {r.reps} times in shuffled order after one warm-up; times "
        f"are wall-clock in one process ({servers}; PostgreSQL on the same host, SQLite in WAL "
        f"mode). {info.sentence()}\n\n"
        f"{table(results)}\n\n{summary(results)}\n\n"
        "Reproduce (from the repository root; PostgreSQL from $NEWSMON_TEST_PG_URL, a "
        "scratch database is created and dropped):\n\n"
        f"```\n{command}\n```\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/newsmon_bench.db"),
                        help="reused when it already holds --articles articles")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the '{SECTION_HEADING}' section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    info = run_info()  # the code measured is the code checked out when the run starts
    results = []
    if args.db in ("sqlite", "both"):
        results.append(run("sqlite", f"sqlite:///{args.sqlite_path}", args.articles, args.reps))
    if args.db in ("postgresql", "both"):
        gen = scratch_database(args.keep)
        url = next(gen)
        try:
            results.append(run("postgresql", url, args.articles, args.reps))
        finally:
            gen.close()
    command = ".venv/bin/python benchmarks/search_bench.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        if a != "--keep")
    body = render_section(results, command.strip(), info)
    print(f"{SECTION_HEADING}\n\n{body}")
    if args.write_docs:
        replace_section(SECTION_HEADING, body, DOCS_PATH)


if __name__ == "__main__":
    main()
