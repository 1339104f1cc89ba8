"""Soak the real service: RSS, CPU, threads and open files of ``newsmon run`` over many runs.

Serves the bundled sample site on 127.0.0.1 and starts ``newsmon run`` with every sample
source on a one-second interval, until ``--runs`` runs (default 200) have finished. Every
second it samples the service's main process from /proc (VmRSS, utime+stime, threads, open
file descriptors) — the crawls themselves run in child processes that exit, so this is what
stays resident for months. RSS growth is measured from the end of warm-up (the first 10% of
the runs) to the end, as medians of the surrounding samples to smooth out the sawtooth of the
allocator. Then an idle phase: the same service with hourly intervals, sampled for
``--idle-seconds`` after its first runs, gives the CPU cost of doing nothing (heartbeats).
Target: RSS growth after warm-up at most 10%.

Example::

    .venv/bin/python benchmarks/service_soak.py --runs 200 --idle-seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from crawler.sample_site import SampleSite, render_sources  # noqa: E402
from storage import Store  # noqa: E402
from storage.scheduler_store import SchedulerStore  # noqa: E402

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    t: float
    runs: int
    rss_mb: float
    cpu_s: float
    threads: int
    fds: int


def sample(pid: int, t0: float, runs: int) -> Sample:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    threads = int(fields[17])
    rss = 0.0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return Sample(round(time.monotonic() - t0, 1), runs, round(rss, 2), cpu, threads, fds)


def write_settings(folder: Path, base_url: str, database_url: str, interval: str,
                   max_parallel: int) -> Path:
    data = yaml.safe_load(render_sources(base_url))
    for source in data["sources"]:
        source["schedule"] = {"interval": interval}
        source["enabled"] = True
    (folder / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = {
        "database_url": database_url,
        "data_dir": str(folder),
        "crawl": {"download_delay": 0, "autothrottle": False, "source_timeout": "2m"},
        "scheduler": {"max_parallel": max_parallel},
        "sources_file": "sources.yaml",
    }
    path = folder / f"settings-{interval}.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def finished_runs(sched: SchedulerStore) -> int:
    return sum(1 for r in sched.runs(None, 100_000) if r.status != "running")


def soak(config: Path, sched: SchedulerStore, runs: int, log: Path) -> list[Sample]:
    with log.open("ab") as fh:
        proc = subprocess.Popen([NEWSMON, "run", "--config", str(config)], stdout=fh,
                                stderr=subprocess.STDOUT)
        samples: list[Sample] = []
        t0 = time.monotonic()
        try:
            done = 0
            while done < runs:
                time.sleep(1)
                if proc.poll() is not None:
                    raise SystemExit(f"the service exited with {proc.returncode}; see {log}")
                done = finished_runs(sched)
                samples.append(sample(proc.pid, t0, done))
                print(f"\r{done}/{runs} runs, RSS {samples[-1].rss_mb:.1f} MB", end="",
                      file=sys.stderr, flush=True)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
            print(file=sys.stderr)
    return samples


def idle(config: Path, sched: SchedulerStore, seconds: float, log: Path) -> dict[str, Any]:
    before = finished_runs(sched)
    with log.open("ab") as fh:
        proc = subprocess.Popen([NEWSMON, "run", "--config", str(config)], stdout=fh,
                                stderr=subprocess.STDOUT)
        try:
            t0 = time.monotonic()
            # The hourly schedule starts with one run per new schedule; wait for them.
            while sched.states() and any(
                    r.status == "running" for r in sched.runs(None, 50)) or \
                    finished_runs(sched) == before:
                time.sleep(0.5)
                if time.monotonic() - t0 > 120:
                    break
            time.sleep(2)
            start = sample(proc.pid, t0, 0)
            time.sleep(seconds)
            end = sample(proc.pid, t0, 0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
    cpu = end.cpu_s - start.cpu_s
    return {"seconds": seconds, "cpu_s": round(cpu, 3),
            "cpu_percent_of_one_core": round(100 * cpu / seconds, 3),
            "rss_mb": end.rss_mb, "threads": end.threads, "fds": end.fds}


def summarise(samples: list[Sample], runs: int) -> dict[str, Any]:
    warm_at = next(i for i, s in enumerate(samples) if s.runs >= max(1, runs // 10))

    def around(i: int) -> list[Sample]:
        return samples[max(0, i - 5): i + 5]

    warm = statistics.median(s.rss_mb for s in around(warm_at))
    end = statistics.median(s.rss_mb for s in samples[-10:])
    after = samples[warm_at:]
    wall = samples[-1].t - samples[0].t
    cpu = samples[-1].cpu_s - samples[0].cpu_s
    return {
        "runs": samples[-1].runs,
        "wall_s": round(wall, 1),
        "rss_mb_start": samples[0].rss_mb,
        "rss_mb_after_warmup": round(warm, 2),
        "rss_mb_end": round(end, 2),
        "rss_mb_max_after_warmup": max(s.rss_mb for s in after),
        "rss_growth_after_warmup": round((end - warm) / warm, 4),
        "threads_after_warmup": [min(s.threads for s in after), max(s.threads for s in after)],
        "fds_after_warmup": [min(s.fds for s in after), max(s.fds for s in after)],
        "fds_end": samples[-1].fds,
        "service_cpu_s": round(cpu, 2),
        "service_cpu_percent_of_one_core": round(100 * cpu / wall, 2) if wall else 0,
        "service_cpu_ms_per_run": round(1000 * cpu / max(1, samples[-1].runs), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--max-parallel", type=int, default=3)
    parser.add_argument("--samples", type=Path, default=None,
                        help="also write every sample as JSON lines here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsmon-soak-") as tmp, SampleSite() as site:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'soak.db'}"
        store = Store.from_url(url)
        sched = SchedulerStore(store.engine)
        log = folder / "service.log"
        busy = write_settings(folder, site.base_url, url, "1s", args.max_parallel)
        samples = soak(busy, sched, args.runs, log)
        result = summarise(samples, args.runs)
        statuses: dict[str, int] = {}
        for r in sched.runs(None, 100_000):
            statuses[r.status] = statuses.get(r.status, 0) + 1
        result["run_statuses"] = statuses
        if args.idle_seconds > 0:
            quiet = write_settings(folder, site.base_url, url, "1h", args.max_parallel)
            result["idle"] = idle(quiet, sched, args.idle_seconds, log)
        store.close()
        if args.samples is not None:
            args.samples.write_text("".join(json.dumps(asdict(s)) + "\n" for s in samples))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
