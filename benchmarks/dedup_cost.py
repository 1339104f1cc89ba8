"""Cost of the dedup check per article as the corpus grows (issue 5).

Loads N synthetic articles (spread over N/1000 days, ~1,000 a day, like a busy monitor)
into a fresh database through the real enrichment and Store, then times the store's
upsert of 200 probe articles — half syndicated copies of stored articles, half new — with
the SimilarityMatcher, as the crawl pipeline does it. Two figures per probe: the dedup
check alone (the LSH-bucket and headline-term candidate queries and the matcher's
comparisons, read-only, rolled back) and the whole write of the article (row, versions,
aliases, enrichment rows, search index, story filing) in one transaction.

    .venv/bin/python benchmarks/dedup_cost.py --url postgresql://postgres@127.0.0.1/test \
        --sizes 1000 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crawler.dedup import SimilarityMatcher  # noqa: E402
from crawler.entities import Gazetteer  # noqa: E402
from crawler.pipelines.classify import enrich  # noqa: E402
from crawler.topics import Taxonomy  # noqa: E402
from storage import ArticleRecord, Store  # noqa: E402
from storage.stories import NewArticle, story_filer  # noqa: E402

ENTITY_WORDS = ["India", "United States", "China", "Pakistan", "Russia", "Japan", "France",
                "NATO", "WTO", "DRDO", "Pentagon", "Ministry of Defence", "European Union",
                "Australia", "Israel", "Ukraine", "Boeing", "Lockheed Martin", "HAL", "USTR"]
TOPIC_WORDS = ["tariff", "exports", "missile", "procurement", "navy", "trade deal", "army",
               "customs duty", "fighter jet", "joint exercise", "imports", "submarine"]


def make_vocab(rng: random.Random, n: int = 6000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def make_body(rng: random.Random, vocab: list[str]) -> str:
    words = [rng.choice(vocab) for _ in range(rng.randint(400, 800))]
    for _ in range(rng.randint(3, 8)):
        words.insert(rng.randrange(len(words)), rng.choice(ENTITY_WORDS))
    for _ in range(rng.randint(2, 6)):
        words.insert(rng.randrange(len(words)), rng.choice(TOPIC_WORDS))
    return " ".join(words)


def copy_of(rng: random.Random, body: str, vocab: list[str]) -> str:
    words = body.split()
    for _ in range(len(words) // 20):  # a 5% scattered edit
        words[rng.randrange(len(words))] = rng.choice(vocab)
    return "Syndicated from a wire service. " + " ".join(words) + " Follow us for more."


def record(i: int, title: str, body: str, when: datetime, tax: Taxonomy, gaz: Gazetteer
           ) -> ArticleRecord:
    key = f"site{i % 40}.example/news/{i}-{uuid.uuid4().hex[:6]}"
    rec = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                        source=f"source-{i % 40}", title=title, body=body, fetched_at=when,
                        published_at=when)
    enrich(rec, tax, gaz)
    return rec


def check_ms(store: Store, probe: ArticleRecord, matcher: SimilarityMatcher) -> float:
    """Time the dedup check for ``probe`` alone: candidates from SQL, then the matcher."""
    with store.session() as session:
        filer = story_filer(session, matcher)
        item = [NewArticle(-1, probe, 0)]
        t = time.perf_counter()
        filer.check(item)
        elapsed = (time.perf_counter() - t) * 1000
        session.rollback()
    return elapsed


def fresh_database(url: str) -> tuple[str, str | None]:
    if url.startswith("sqlite"):
        return url, None
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def drop_database(url: str, name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(url: str, sizes: list[int], probes: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    vocab = make_vocab(rng)
    tax, gaz = Taxonomy.load(), Gazetteer.load()
    matcher = SimilarityMatcher(gaz)
    db_url, name = fresh_database(url)
    store = Store.from_url(db_url)
    results = []
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        stored: list[ArticleRecord] = []
        loaded = 0
        for size in sorted(sizes):
            days = max(size / 1000, 1)
            t0 = time.perf_counter()
            while loaded < size:
                batch = []
                for _ in range(min(500, size - loaded)):
                    when = start + timedelta(days=days * loaded / size)
                    title = " ".join(rng.choice(vocab) for _ in range(8))
                    batch.append(record(loaded, title, make_body(rng, vocab), when, tax, gaz))
                    loaded += 1
                store.upsert_articles(batch, matcher)
                stored.extend(batch[-5:])
            load_s = time.perf_counter() - t0
            # Fresh bulk loads have no planner statistics yet; autovacuum would gather them
            # within a minute on a live database.
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
            # Probes arrive "now": at the end of the loaded period.
            now = start + timedelta(days=days)
            timings = []
            checks = []
            for j in range(probes):
                if j % 2 == 0:
                    orig = rng.choice(stored[-200:])
                    probe = record(10**9 + j, "Copy: " + orig.title,
                                   copy_of(rng, orig.body, vocab), now, tax, gaz)
                else:
                    probe = record(10**9 + j, " ".join(rng.choice(vocab) for _ in range(8)),
                                   make_body(rng, vocab), now, tax, gaz)
                checks.append(check_ms(store, probe, matcher))
                t = time.perf_counter()
                store.upsert_articles([probe], matcher)
                timings.append((time.perf_counter() - t) * 1000)
            timings.sort()
            checks.sort()
            results.append({"stored": size, "load_s": load_s,
                            "check_p50": statistics.median(checks),
                            "check_p95": checks[int(len(checks) * 0.95) - 1],
                            "p50_ms": statistics.median(timings),
                            "p95_ms": timings[int(len(timings) * 0.95) - 1]})
            r = results[-1]
            print(f"{size:>8} stored: check p50 {r['check_p50']:.2f} ms p95 "
                  f"{r['check_p95']:.2f} ms; whole write p50 {r['p50_ms']:.2f} ms p95 "
                  f"{r['p95_ms']:.2f} ms (loaded in {load_s:.0f} s)", flush=True)
    finally:
        store.close()
        drop_database(url, name)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results = run(args.url, args.sizes, args.probes, args.seed)
    print("\n| articles stored | dedup check p50 ms | p95 ms | whole write p50 ms | p95 ms |"
          "\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['stored']:,} | {r['check_p50']:.2f} | {r['check_p95']:.2f} | "
              f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} |")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"\nratio {b['stored']:,} / {a['stored']:,}: dedup check p50 "
              f"{b['check_p50'] / a['check_p50']:.2f}, whole write p50 "
              f"{b['p50_ms'] / a['p50_ms']:.2f}")


if __name__ == "__main__":
    main()
