"""The labelled stories set through the product's own path: enrichment, the Store's SQL
candidate search and the SimilarityMatcher, as a crawl files articles (issue 5).

Articles are stored in publication order, in batches, into a fresh database; then the
stored ``duplicate_of_id`` / ``story_id`` / topics are scored against the labels:
near-duplicate pairs (same ``dup_group``) against pairs sharing a copy root, story pairs
(same ``story_label``) against pairs sharing a ``story_id``, topic sets exactly.

    .venv/bin/python benchmarks/stories_store_eval.py [--url sqlite:///...] [--batch 25]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from crawler.dedup import SimilarityMatcher  # noqa: E402
from crawler.entities import Gazetteer  # noqa: E402
from crawler.pipelines.classify import enrich  # noqa: E402
from crawler.topics import Taxonomy  # noqa: E402
from storage import ArticleRecord, Store  # noqa: E402
from storage.models import Article, ArticleTopic  # noqa: E402

DATA = Path(__file__).parent / "data" / "stories" / "stories.jsonl"


def pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    for item, group in groups.items():
        by.setdefault(group, []).append(item)
    return {tuple(sorted(p)) for ms in by.values() for p in itertools.combinations(ms, 2)}  # type: ignore[misc]


def pr(pred: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    tp = len(pred & truth)
    return (tp / len(pred) if pred else 1.0, tp / len(truth) if truth else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="database URL (default: temporary SQLite)")
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    rows.sort(key=lambda r: (r["published"], r["id"]))
    tax, gaz = Taxonomy.load(), Gazetteer.load()
    matcher = SimilarityMatcher(gaz)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(args.url or f"sqlite:///{tmp}/eval.db")
        records = []
        for r in rows:
            when = datetime.fromisoformat(r["published"])
            key = f"{r['source']}.example/{r['id']}"
            rec = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                                source=r["source"], title=r["title"], body=r["body"],
                                fetched_at=when, published_at=when)
            enrich(rec, tax, gaz)
            records.append(rec)
        t0 = time.perf_counter()
        for i in range(0, len(records), args.batch):
            store.upsert_articles(records[i:i + args.batch], matcher)
        elapsed = time.perf_counter() - t0
        with store.session() as s:
            stored = s.execute(select(Article)).unique().scalars()
            arts = {a.url_key.split("/", 1)[1]: a for a in stored}
            topics: dict[int, set[str]] = {}
            for aid, topic in s.execute(select(ArticleTopic.article_id, ArticleTopic.topic)):
                topics.setdefault(aid, set()).add(topic)
        store.close()
    ids = {r["id"]: r for r in rows}
    root = {k: str(a.duplicate_of_id or a.id) for k, a in arts.items()}
    dup_p, dup_r = pr(pairs(root), pairs({k: ids[k]["dup_group"] for k in arts}))
    st_p, st_r = pr(pairs({k: str(a.story_id) for k, a in arts.items()}),
                    pairs({k: ids[k]["story_label"] for k in arts}))
    correct = sum(topics.get(a.id, set()) == set(ids[k]["expected_topics"])
                  for k, a in arts.items())
    print(f"{len(arts)} articles stored in {elapsed:.2f} s "
          f"({len(arts) / elapsed:.0f}/s, batches of {args.batch})\n")
    print("| measure (through the Store) | precision | recall |\n|---|---|---|")
    print(f"| near-duplicate pairs (same copy root) | {dup_p:.3f} | {dup_r:.3f} |")
    print(f"| story pairs (same story_id) | {st_p:.3f} | {st_r:.3f} |")
    print(f"\ntopic accuracy (exact set): {correct / len(arts):.3f}")


if __name__ == "__main__":
    main()
