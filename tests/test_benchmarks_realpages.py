"""benchmarks/realpages_bench.py: its scoring follows the corpus README, and a run on a small
corpus written here (the real one lives outside the repository) reports every tool."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import realpages_bench as rp  # noqa: E402

PAGE = """<html><head><title>Navy signs corvette deal | Example Times</title>
<meta property="og:title" content="Navy signs corvette deal">
<meta name="author" content="Asha Rao">
<meta property="article:published_time" content="2024-03-05T09:00:00+05:30">
</head><body><header><nav>Home · World · Sport</nav></header>
<article><h1>Navy signs corvette deal</h1>
<p>The defence ministry signed a contract for six next-generation corvettes on Tuesday,
officials said, in the largest surface order in a decade.</p>
<p>The ships will be built at Garden Reach Shipbuilders in Kolkata over eight years.</p>
</article><footer>Subscribe to our newsletter for more stories like this one.</footer>
</body></html>"""


def test_author_needs_every_annotated_name() -> None:
    assert rp.author_ok("Asha Rao", "Asha Rao, PTI")
    assert rp.author_ok("Roland Brockmann und Sebastian Drescher",
                        "Roland Brockmann, Sebastian Drescher")
    assert not rp.author_ok("Roland Brockmann und Sebastian Drescher", "Roland Brockmann")
    assert not rp.author_ok("Asha Rao", None)


def test_answers_are_correct_wrong_or_missing_and_unannotated_pages_are_not_scored() -> None:
    ann = {"title": "Navy signs deal", "date": "2024-03-05", "author": ""}
    s = rp.FieldScore()
    assert rp.score_page("title", ann, rp.Answer(title=" Navy  signs deal"), s) == "correct"
    assert rp.score_page("title", ann, rp.Answer(title="navy signs deal!"), s) == "wrong"
    assert rp.score_page("title", ann, rp.Answer(), s) == "missing"
    assert (s.correct, s.wrong, s.missing, s.lenient) == (1, 1, 1, 2)
    assert rp.score_page("author", ann, rp.Answer(author="Someone"), rp.FieldScore()) is None
    d = rp.FieldScore()
    rp.score_page("date", ann, rp.Answer(date="2024-03-04"), d)
    assert d.metrics("date")["precision"] == 0.0 and d.wrong == 1


def test_text_segments_count_as_the_readme_says() -> None:
    ann = {"with": ["six next-generation corvettes", "not in the page"],
           "without": ["Subscribe to our newsletter", "Home · World"]}
    s = rp.FieldScore()
    rp.score_page("text", ann, rp.Answer(text="signed for six  next-generation\ncorvettes. "
                                         "Subscribe to our newsletter"), s)
    assert (s.tp, s.fn, s.fp, s.tn) == (1, 1, 1, 1)


def test_the_held_out_part_is_a_stable_fifth() -> None:
    urls = [f"https://example.com/a/{i}" for i in range(2000)]
    held = [u for u in urls if rp.split_of(u) == "holdout"]
    assert 300 < len(held) < 500
    assert held == [u for u in urls if rp.split_of(u) == "holdout"]


def test_a_run_on_a_small_corpus_scores_every_tool(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "annotations.json").write_text(json.dumps({"https://example.com/navy": {
        "file": "a.html.gz", "title": "Navy signs corvette deal", "author": "Asha Rao",
        "date": "2024-03-05", "with": ["six next-generation corvettes"],
        "without": ["Subscribe to our newsletter"]}}))
    out = tmp_path / "detail.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "realpages_bench.py"),
                           "--bench-dir", str(tmp_path), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    for tool in rp.TOOLS:
        assert tool.label in done.stdout
    page = json.loads(out.read_text())["https://example.com/navy"]
    assert page["newsmon"]["verdicts"] == {"text": None, "title": "correct",
                                          "author": "correct", "date": "correct"}
    assert page["htmldate-extensive"]["date"] == "2024-03-05"
    assert "1 page (1 development, 0 held out)" in done.stdout or \
        "1 page (0 development, 1 held out)" in done.stdout
