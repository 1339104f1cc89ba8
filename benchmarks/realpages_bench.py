"""Title, author, date and main text on real pages: newsmon beside trafilatura and htmldate.

The corpus is ``../shared/bench/real-pages`` (990 real pages with hand annotations; its README
gives the metric, trafilatura's own). One run, one process, every tool on the same bytes:

- newsmon: ``crawler.extraction.extract_article`` on the page decoded as the crawler decodes a
  response (``crawler.spiders.encoding.response_text``); its text is the highlights and the
  body (what newsmon stores as the article's text);
- trafilatura ``extract`` (default settings, and ``favor_precision=True``) for the main text,
  ``extract_metadata`` for title, author and date;
- htmldate ``find_date`` fast (``extensive_search=False``), extensive, and extensive with
  ``original_date=True`` (the publication date rather than the latest), for the date.

Scores, per field, as the corpus README says: main text from the ``with``/``without`` segments
(TP/FN/FP/TN totalled over pages); title exact after whitespace normalisation (and a case- and
punctuation-blind figure); author: every annotated name present in the extracted author string;
date: the annotated calendar day. For title, author and date only pages with a non-empty
annotation count; an answer that is not the annotation is **wrong**, no answer is **missing**;
precision = correct / answered, recall = correct / annotated, accuracy = correct / annotated.

A fixed fifth of the pages (by a hash of the URL) is held out: rules and thresholds are never to
be tuned on it, and every figure is reported for the development part, the held-out part and
all pages. Example::

    .venv/bin/python benchmarks/realpages_bench.py --write-docs
    .venv/bin/python benchmarks/realpages_bench.py --limit 100 --tools newsmon --out /tmp/rp.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shlex
import sys
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402

DEFAULT_BENCH_DIR = REPO_ROOT.parent / "shared" / "bench" / "real-pages"
SECTION_HEADING = "## Real pages: title, author, date and main text"
# The corpus has no fetch times; a fixed instant keeps runs reproducible. Relative times on
# these archived pages cannot be right whatever the instant: that costs newsmon, not the others.
FETCHED_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FIELDS = ("text", "title", "author", "date")
SPLITS = ("dev", "holdout", "all")


def split_of(url: str) -> str:
    """``holdout`` for a fixed fifth of the pages, chosen by a hash of the URL, else ``dev``."""
    return "holdout" if hashlib.sha1(url.encode("utf-8")).digest()[0] % 5 == 0 else "dev"


_WS = re.compile(r"\s+")


def norm(text: str | None) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def blind(text: str | None) -> str:
    """Case- and punctuation-blind form, for the lenient title figure."""
    kept = "".join(c for c in norm(text).casefold()
                   if not unicodedata.category(c).startswith(("P", "S")))
    return _WS.sub(" ", kept).strip()


_NAME_SPLIT = re.compile(r"\s*(?:[,;&|/]|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)


def author_ok(expected: str, got: str | None) -> bool:
    """Every annotated name (split on , ; & | / and/und/et/y) appears in ``got``."""
    have = norm(got).casefold()
    names = [n for n in (norm(p).casefold() for p in _NAME_SPLIT.split(expected)) if n]
    return bool(have) and all(n in have for n in names)


# -- one tool's answers for one page ---------------------------------------------------------


@dataclass(slots=True)
class Answer:
    text: str | None = None
    title: str | None = None
    author: str | None = None
    date: str | None = None  # YYYY-MM-DD
    error: str | None = None


def _day(value: date | datetime | str | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _newsmon(raw: bytes, url: str) -> Answer:
    from scrapy.http import HtmlResponse

    from crawler.extraction import extract_article
    from crawler.spiders.encoding import response_text

    art = extract_article(response_text(HtmlResponse(url=url, body=raw)), url,
                          fetched_at=FETCHED_AT, site_tz="UTC")
    # The local calendar day where newsmon records one; else the UTC day of the stored time.
    day = getattr(art, "published_date", None) or (
        art.published_at.astimezone(UTC) if art.published_at else None)
    text = "\n".join([*art.highlights, art.body]).strip()
    return Answer(text=text or None, title=art.title, author=", ".join(art.authors) or None,
                  date=_day(day))


def _trafilatura(**options: Any) -> Callable[[bytes, str], Answer]:
    def run(raw: bytes, url: str) -> Answer:
        import trafilatura

        return Answer(text=trafilatura.extract(raw, url=url, **options))
    return run


def _trafilatura_meta(raw: bytes, url: str) -> Answer:
    from trafilatura import extract_metadata

    doc = extract_metadata(raw, default_url=url)
    if doc is None:
        return Answer()
    return Answer(title=doc.title, author=doc.author, date=_day(doc.date))


def _htmldate(extensive: bool, original: bool = False) -> Callable[[bytes, str], Answer]:
    def run(raw: bytes, url: str) -> Answer:
        from htmldate import find_date

        return Answer(date=_day(find_date(raw, url=url, extensive_search=extensive,
                                          original_date=original)))
    return run


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    label: str
    fields: tuple[str, ...]
    run: Callable[[bytes, str], Answer]


TOOLS: tuple[Tool, ...] = (
    Tool("newsmon", "newsmon `extract_article`", FIELDS, _newsmon),
    Tool("trafilatura", "trafilatura `extract`, defaults", ("text",), _trafilatura()),
    Tool("trafilatura-precision", "trafilatura `extract`, `favor_precision=True`", ("text",),
         _trafilatura(favor_precision=True)),
    Tool("trafilatura-meta", "trafilatura `extract_metadata`", ("title", "author", "date"),
         _trafilatura_meta),
    Tool("htmldate-fast", "htmldate `find_date`, fast", ("date",), _htmldate(False)),
    Tool("htmldate-extensive", "htmldate `find_date`, extensive", ("date",), _htmldate(True)),
    Tool("htmldate-original", "htmldate `find_date`, extensive, `original_date=True`",
         ("date",), _htmldate(True, True)),
)


# -- scoring ---------------------------------------------------------------------------------


@dataclass(slots=True)
class FieldScore:
    """Counts for one field: ``correct``/``wrong``/``missing`` for title, author and date
    (pages with an annotation); TP/FN/FP/TN of segments for the main text."""

    correct: int = 0
    wrong: int = 0
    missing: int = 0
    lenient: int = 0  # titles: correct when compared case- and punctuation-blind
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    empty: int = 0  # main text: pages with no text at all

    def metrics(self, name: str) -> dict[str, float]:
        if name == "text":
            p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
            r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
            total = self.tp + self.fn + self.fp + self.tn
            acc = (self.tp + self.tn) / total if total else 0.0
        else:
            answered = self.correct + self.wrong
            annotated = answered + self.missing
            p = self.correct / answered if answered else 0.0
            r = self.correct / annotated if annotated else 0.0
            acc = r
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": p, "recall": r, "f1": f1, "accuracy": acc}


def score_page(fieldname: str, ann: dict[str, Any], got: Answer, s: FieldScore) -> str | None:
    """Add one page to ``s``; return its verdict (``correct``/``wrong``/``missing``), None
    where the page is not scored for this field."""
    if fieldname == "text":
        text = norm(got.text)
        if not text:
            s.empty += 1
        for seg in ann.get("with") or []:
            if norm(seg) and norm(seg) in text:
                s.tp += 1
            else:
                s.fn += 1
        for seg in ann.get("without") or []:
            if norm(seg) and norm(seg) in text:
                s.fp += 1
            else:
                s.tn += 1
        return "empty" if not text else None
    expected = ann.get(fieldname)
    if not expected or not norm(str(expected)):
        return None
    value: str | None = getattr(got, fieldname)
    if not norm(value):
        s.missing += 1
        return "missing"
    if fieldname == "title":
        ok = norm(value) == norm(expected)
        if blind(value) == blind(expected):
            s.lenient += 1
    elif fieldname == "author":
        ok = author_ok(str(expected), value)
    else:
        ok = value == str(expected)[:10]
    if ok:
        s.correct += 1
        return "correct"
    s.wrong += 1
    return "wrong"


@dataclass(slots=True)
class ToolRun:
    tool: Tool
    seconds: float = 0.0
    pages: int = 0
    errors: int = 0
    scores: dict[tuple[str, str], FieldScore] = field(default_factory=dict)

    def score(self, split: str, fieldname: str) -> FieldScore:
        return self.scores.setdefault((split, fieldname), FieldScore())


def load_pages(bench_dir: Path, limit: int | None) -> list[tuple[str, dict[str, Any], bytes]]:
    annotations: dict[str, dict[str, Any]] = json.loads(
        (bench_dir / "annotations.json").read_text(encoding="utf-8"))
    pages = []
    for url, ann in sorted(annotations.items()):
        raw = gzip.decompress((bench_dir / "pages" / ann["file"]).read_bytes())
        pages.append((url, ann, raw))
        if limit is not None and len(pages) >= limit:
            break
    return pages


def page_url(url: str) -> str:
    """The URL the tools are given: the annotated one, or a stand-in for the corpus's
    ``hard::NAME`` keys (pages saved without their address)."""
    return url if url.startswith(("http://", "https://")) else f"http://unknown.invalid/{url}"


def run_tools(pages: Iterable[tuple[str, dict[str, Any], bytes]], tools: Iterable[Tool],
              detail: dict[str, dict[str, Any]] | None = None) -> list[ToolRun]:
    runs = [ToolRun(t) for t in tools]
    for url, ann, raw in pages:
        split = split_of(url)
        for run in runs:
            started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = run.tool.run(raw, page_url(url))
            except Exception as exc:  # a crash is a missing answer, counted apart
                got = Answer(error=f"{type(exc).__name__}: {exc}")
                run.errors += 1
            run.seconds += time.perf_counter() - started
            run.pages += 1
            verdicts = {}
            for fieldname in run.tool.fields:
                for sp in (split, "all"):
                    verdict = score_page(fieldname, ann, got, run.score(sp, fieldname))
                verdicts[fieldname] = verdict
            if detail is not None:
                page = detail.setdefault(url, {"split": split, "expected": {
                    k: ann.get(k) for k in ("title", "author", "date")}})
                page[run.tool.name] = {
                    "title": got.title, "author": got.author, "date": got.date,
                    "text_chars": len(got.text or ""), "error": got.error,
                    "verdicts": verdicts}
    return runs


# -- output ----------------------------------------------------------------------------------


_HEADINGS = {"text": "Main text", "title": "Titles", "author": "Authors",
             "date": "Publication dates (day)"}


def tables(runs: list[ToolRun], splits: Iterable[str] = SPLITS) -> str:
    out: list[str] = []
    for fieldname in FIELDS:
        with_field = [r for r in runs if fieldname in r.tool.fields]
        if not with_field:
            continue
        out.append(f"**{_HEADINGS[fieldname]}**")
        out.append("")
        if fieldname == "text":
            head = ["tool", "part", "F1", "precision", "recall", "accuracy", "empty pages",
                    "pages/s"]
        else:
            head = ["tool", "part", "F1", "precision", "recall", "correct", "wrong", "missing"]
            if fieldname == "title":
                head.append("case/punct-blind correct")
            if fieldname == "date":
                head.append("wrong / dated")
            head.append("pages/s")
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for run in with_field:
            rate = run.pages / run.seconds if run.seconds else 0.0
            for sp in splits:
                s = run.score(sp, fieldname)
                m = s.metrics(fieldname)
                cells = [run.tool.label, sp, f"{m['f1']:.3f}", f"{m['precision']:.3f}",
                         f"{m['recall']:.3f}"]
                if fieldname == "text":
                    cells += [f"{m['accuracy']:.3f}", str(s.empty)]
                else:
                    cells += [str(s.correct), str(s.wrong), str(s.missing)]
                    if fieldname == "title":
                        cells.append(str(s.lenient))
                    if fieldname == "date":
                        dated = s.correct + s.wrong + s.missing
                        cells.append(f"{s.wrong / dated:.1%}" if dated else "—")
                cells.append(f"{rate:.0f}")
                out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def both_empty_count(detail: dict[str, dict[str, Any]]) -> int:
    """Pages where newsmon's text is empty and trafilatura's (defaults) is not."""
    return sum(1 for page in detail.values()
               if "newsmon" in page and "trafilatura" in page
               and page["newsmon"]["text_chars"] == 0 and page["trafilatura"]["text_chars"] > 0)


def summary_lines(runs: list[ToolRun], counts: dict[str, int], both_empty: int | None
                  ) -> list[str]:
    """The lines under the tables: pages per part, newsmon's empty texts, crashes."""
    total = counts["dev"] + counts["holdout"]
    lines = [f"{total} page{'' if total == 1 else 's'} ({counts['dev']} development, "
             f"{counts['holdout']} held out)."]
    if both_empty is not None:
        lines.append(f"Pages where newsmon's text is empty and trafilatura's is not: "
                     f"{both_empty}.")
    lines += [f"{r.tool.name}: {r.errors} pages raised" for r in runs if r.errors]
    return lines


def _shown(path: Path) -> str:
    """``path`` as the docs show it: relative to the repository's folder when beside it."""
    try:
        return f"../{path.resolve().relative_to(REPO_ROOT.parent)}"
    except ValueError:
        return str(path)


def render_section(runs: list[ToolRun], summary: list[str], bench_dir: Path, command: str,
                   note: str, info: RunInfo) -> str:
    """The body of the section, every figure from ``runs``, ``summary`` and ``info`` (a pure
    function: the tests render it from made-up runs)."""
    return (
        f"The corpus and its metric are described in `{_shown(bench_dir)}/README.md` "
        "(trafilatura's evaluation set, outside this repository); this section is written by "
        f"the benchmark from one run, one process. {info.sentence()} The held-out part (a "
        "fixed share of the pages, by a hash of the URL: `benchmarks/realpages_bench.py "
        "split_of`) is never used to tune a rule or a threshold. newsmon's text is its "
        "highlights and body; its date is the calendar day it records (the UTC day of the "
        "stored time where it records no local day); pages/s times each tool's own call."
        + (f" {note.strip()}" if note.strip() else "") + "\n\n"
        + tables(runs) + "\n" + "\n".join(f"- {line}" for line in summary)
        + f"\n\nReproduce:\n\n```\n{command.strip()}\n```\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--tools", default=",".join(t.name for t in TOOLS),
                        help="comma-separated: " + ", ".join(t.name for t in TOOLS))
    parser.add_argument("--out", type=Path, help="write per-page answers and verdicts as JSON")
    parser.add_argument("--note", default="",
                        help="a sentence about the run's conditions, printed in the docs")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the section {SECTION_HEADING!r} of docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not (args.bench_dir / "annotations.json").exists():
        print(f"no corpus at {args.bench_dir} (annotations.json missing)", file=sys.stderr)
        return 2
    wanted = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = set(wanted) - {t.name for t in TOOLS}
    if unknown:
        print(f"unknown tools: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    tools = [t for t in TOOLS if t.name in wanted]
    info = run_info()  # the code measured is the code checked out when the run starts
    pages = load_pages(args.bench_dir, args.limit)
    detail: dict[str, dict[str, Any]] = {}
    runs = run_tools(pages, tools, detail)
    counts = {sp: sum(1 for u, _, _ in pages if split_of(u) == sp) for sp in ("dev", "holdout")}
    both = (both_empty_count(detail) if any(t.name == "newsmon" for t in tools)
            and any(t.name == "trafilatura" for t in tools) else None)
    summary = summary_lines(runs, counts, both)
    print(tables(runs))
    print("\n".join(summary))
    if args.out:
        args.out.write_text(json.dumps(detail, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.write_docs:
        command = ".venv/bin/python benchmarks/realpages_bench.py " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        replace_section(SECTION_HEADING, render_section(
            runs, summary, args.bench_dir, command, args.note, info), DOCS_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
