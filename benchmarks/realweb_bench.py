"""The extraction benchmark's real pages crawled end to end: stored, body F1, fallbacks, speed.

Serves the 181 pages of ``../shared/bench/article-extraction`` on 127.0.0.1 under a generated
RSS feed, news sitemap and listing page, some refused, disallowed by robots.txt, rate-limited
or replaced by a bot wall (``benchmarks/realweb_site.py``), and crawls them once with the real
pipeline (``crawler.runner.crawl``, three sources at once, into a fresh SQLite database). Then:

- stored / expected: articles stored against pages served (each page is one article, from its
  page, or from its entry when the page was refused);
- fallbacks: articles stored from their entry (body source "feed"), against the pages refused;
- body F1: the stored bodies against the benchmark's ground truth with the benchmark's own
  metric (``benchmarks/extraction_bench.py``), over every page and over the pages stored from
  their page; beside it, ``extract_article`` on the same pages outside the crawl;
- pages/s: articles stored per second of the crawl's wall time.

Example::

    .venv/bin/python benchmarks/realweb_bench.py --write-docs
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import extraction_bench as eb  # noqa: E402
from benchmarks import realweb_site as rw  # noqa: E402
from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402

SECTION_HEADING = "## Real web: the extraction benchmark's pages crawled end to end"
# Local server: no politeness delay; the crawl's own concurrency caps.
CRAWL = {"download_delay": 0, "autothrottle": False, "concurrency": 8,
         "per_domain_concurrency": 4, "retries": 2, "download_timeout": "10s",
         "source_timeout": "10m", "max_articles_per_run": 500}


@dataclass(frozen=True)
class Result:
    """What one crawl of the site stored, scored."""

    pages: int
    stored: int
    refused: int  # pages the site refused, disallowed or walled
    fallbacks: int  # articles stored from their entry
    from_page: int  # articles stored from their page
    same_as_extract: int  # of those, bodies equal to extract_article's
    crawl_all: eb.Scores  # stored bodies, every page
    crawl_page: eb.Scores  # stored bodies, the pages served
    extract_page: eb.Scores  # extract_article outside the crawl, the same pages
    seconds: float
    fates: dict[str, int]

    @property
    def pages_per_second(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def run(bench_dir: Path, limit: int | None = None) -> Result:
    import yaml

    from config import load_settings
    from crawler.runner import crawl
    from crawler.urls import url_key
    from storage import Store

    pages = rw.load_pages(bench_dir, limit)
    with tempfile.TemporaryDirectory() as tmp, rw.RealWebSite(pages) as site:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'realweb.db'}"
        (folder / "sources.yaml").write_text(yaml.safe_dump(
            {"sources": site.source_entries()}, sort_keys=False))
        (folder / "settings.yaml").write_text(yaml.safe_dump({
            "database_url": db_url, "data_dir": str(folder), "crawl": CRAWL,
            "sources_file": "sources.yaml", "contact_url": "https://example.org/newsmon"},
            sort_keys=False))
        settings = load_settings(folder / "settings.yaml", env={})
        store = Store.from_url(db_url)
        started = time.perf_counter()
        crawl(settings, settings.enabled_sources(), store=store,
              NEWSMON_RETRY_AFTER_MAX=2.0)
        seconds = time.perf_counter() - started
        articles = {a.url_key: a for a in store.articles()}
        store.close()
        urls = {p.item_id: site.url(p.path) for p in pages}
    crawl_all, crawl_page, extract_page = [], [], []
    same = from_page = fallbacks = 0
    for page in pages:
        article = articles.get(url_key(urls[page.item_id]))
        body = article.body if article is not None else ""
        crawl_all.append(eb.shingle_match(page.truth, body))
        if article is not None and article.body_source == "feed" and article.page_error:
            fallbacks += 1
        if page.from_page:
            expected = rw.expected_body(page, urls[page.item_id])
            crawl_page.append(eb.shingle_match(page.truth, body))
            extract_page.append(eb.shingle_match(page.truth, expected))
            if article is not None and article.body_source == "page":
                from_page += 1
                same += body == expected
    fates: dict[str, int] = {}
    for page in pages:
        fates[page.fate] = fates.get(page.fate, 0) + 1
    return Result(pages=len(pages), stored=len(articles),
                  refused=sum(1 for p in pages if not p.from_page), fallbacks=fallbacks,
                  from_page=from_page, same_as_extract=same, crawl_all=eb.scores(crawl_all),
                  crawl_page=eb.scores(crawl_page), extract_page=eb.scores(extract_page),
                  seconds=seconds, fates=fates)


def _row(label: str, pages: int, s: eb.Scores) -> str:
    return f"| {label} | {pages} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} |"


def render_section(r: Result, bench_dir: Path, command: str, info: RunInfo) -> str:
    """The section's body, every figure from ``r`` and ``info`` (a pure function: the tests
    render made-up results)."""
    fates = ", ".join(f"{name} {count}" for name, count in sorted(r.fates.items()))
    served = r.pages - r.refused
    return (
        f"The {r.pages} pages of the article-extraction benchmark (`{eb._shown(bench_dir)}`) "
        "served on 127.0.0.1 under a generated RSS feed, news sitemap and listing page "
        "(`benchmarks/realweb_site.py`) and crawled once by the real pipeline into SQLite, the "
        "three sources at once. Refused pages answer Forbidden or Service Unavailable to "
        "every try, or robots.txt disallows them, or a Cloudflare challenge stands in their "
        "place; rate-limited pages answer Too Many Requests once, then the page. Pages by "
        f"what the site did: {fates}. {info.sentence()}\n\n"
        f"- stored / expected: {r.stored} / {r.pages} articles;\n"
        f"- fallbacks (stored from their entry, body source feed): {r.fallbacks} of the "
        f"{r.refused} pages refused;\n"
        f"- stored from their page: {r.from_page} of {served}, of which {r.same_as_extract} "
        "with the body `extract_article` gives for the page;\n"
        f"- speed: {r.pages_per_second:.1f} pages/s ({r.stored} articles in "
        f"{r.seconds:.1f} s of crawl).\n\n"
        "Body F1 with the benchmark's metric (`benchmarks/extraction_bench.py`); an article "
        "stored from its entry has the entry's summary as its body:\n\n"
        "| bodies | pages | F1 | precision | recall |\n|---|---|---|---|---|\n"
        + _row("stored by the crawl, every page", r.pages, r.crawl_all) + "\n"
        + _row("stored by the crawl, pages served", served, r.crawl_page) + "\n"
        + _row("`extract_article` alone, pages served", served, r.extract_page) + "\n\n"
        "Reproduce (from the repository root):\n\n"
        f"```\n{command}\n```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=rw.DEFAULT_BENCH_DIR,
                        help="the benchmark's directory (ground-truth.json and html/)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--write-docs", action="store_true",
                        help=f'write "{SECTION_HEADING}" in docs/benchmarks.md')
    args = parser.parse_args(argv)
    if not (args.bench_dir / "ground-truth.json").exists():
        print(f"{args.bench_dir}: no ground-truth.json (the article-extraction benchmark)",
              file=sys.stderr)
        return 2
    info = run_info()
    result = run(args.bench_dir, args.limit)
    raw: list[Any] = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python benchmarks/realweb_bench.py",
                        *map(shlex.quote, raw)])
    body = render_section(result, args.bench_dir, command, info)
    print(f"{SECTION_HEADING}\n\n{body}")
    if args.write_docs:
        replace_section(SECTION_HEADING, body, DOCS_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
