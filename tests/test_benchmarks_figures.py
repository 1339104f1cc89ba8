"""The benchmark writers put only what a run measured into docs/benchmarks.md.

Each writer's section is rendered, by the writer's own render function, from two made-up
result sets that differ in every figure (and in the parameters and targets the run records):
every sentence or table row that holds a figure must change with them, so a number typed into
a template would be caught. Nothing here writes into the working tree."""

from __future__ import annotations

import random
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import _docs, scale  # noqa: E402
from benchmarks import concurrent_load as cl  # noqa: E402
from benchmarks import extraction_bench as eb  # noqa: E402
from benchmarks import polling_bench as pb  # noqa: E402
from benchmarks import realpages_bench as rp  # noqa: E402
from benchmarks import realweb_bench as rwb  # noqa: E402
from benchmarks import search_bench as sb  # noqa: E402
from benchmarks import stories_eval as se  # noqa: E402
from benchmarks import stories_store_eval as sse  # noqa: E402
from benchmarks import web_bench as wb  # noqa: E402

INFO = (_docs.RunInfo("abc1234", "2026-01-02", "3.11.7", 2),
        _docs.RunInfo("def5678+dirty", "2027-03-04", "3.12.1", 8))
COMMANDS = (".venv/bin/python benchmarks/x.py --size 11", ".venv/bin/python benchmarks/x.py")

# Names that hold digits without being figures (p50, p95, F1, sha1, ...).
_NAME = re.compile(r"\b[A-Za-z_]+\d\w*")
_FIGURE = re.compile(r"\d")


def _fragments(text: str) -> set[str]:
    """Table rows whole, prose split into sentences and clauses."""
    out: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|"):
            out.add(line)
        else:
            out.update(f for f in re.split(r"(?<=[.;])\s+", line) if f)
    return out


def constant_figures(first: str, second: str) -> list[str]:
    """Fragments holding a figure that read the same in both renderings."""
    other = _fragments(second)
    return sorted(f for f in _fragments(first)
                  if _FIGURE.search(_NAME.sub("", f)) and f in other)


def test_the_check_catches_a_typed_figure() -> None:
    def render(x: float) -> str:
        return f"Measured {x:.1f} ms. Expect ±10 % noise.\n| row | {x:.2f} |\n| p50 ms |"

    assert constant_figures(render(1.0), render(2.0)) == ["Expect ±10 % noise."]


def _rng_floats(seed: int, n: int, low: float, high: float) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


# -- search_bench ------------------------------------------------------------------------


def _search_result(k: int, db: str) -> sb.Result:
    seed = 10 * k + len(db)
    return sb.Result(
        db=db, server=f"{'PostgreSQL' if db == 'postgresql' else 'SQLite'} {14 + k}.{k}",
        articles=(1 + k) * 10_000, days=(1 + k) * 10, sources=20 + k,
        body_words=(100 + k, 300 + k), story_max=8 + k, copy_share=0.5 - k / 10,
        load_s=40.0 + 13 * k, size_mb=400.0 + 17 * k, reps=20 + k, limit=20 + 5 * k,
        search={name: _rng_floats(seed + i, 20 + k, 1 + k, 90 + k)
                for i, (name, _, _) in enumerate(sb.QUERIES)},
        digest_build=_rng_floats(seed + 99, 10, 30 + k, 80 + k),
        digest_render=_rng_floats(seed + 98, 10, 30 + k, 50 + k),
        digest_stories=500 + 7 * k, digest_articles=1000 + 3 * k)


def test_search_section_comes_from_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    first = sb.render_section([_search_result(0, "sqlite"), _search_result(0, "postgresql")],
                              COMMANDS[0], INFO[0])
    monkeypatch.setattr(sb, "TARGETS", {"search_p95_ms": 150.0, "digest_ms": 4000.0})
    second = sb.render_section([_search_result(1, "sqlite"), _search_result(1, "postgresql")],
                               COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "on 10,000 synthetic articles: 10 days × 1,000, 20 sources, 100–300-word" in first
    assert "on 20,000 synthetic articles: 20 days × 1,000, 21 sources, 101–301-word" in second
    assert "(SQLite 14.0, PostgreSQL 14.0;" in first and "target p95 < 150 ms" in second
    assert "Run of commit def5678+dirty on 2027-03-04, Python 3.12.1, 8 CPUs." in second


# -- scale -------------------------------------------------------------------------------


def _scale_result(k: int) -> scale.Result:
    seed = 100 + k
    return scale.Result(
        size=(1 + k) * 2000, batch=1000 + 500 * k, ingest_s=10.0 + 3 * k, index_s=7.0 + 2 * k,
        tenths=_rng_floats(seed, 10, 1500, 2500), db_mb=30.0 + 11 * k,
        search={name: _rng_floats(seed + i, 10 + k, 5, 190)
                for i, (name, _, _) in enumerate(sb.QUERIES)},
        digest_ms=_rng_floats(seed + 50, 3, 100, 300), digest_articles=2000 + k,
        digest_stories=1200 + k, dedup_full=_rng_floats(seed + 51, 5, 2, 5),
        dedup_empty=_rng_floats(seed + 52, 5, 1, 3), dedup_cold=_rng_floats(seed + 53, 5, 3, 6),
        writers=1 + k, indexers=2 + k, per_day=5000 - 1000 * k, sources=20 - k,
        body_words=(400 + k, 800 + k), copy_share=0.1 + 0.05 * k)


def test_scale_section_comes_from_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    first = scale.report(_scale_result(0), COMMANDS[0], INFO[0])
    monkeypatch.setattr(scale, "TARGETS", {"ingest": 1500.0, "search_p95": 150.0,
                                           "digest": 4000.0, "dedup_ratio": 3.0,
                                           "dedup_ms": 7.0})
    second = scale.report(_scale_result(1), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "`benchmarks/scale.py --size 2,000`: 2,000 synthetic articles (5,000 a day" in first
    assert "(4,000 a day, 19 sources, 401–801-word bodies, 15% of them" in second
    assert "| within 3× of empty |" in second and "| < 4,000 ms |" in second


def test_the_scale_title_says_the_size() -> None:
    assert scale.heading(2000) == "## Scale: 2,000 articles on PostgreSQL"
    assert scale.heading(1_000_000) == "## Scale: 1,000,000 articles on PostgreSQL"


# -- stories_eval ------------------------------------------------------------------------


def _evaluation(k: int) -> se.Evaluation:
    r = _rng_floats(200 + k, 40, 0.5, 1.0)
    return se.Evaluation(
        articles=226 + k, hand_written=58 + k, groups=57 + k, stories=52 + k,
        words=(149 + k, 278 + k, 210.0 + k), no_signature=k, max_other=(r[0], ("a1", "b1")),
        min_true=(r[1], ("c1", f"c{2 + k}")), threshold=0.6 - k / 20, dup=(r[2], r[3]),
        dup_truth=447 + k, dup_false=k, dup_missed=71 + k, dup_closed=(r[4], r[5]),
        dup_sweep=[(0.5 - k / 20, r[6], r[7]), (0.7 + k / 20, r[8], r[9])],
        candidates=414 + k, candidate_recall=r[10], story_dup=(r[11], r[12]),
        story=(r[13], r[14]), story_truth=478 + k, same_story_pairs=438 + k, exact=r[15],
        exact_unlinked=r[16], per_topic=[("defence", r[17], r[18], r[19]),
                                          ("trade", r[20], r[21], r[22])][: 2 - k],
        off_topic=(r[23], 73 + k),
        threshold_sweep=[(3.0 + k, r[24]), (5.0 + k, r[25]), (7.0 + k, r[26])],
        cost={"signature": (400 + r[27] * 100, 300 + r[28] * 100),
              "classify": (300 + r[29] * 100, 250 + r[30] * 100),
              "entities": (200 + r[31] * 100, 100 + r[32] * 100)})


def test_stories_section_comes_from_the_results() -> None:
    first = se.render_section(_evaluation(0), COMMANDS[0], INFO[0])
    second = se.render_section(_evaluation(1), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "| near-duplicate pairs, band candidates + J ≥ 0.6 |" in first
    assert "| near-duplicate pairs, band candidates + J ≥ 0.55 |" in second
    assert "`classify` (2 topics)" in first and "`classify` (1 topic)" in second
    assert "227 articles (59 hand-written" in second


def _store_results(k: int) -> list[sse.SetResult]:
    r = _rng_floats(250 + k, 12, 0.5, 1.0)
    return [
        sse.SetResult(name="old", articles=226 + k, events=52 + k, story=(r[0], r[1]),
                      truth=478 + k, false=3 + k, missed=16 + k, dup=(r[2], r[3]),
                      topics=r[4], per_article_ms=2.5 + k),
        sse.SetResult(name="dev", articles=150 + k, events=40 + k, story=(r[5], r[6]),
                      truth=200 + k, false=k, missed=9 + k, near_miss=(14 + k, k, 2 * k),
                      per_article_ms=3.5 + k),
    ]


def test_stories_store_section_comes_from_the_results() -> None:
    first = sse.render_section(_store_results(0), COMMANDS[0], INFO[0])
    second = sse.render_section(_store_results(1), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "| dev | 150 | 40 |" in first and "| 0 of 14 (0 article pairs) |" in first
    assert "| old | 227 | 53 |" in second


# -- realweb_bench ------------------------------------------------------------------------


def _realweb_result(k: int) -> rwb.Result:
    rng = random.Random(700 + k)

    def sc() -> eb.Scores:
        return eb.Scores(rng.uniform(0.5, 1), rng.uniform(0.5, 1), rng.uniform(0.5, 1))

    fates = {"ok": 130 + k, "403": 9 + k, "wall": 8 + 2 * k}
    return rwb.Result(pages=181 + k, stored=179 + 2 * k, refused=36 + k, fallbacks=35 + 2 * k,
                      from_page=140 + 3 * k, same_as_extract=138 + 4 * k, crawl_all=sc(),
                      crawl_page=sc(), extract_page=sc(), seconds=rng.uniform(10, 60),
                      fates=fates)


def test_realweb_section_comes_from_the_results() -> None:
    first, second = (rwb.render_section(_realweb_result(k), Path(f"/data/rw{k}"), COMMANDS[k],
                                        INFO[k]) for k in (0, 1))
    assert constant_figures(first, second) == []


# -- extraction_bench --------------------------------------------------------------------


def _extraction_runs(k: int) -> dict[str, eb.Run]:
    rng = random.Random(300 + k)
    runs = {}
    for name, (label, _) in eb.EXTRACTORS.items():
        matches = []
        for _ in range(20 + k):
            tp = rng.uniform(0.6, 1.0)
            fp = rng.uniform(0, 1 - tp)
            matches.append((tp, fp, 1 - tp - fp))
        runs[name] = eb.Run(label, matches, seconds=rng.uniform(0.3, 1.0))
    return runs


def test_extraction_section_comes_from_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    first = eb.render_section(_extraction_runs(0), Path("/data/ae"), COMMANDS[0], INFO[0])
    monkeypatch.setattr(eb, "SHINGLE_TOKENS", 5)
    second = eb.render_section(_extraction_runs(1), Path("/data/ae"), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "(20 pages, `/data/ae`, outside this repository)" in first
    assert "5-token shingles" in second
    assert "FIELD-NOTES" not in first


# -- realpages_bench ---------------------------------------------------------------------


def _tool_runs(k: int) -> list[rp.ToolRun]:
    rng = random.Random(400 + k)
    runs = []
    for tool in rp.TOOLS:
        run = rp.ToolRun(tool, seconds=rng.uniform(10, 100), pages=990 + k, errors=k)
        for split in rp.SPLITS:
            for fieldname in tool.fields:
                s = run.score(split, fieldname)
                for attr in ("correct", "wrong", "missing", "lenient", "tp", "fn", "fp", "tn",
                             "empty"):
                    setattr(s, attr, rng.randint(1, 700))
        runs.append(run)
    return runs


def test_realpages_section_comes_from_the_results() -> None:
    sections = []
    for k in (0, 1):
        runs = _tool_runs(k)
        summary = rp.summary_lines(runs, {"dev": 792 + k, "holdout": 198 + 2 * k}, 1 + k)
        sections.append(rp.render_section(runs, summary, Path(f"/data/rp{k}"), COMMANDS[k],
                                          "", INFO[k]))
    assert constant_figures(*sections) == []
    assert "990 pages (792 development, 198 held out)." in sections[0]
    assert "`/data/rp1/README.md`" in sections[1]
    assert "htmldate-original: 1 pages raised" in sections[1]


# -- concurrent_load ---------------------------------------------------------------------


def _load_rows(k: int) -> list[dict[str, Any]]:
    return [{"backend": backend, "seconds": 183.0 + 10 * k + i, "codes": [0] * (4 + k),
             "stored": 2000 + k, "expected": 2000 + 2 * k, "twice": k, "whole": 200 - k,
             "shared": 200 + k, "statuses": ["ok"], "locked": k, "rate": 10.9 + k + i}
            for i, backend in enumerate(("sqlite", "postgresql"))]


def test_concurrent_load_section_comes_from_the_results() -> None:
    first = cl.render_section(_load_rows(0), 4, 500, 200, COMMANDS[0], INFO[0])
    second = cl.render_section(_load_rows(1), 5, 400, 100, COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "4 sources on one local site" in first and "5 × 400 articles, 100 wire" in second
    assert cl.heading(4) == "## Concurrent crawls: 4 sources, shared wire stories"


def _polling_result(seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    rounds = [{"round": r, "polls": 100 * (seed + 2), "changed": 0 if r < 2 else 5 + seed,
               "crawled": 0 if r < 2 else 4 + seed, "own_cpu_s": round(rnd.uniform(1, 9), 2),
               "children_cpu_s": round(rnd.uniform(10, 90), 2),
               "seconds": round(rnd.uniform(1, 60), 1),
               "unchanged_seconds": round(rnd.uniform(1, 9), 2),
               "rss_mb": round(rnd.uniform(60, 90), 1),
               "server_cpu_s": round(rnd.uniform(1, 5), 2),
               "server_rss_mb": round(rnd.uniform(100, 200), 1)} for r in range(4)]
    return {"feeds": 100 * (seed + 2), "rounds": rounds, "interval": 60 + seed,
            "crawl_start": ["forkserver", "spawn"][seed],
            "changed_share": 0.05 + seed / 100, "max_parallel": 4 + seed,
            "unchanged_ms": round(rnd.uniform(2, 30), 2),
            "changed_ms": round(rnd.uniform(100, 9000), 1),
            "polls_per_s": round(rnd.uniform(10, 99), 1), "subset": 5 + seed,
            "child_unchanged_ms": round(rnd.uniform(3000, 6000), 1),
            "child_polls_per_s": round(rnd.uniform(0.1, 0.9), 2),
            "child_rss_mb": round(rnd.uniform(50, 70), 1)}


def test_polling_section_comes_from_the_results() -> None:
    first = pb.render_section(_polling_result(0), COMMANDS[0], INFO[0])
    second = pb.render_section(_polling_result(1), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "200 RSS feeds on one local server" in first and "300 RSS feeds" in second


def test_polling_section_shows_its_baseline_from_that_run() -> None:
    """The before (``--baseline``) comes from a result that run printed, command and all."""
    results = [{"result": _polling_result(seed), "command": COMMANDS[seed],
                "info": asdict(INFO[seed])} for seed in (0, 1)]
    first = pb.render_section(_polling_result(0), COMMANDS[0], INFO[0], results[1])
    second = pb.render_section(_polling_result(1), COMMANDS[1], INFO[1], results[0])
    assert constant_figures(first, second) == []
    assert f"`crawl_start: spawn` (run of commit {INFO[1].commit}" in first
    assert f"{_polling_result(1)['changed_ms']} ms per changed poll" in first


def _web_result(k: int, db: str) -> wb.Result:
    rng = random.Random(f"{k}{db}")
    return wb.Result(db=db, articles=[20000, 100000][k], clients=[8, 4][k],
                     requests=[200, 400][k],
                     times={p: [rng.uniform(5, 300) for _ in range(30)] for p in wb.PAGES},
                     errors=[0, 3][k], wall_s=[12.5, 31.0][k], today_days=[3, 5][k],
                     search_limit=[20, 10][k], target_ms=[200.0, 150.0][k],
                     today_ttl_s=[30.0, 60.0][k],
                     today_first_ms=[rng.uniform(100, 900) for _ in range([3, 5][k])])


def test_web_section_comes_from_the_results() -> None:
    first = wb.render_section([_web_result(0, "sqlite"), _web_result(0, "postgresql")],
                              COMMANDS[0], INFO[0])
    second = wb.render_section([_web_result(1, "sqlite"), _web_result(1, "postgresql")],
                               COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "| Today |" in first and "8 concurrent clients" in first


# -- the document ------------------------------------------------------------------------


def test_a_section_is_replaced_in_the_given_file_and_the_others_are_kept(tmp_path: Path
                                                                         ) -> None:
    doc = tmp_path / "benchmarks.md"
    original = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    doc.write_text(original, encoding="utf-8")
    heading = scale.heading(2000)
    body = scale.report(_scale_result(0), COMMANDS[0], INFO[0])
    _docs.replace_section(heading, body, doc)
    _docs.replace_section(heading, body, doc)  # a second run replaces, not appends
    text = doc.read_text(encoding="utf-8")
    assert text.count(heading + "\n") == 1
    assert text.startswith(original.rstrip("\n"))  # appended: every other section as it was
    assert (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8") == original


_TOP = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}


def test_the_benchmarks_document_cites_only_files_the_repository_has() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    missing = []
    for span in re.findall(r"`([^`\n]+)`", text):
        for token in span.split():
            path = token.strip("(),;:")
            if "/" in path and path.split("/")[0] in _TOP and not (ROOT / path).exists():
                missing.append(path)
    assert missing == []
    assert "FIELD-NOTES" not in text  # a file outside the repository (the lead's notes)


# -- alerts_bench ------------------------------------------------------------------------


def test_alerts_section_comes_from_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import alerts_bench as ab

    def result(k: int) -> ab.Result:
        return ab.Result(articles=500 + k, batch=50 + k, watchlists=200 + k, rounds=3 + k,
                         plain_s=_rng_floats(400 + k, 3 + k, 2, 5),
                         alerts_s=_rng_floats(410 + k, 3 + k, 2.5, 6), alerts=150 + k,
                         latencies=_rng_floats(420 + k, 40 + k, 0.1, 3))

    first = ab.render_section(result(0), COMMANDS[0], INFO[0])
    monkeypatch.setattr(ab, "TARGETS", {"latency_p95_s": 3.0, "slowdown": 0.2})
    second = ab.render_section(result(1), COMMANDS[1], INFO[1])
    assert constant_figures(first, second) == []
    assert "`benchmarks/alerts_bench.py`: 500 synthetic articles" in first
    assert "p95 < 3 s" in second and "≤ 20% slower" in second
