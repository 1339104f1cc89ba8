"""Wire stories for the concurrency cases: every source carries copies of the same stories.

Run as a child process, ``python -m tests.faults.wire URL SOURCE STORIES BATCH START`` files
one source's copies of ``STORIES`` wire stories straight through ``Store.upsert_articles``
(the production matcher and enrichment), ``BATCH`` at a time, starting at the Unix time
``START`` so that several children write at once; it prints how many it stored."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from faults.harness import rss_source, write_config
from faults.server import FaultServer, respond
from faults.site import rss, rss_item
from storage import ArticleRecord, Store
from storage.models import Article, CrawlRun, SourceRow

ROOT = Path(__file__).resolve().parents[2]

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


# -- the load case: several sources on one local site, sharing wire stories ----------------

@dataclass(slots=True)
class LoadSite:
    """Sources ``load-0`` … on a FaultServer, each a feed of its own stories and copies of
    the shared ones (story numbers 0 … shared-1; a source's own ones are unique)."""

    feeds: dict[str, str]
    per_source: int
    shared: int


def load_site(server: FaultServer, sources: int, per_source: int, shared: int) -> LoadSite:
    feeds = {}
    for k in range(sources):
        name = f"load-{k}"
        stories = list(range(shared)) + [
            100_000 * (k + 1) + m for m in range(per_source - shared)]
        random.Random(name).shuffle(stories)
        items = []
        for n in stories:
            kind = "wire" if n < shared else "own"
            url = server.route(f"/{name}/{kind}/{n}.html",
                               respond(200, wire_html(n), "text/html; charset=utf-8"))
            items.append(rss_item(url, story_title(n)))
        feeds[name] = server.route(f"/{name}/feed.xml", respond(
            200, rss(items), "application/rss+xml; charset=utf-8"))
    return LoadSite(feeds, per_source, shared)


def load_config(site: LoadSite, folder: Path, db_url: str) -> Path:
    return write_config(folder, db_url, [rss_source(name, url, max_articles=site.per_source)
                                          for name, url in site.feeds.items()],
                        crawl={"source_timeout": "20m"})


@dataclass(slots=True)
class LoadResult:
    stored: dict[str, int]  # source -> articles stored
    twice: int  # URLs stored more than once
    split: dict[int, set[int | None]]  # shared story -> story ids of its copies, if not one
    statuses: dict[str, str]  # source -> its run's status
    locked: list[str]  # run errors that say "database is locked"


def load_check(store: Store, site: LoadSite) -> LoadResult:
    with store.session() as session:
        rows = session.execute(select(SourceRow.name, Article.canonical_url, Article.story_id)
                               .join(Article.source)).all()
        runs = session.execute(select(CrawlRun.source_name, CrawlRun.status,
                                      CrawlRun.first_error)).all()
    stored: Counter[str] = Counter(name for name, _, _ in rows)
    urls = Counter(url for _, url, _ in rows)
    by_story: dict[int, set[int | None]] = {}
    for _, url, story in rows:
        kind, page = url.rsplit("/", 2)[-2:]
        if kind == "wire":
            by_story.setdefault(int(page.split(".")[0]), set()).add(story)
    split = {n: ids for n, ids in by_story.items() if len(ids) != 1 or None in ids}
    split.update({n: set() for n in range(site.shared) if n not in by_story})
    return LoadResult(dict(stored), sum(1 for n in urls.values() if n > 1), split,
                      {name: status for name, status, _ in runs},
                      [err for _, _, err in runs if err and "database is locked" in err])


def crawl_processes(config: Path, sources: list[str], logs: Path
                    ) -> list[subprocess.Popen[bytes]]:
    """``newsmon crawl --source NAME`` for each source, all started at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for name in sources:
        with (logs / f"{name}.log").open("wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "newsmon", "crawl", "--config", str(config),
                 "--source", name], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    return procs
