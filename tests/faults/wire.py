"""Wire stories for the concurrency cases: every source carries copies of the same stories.

Run as a child process, ``python -m tests.faults.wire URL SOURCE STORIES BATCH START`` files
one source's copies of ``STORIES`` wire stories straight through ``Store.upsert_articles``
(the production matcher and enrichment), ``BATCH`` at a time, starting at the Unix time
``START`` so that several children write at once; it prints how many it stored."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from storage import ArticleRecord, Store

T0 = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
_WORDS = ("river dam water flood monsoon minister court budget railway port harbour "
          "election council farmers wheat rice export import steel power grid coal solar "
          "wind hospital doctors vaccine school teachers exam police border army navy "
          "bridge highway metro airport tender contract bank loan rupee market shares").split()


def story_title(n: int) -> str:
    rng = random.Random(f"title-{n}")
    return f"Story {n}: " + " ".join(rng.sample(_WORDS, 6)).capitalize()


def story_body(n: int) -> str:
    rng = random.Random(f"body-{n}")
    sentences = [" ".join(rng.choice(_WORDS) for _ in range(14)).capitalize() + "."
                 for _ in range(12)]
    return f"Wire report number {n}. " + " ".join(sentences)


def story_of(body: str) -> int:
    """The wire story number a stored body copies."""
    return int(body.split(".", 1)[0].rsplit(" ", 1)[1])


def wire_html(n: int) -> str:
    """The story as an article page (for crawls of a local site)."""
    paras = "".join(f"<p>{s}.</p>" for s in story_body(n).split(". "))
    return (f"<html><head><title>{story_title(n)}</title></head><body><article>"
            f"<h1>{story_title(n)}</h1>{paras}</article></body></html>")


def copy_of(n: int, source: str) -> ArticleRecord:
    key = f"{source}.example.com/wire/{n}"
    return ArticleRecord(
        url_key=key, canonical_url=f"https://{key}", url=f"https://{key}", source=source,
        title=story_title(n), body=story_body(n), fetched_at=T0 + timedelta(minutes=n),
        published_at=T0 + timedelta(minutes=n))


def file_copies(url: str, source: str, stories: int, batch: int, start: float) -> int:
    taxonomy, gazetteer = Taxonomy.load(None), Gazetteer.load(None)
    records = [copy_of(n, source) for n in range(stories)]
    random.Random(source).shuffle(records)
    for rec in records:
        enrich(rec, taxonomy, gazetteer)
    matcher = SimilarityMatcher(gazetteer)
    store = Store.from_url(url, migrate=False)
    time.sleep(max(0.0, start - time.time()))
    stored = 0
    for i in range(0, len(records), batch):
        stored += len(store.upsert_articles(records[i:i + batch], matcher))
    store.close()
    return stored


if __name__ == "__main__":
    db, src, n_stories, size, at = sys.argv[1:6]
    print(file_copies(db, src, int(n_stories), int(size), float(at)))
