"""How long the quick commands take from start to exit: ``newsmon --help``, ``status``,
``sources``, ``search`` and ``parse-time``, each a fresh process, on a SQLite database that
``newsmon demo`` filled (15 articles) and the packaged settings (27 sources).

Run from the repository root:

    .venv/bin/python benchmarks/startup_bench.py                  # this checkout
    .venv/bin/python benchmarks/startup_bench.py --checkout DIR   # another copy of the code,
        # e.g. an older commit: git archive COMMIT | tar -x -C DIR

Each command runs ``--runs`` times (default 5) after one run that is not counted, as
``python -m newsmon`` with the checkout first on PYTHONPATH. Printed: the median and best
wall-clock seconds, the median CPU seconds (user + system of the process) and the load
average before and after, since on a shared machine the wall time grows with the load and
the CPU time much less. Nothing is written into the docs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The quick commands must start (and end) within this many seconds.
TARGET = 0.5


@dataclass(frozen=True)
class Timing:
    command: str
    median: float
    best: float
    cpu: float


def env_for(checkout: Path) -> dict[str, str]:
    path = [str(checkout), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def run_timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``argv``; fails on an exit other than 0/3."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):  # status: 3 when no service runs
        raise RuntimeError(f"{argv}: exit {proc.returncode}\n"
                           f"{proc.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(checkout: Path, folder: Path, runs: int) -> list[Timing]:
    env = env_for(checkout)
    newsmon = [sys.executable, "-m", "newsmon"]
    demo = folder / "demo"
    subprocess.run([*newsmon, "demo", "--folder", str(demo)], env=env, cwd=folder,
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    db = ["--database", f"sqlite:///{demo / 'demo.db'}"]
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("newsmon --help", [*newsmon, "--help"]),
        ("newsmon status", [*newsmon, *db, "status"]),
        ("newsmon sources", [*newsmon, *db, "sources"]),
        ("newsmon search navy", [*newsmon, *db, "search", "navy"]),
        ("newsmon parse-time '2 hours ago'", [*newsmon, "parse-time", "2 hours ago"]),
    ]
    out = []
    for label, argv in cases:
        samples = [run_timed(argv, env, folder) for _ in range(runs + 1)][1:]
        walls = [w for w, _ in samples]
        out.append(Timing(label, statistics.median(walls), min(walls),
                          statistics.median(c for _, c in samples)))
    return out


def table(timings: list[Timing]) -> str:
    lines = [f"| command | median s | best s | median CPU s | under {TARGET} s (median) |",
             "| --- | ---: | ---: | ---: | --- |"]
    for t in timings:
        verdict = "" if t.command.startswith("python") else (
            "yes" if t.median < TARGET else "no")
        lines.append(f"| `{t.command}` | {t.median:.3f} | {t.best:.3f} | {t.cpu:.3f} "
                     f"| {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--checkout", type=Path, default=ROOT,
                      help="the code to run (default: this checkout)")
    args.add_argument("--runs", type=int, default=5,
                      help="timed runs of each command (default 5)")
    opts = args.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="newsmon-startup-") as tmp:
        timings = measure(opts.checkout.resolve(), Path(tmp), opts.runs)
    load_after = os.getloadavg()
    print(f"checkout {opts.checkout.resolve()}, Python {sys.version.split()[0]}, "
          f"{opts.runs} runs after one uncounted, "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"{os.cpu_count()} CPUs")
    print()
    print(table(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
