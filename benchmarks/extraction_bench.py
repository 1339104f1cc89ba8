"""Score main-text extraction on the ScrapingHub article-extraction benchmark.

Runs, in one process and one pass over the pages, our pipeline
(``crawler.extraction.extract_article(...).body``), a few ablations of it, and
trafilatura alone with its default settings, and scores each with the
benchmark's own metric: ``\\w+`` tokens, 4-token shingles, per-page TP/FP/FN
normalised to sum to 1, precision and recall averaged over pages, F1 the
harmonic mean of those two averages.

Example::

    .venv/bin/python benchmarks/extraction_bench.py --write-docs

The metric functions are also imported by ``tests/test_crawler_extraction.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _package_version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DIR = REPO_ROOT.parent / "shared" / "bench" / "article-extraction"
SECTION_HEADING = "## Article extraction"
SHINGLE_TOKENS = 4  # the benchmark's metric: shingles of this many ``\w+`` tokens
# The benchmark has no fetch times; any fixed instant keeps runs reproducible.
FETCHED_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)

TpFpFn = tuple[float, float, float]


def tokenize(text: str) -> list[str]:
    """Split text the way the benchmark does: every ``\\w+`` run is a token."""
    return _TOKEN_RE.findall(text or "")


def shingles(text: str, n: int = SHINGLE_TOKENS) -> Counter[tuple[str, ...]]:
    """Multiset of n-token shingles; a text shorter than n gives one short shingle."""
    tokens = tokenize(text)
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def shingle_match(true: str, pred: str, n: int = SHINGLE_TOKENS) -> TpFpFn:
    """TP/FP/FN over shingle multisets, divided by their sum so each page weighs the same."""
    t, p = shingles(true, n), shingles(pred, n)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    total = tp + fp + fn
    if total > 0:
        return tp / total, fp / total, fn / total
    return tp, fp, fn


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def page_f1(true: str, pred: str) -> float:
    """F1 of one page (used by the tests; the benchmark F1 is computed from averages)."""
    tp, fp, fn = shingle_match(true, pred)
    p, r = precision_score(tp, fp, fn), recall_score(tp, fp, fn)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class Scores:
    f1: float
    precision: float
    recall: float


def scores(matches: list[TpFpFn]) -> Scores:
    """Benchmark scores: precision over pages that predicted something, recall over
    pages that have a truth, F1 the harmonic mean of the two means."""
    precision = statistics.mean(precision_score(*m) for m in matches if m[0] + m[1] > 0)
    recall = statistics.mean(recall_score(*m) for m in matches if m[0] + m[2] > 0)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return Scores(f1, precision, recall)


@dataclass(frozen=True)
class Page:
    item_id: str
    url: str
    html: bytes
    truth: str


def load_pages(bench_dir: Path) -> Iterator[Page]:
    """Yield every benchmark page, decompressed, in ground-truth order."""
    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    for item_id, item in truth.items():
        with gzip.open(bench_dir / "html" / f"{item_id}.html.gz", "rb") as fh:
            html = fh.read()
        yield Page(item_id, item.get("url", ""), html, item.get("articleBody", ""))


Extractor = Callable[[Page], str]


def _version(package: str) -> str:
    try:
        return _package_version(package)
    except PackageNotFoundError:
        return "(not installed)"


def pipeline(page: Page) -> str:
    from crawler.extraction import extract_article

    return extract_article(page.html, page.url, fetched_at=FETCHED_AT).body


def _pipeline_variant(**overrides: bool) -> Extractor:
    def run(page: Page) -> str:
        from crawler.extraction import extract_article
        from crawler.extraction.body import BodyOptions

        return extract_article(
            page.html, page.url, fetched_at=FETCHED_AT, body_options=BodyOptions(**overrides)
        ).body

    return run


def trafilatura_default(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html, url=page.url) or ""


def trafilatura_no_comments(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html, url=page.url, include_comments=False) or ""


def trafilatura_our_settings(page: Page) -> str:
    import trafilatura

    return (
        trafilatura.extract(page.html, url=page.url, favor_precision=True, include_comments=False)
        or ""
    )


EXTRACTORS: dict[str, tuple[str, Extractor]] = {
    "pipeline": ("newsmon `extract_article().body`", pipeline),
    "no-line-filter": ("newsmon, line filter off", _pipeline_variant(line_filter=False)),
    "no-structural": (
        "newsmon, structural pre-clean off",
        _pipeline_variant(structural_clean=False),
    ),
    "no-cleaning": (
        "newsmon, both junk filters off",
        _pipeline_variant(line_filter=False, structural_clean=False),
    ),
    "trafilatura-ours": (
        "trafilatura alone, `favor_precision=True, include_comments=False`",
        trafilatura_our_settings,
    ),
    "trafilatura-no-comments": (
        "trafilatura alone, `include_comments=False`",
        trafilatura_no_comments,
    ),
    "trafilatura": (f"trafilatura {_version('trafilatura')} alone, default settings",
                    trafilatura_default),
}


@dataclass
class Run:
    label: str
    matches: list[TpFpFn] = field(default_factory=list)
    seconds: float = 0.0


def run_benchmark(bench_dir: Path, names: list[str], limit: int | None = None) -> list[Run]:
    # Import outside the timed region so the first extractor does not pay for it.
    import trafilatura  # noqa: F401

    import crawler.extraction  # noqa: F401

    runs = {name: Run(EXTRACTORS[name][0]) for name in names}
    for i, page in enumerate(load_pages(bench_dir)):
        if limit is not None and i >= limit:
            break
        for name in names:
            start = time.perf_counter()
            pred = EXTRACTORS[name][1](page)
            runs[name].seconds += time.perf_counter() - start
            runs[name].matches.append(shingle_match(page.truth, pred))
    return [runs[name] for name in names]


def markdown_table(runs: list[Run]) -> str:
    lines = [
        "| extractor | F1 | precision | recall | pages/s |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        s = scores(run.matches)
        rate = len(run.matches) / run.seconds if run.seconds else 0.0
        lines.append(
            f"| {run.label} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} | {rate:.0f} |"
        )
    return "\n".join(lines)


def notes(runs: dict[str, Run]) -> str:
    """Plain-language reading of the ablation rows, computed from this run."""
    lines: list[str] = []
    base = runs.get("pipeline")
    if base is not None:
        f1 = scores(base.matches).f1
        for name, what in (
            ("no-line-filter", "the line filter"),
            ("no-structural", "the structural pre-clean"),
            ("no-cleaning", "both junk filters"),
            ("trafilatura-ours", "everything newsmon adds to trafilatura with the same settings"),
            ("trafilatura", "newsmon as a whole, against trafilatura's defaults"),
        ):
            other = runs.get(name)
            if other is not None:
                delta = f1 - scores(other.matches).f1
                lines.append(f"- F1 gained by {what}: {delta:+.4f}.")
    default, no_comments = runs.get("trafilatura"), runs.get("trafilatura-no-comments")
    if default is not None and no_comments is not None:
        d, n = scores(default.matches), scores(no_comments.matches)
        lines.append(
            "- trafilatura's defaults include comments (`include_comments=True`): with them "
            f"it scores F1 {d.f1:.3f} (precision {d.precision:.3f}), without them "
            f"{n.f1:.3f} (precision {n.precision:.3f}).")
    lines.append(
        "- The newsmon pipeline uses `favor_precision=True, include_comments=False`, then "
        "drops page furniture before trafilatura and short junk lines after it, removes "
        "highlight bullets and a leading repeat of the title. pages/s times the whole call "
        "for our rows (parsing, metadata, dates, highlights, body) and only "
        "`trafilatura.extract` for the trafilatura rows."
    )
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """``path`` as the docs show it: relative to the repository's folder when beside it."""
    try:
        return f"../{path.resolve().relative_to(REPO_ROOT.parent)}"
    except ValueError:
        return str(path)


def render_section(runs: dict[str, Run], bench_dir: Path, command: str, info: RunInfo) -> str:
    """The body of the "Article extraction" section, every figure from ``runs``, the
    metric's parameter and ``info`` (a pure function: the tests render made-up runs)."""
    n_pages = len(next(iter(runs.values())).matches)
    return (
        f"Main-text extraction on the ScrapingHub article-extraction benchmark "
        f"({n_pages} pages, `{_shown(bench_dir)}`, outside this repository), scored with the "
        f"benchmark's own metric (`\\w+` tokens, {SHINGLE_TOKENS}-token shingles, per-page "
        "TP/FP/FN normalised, precision and recall averaged over pages, F1 = harmonic mean of "
        f"the two averages). All rows come from the same run, one process. {info.sentence()}"
        f"\n\n{markdown_table(list(runs.values()))}\n\n{notes(runs)}\n\n"
        "Reproduce (from the repository root):\n\n"
        f"```\n{command}\n```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=DEFAULT_BENCH_DIR,
        help="benchmark directory holding ground-truth.json and html/ "
        "(default: ../shared/bench/article-extraction from the repo root)",
    )
    parser.add_argument(
        "--extractors",
        default=",".join(EXTRACTORS),
        help=f"comma-separated subset of: {', '.join(EXTRACTORS)}",
    )
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help=f'write the table into "{SECTION_HEADING}" in docs/benchmarks.md',
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.extractors.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        parser.error(f"unknown extractor(s): {', '.join(unknown)}")
    info = run_info()  # the code measured is the code checked out when the run starts
    runs = run_benchmark(args.bench_dir, names, args.limit)
    raw_args = sys.argv[1:] if argv is None else argv
    cmd = " ".join(
        [".venv/bin/python benchmarks/extraction_bench.py", *map(shlex.quote, raw_args)]
    )
    body = render_section(dict(zip(names, runs, strict=True)), args.bench_dir, cmd, info)
    print(f"{SECTION_HEADING}\n\n{body}")
    if args.write_docs:
        replace_section(SECTION_HEADING, body, DOCS_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
