"""benchmarks/scale.py at a small size, as CI runs it: it completes and reports every figure
(no timing assertions; the full size is run by hand, see docs/benchmarks.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_scale_benchmark_runs_at_a_small_size(tmp_path: Path) -> None:
    from conftest import _pg_available

    why = _pg_available()
    if why:
        pytest.skip(why)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--size", "2000", "--reps",
         "1", "--probes", "5", "--writers", "2", "--indexers", "2"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("## Scale: 2,000 articles on PostgreSQL\n")
    assert re.search(r"\| ingest through the storage layer \(search indexing deferred\) \| "
                     r"[\d,]+ articles/s \([\d,]+ s\) \|", out), out
    assert re.search(r"\| search index built after the load \(`newsmon db index`, "
                     r"2 processes\) \| "
                     r"[\d,]+ articles/s \([\d,]+ s\) \|", out), out
    assert re.search(r"\| stored and searchable, both steps one after the other \| "
                     r"[\d,]+ articles/s \|", out), out
    assert re.search(r"\| search, 14 queries × 1 \| p50 [\d.]+ ms, p95 [\d.]+ ms \|", out), out
    assert re.search(r"\| digest of one day \(2,000 articles, [\d,]+ stories\) \| [\d,]+ ms \|",
                     out), out
    assert re.search(r"\| dedup check per article \| p50 [\d.]+ ms \(the same probes on an "
                     r"empty database [\d.]+ ms, "
                     r"× [\d.]+; their first pass [\d.]+ ms\) \|", out), out
    assert re.search(r"\| word \+ entity \| [\d.]+ \| [\d.]+ \|", out), out
    assert "by 2 writer processes at once" in out
    assert "2,000 stored" in done.stderr
    assert "writer 1: 1,000 of 1,000 stored" in done.stderr
