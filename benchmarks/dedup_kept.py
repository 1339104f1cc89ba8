"""The dedup check on a database kept by ``benchmarks/scale.py --keep``, pass after pass.

Probes: copies of the 50 newest stored articles (new keys, same text and signature) and 50
new synthetic articles, all arriving at the end of the loaded period; each pass checks every
probe once on the kept database and once on an empty one (also kept by ``--keep``), read-only.
The first pass shows the cold cost (pages read from disk), the later ones the warm cost.

    .venv/bin/python benchmarks/dedup_kept.py --url postgresql+psycopg://postgres@127.0.0.1:5433/ \\
        --full newsmon_scale_XXXX --empty newsmon_scale_YYYY
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedup_cost import check_ms  # noqa: E402
from scale import END, Generator, make_corpus  # noqa: E402
from sqlalchemy import text  # noqa: E402

from crawler.dedup import SimilarityMatcher  # noqa: E402
from crawler.dedup.features import Signature, band_hashes, title_tokens  # noqa: E402
from crawler.entities import Gazetteer  # noqa: E402
from storage import ArticleRecord, Store  # noqa: E402
from storage.engine import make_engine  # noqa: E402


def copies_of_newest(store: Store, gazetteer: Gazetteer, n: int) -> list[ArticleRecord]:
    out = []
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, title, body, minhash FROM articles "
                                 "ORDER BY id DESC LIMIT :n"), {"n": n}).all()
        for j, (aid, title, body, minhash) in enumerate(rows):
            key = f"probe.example/{j}"
            rec = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                                source="source-01", title=title, body=body, fetched_at=END,
                                published_at=END)
            rec.minhash = minhash
            rec.bands = band_hashes(Signature.from_bytes(minhash))
            rec.entities = {e: n for e, n in conn.execute(text(
                "SELECT entity_id, mentions FROM article_entities WHERE article_id = :a"),
                {"a": aid})}
            rec.title_terms = sorted(t for t in title_tokens(title, gazetteer) if len(t) <= 64)
            out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server URL ending in '/'")
    parser.add_argument("--full", required=True, help="database kept after the load")
    parser.add_argument("--empty", required=True, help="empty database kept by the same run")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    gazetteer = Gazetteer.load()
    matcher = SimilarityMatcher(gazetteer)
    full = Store(make_engine(args.url + args.full))
    empty = Store(make_engine(args.url + args.empty))
    gen = Generator(random.Random(3), make_corpus(random.Random(7)), gazetteer, 200)
    sample = copies_of_newest(full, gazetteer, 50) + [gen.record(10**9 + j, END)
                                                     for j in range(50)]
    for k in range(args.passes):
        f = statistics.median(check_ms(full, p, matcher) for p in sample)
        e = statistics.median(check_ms(empty, p, matcher) for p in sample)
        print(f"pass {k + 1}: p50 {f:.2f} ms, empty database {e:.2f} ms, × {f / e:.2f}")
    full.close()
    empty.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
