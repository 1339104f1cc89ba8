"""Alerts: latency from an article's commit to the webhook's receipt, and how much 200
watchlists slow ingest through the Store, measured in one run.

Synthetic articles (enriched as the crawl enriches them: topics, entities, signatures) are
stored in batches with ``storage.batch.store_batch`` and the crawl's matcher, as the
StoragePipeline does; with watchlists, ``AlertEvaluator.after_write`` follows each commit (as
in the pipeline) and a ``DeliveryWorker`` thread posts to a local webhook receiver (a process
of its own). Ingest runs without and with the watchlists alternate on fresh databases (SQLite
files, or PostgreSQL databases with ``--postgres``); the slowdown compares their medians.
Latency: receipt time at the receiver minus the time the article's batch committed.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from alerts.delivery import DeliveryWorker  # noqa: E402
from alerts.evaluate import AlertEvaluator  # noqa: E402
from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402
from benchmarks.dedup_cost import drop_database, fresh_database  # noqa: E402
from config.schema import Settings  # noqa: E402
from crawler.dedup import SimilarityMatcher  # noqa: E402
from crawler.entities import Gazetteer  # noqa: E402
from crawler.pipelines.classify import enrich  # noqa: E402
from crawler.topics import Taxonomy  # noqa: E402
from storage.article import ArticleRecord  # noqa: E402
from storage.batch import store_batch  # noqa: E402
from storage.store import Store  # noqa: E402

SECTION_HEADING = "## Alerts"
TARGETS = {"latency_p95_s": 2.0, "slowdown": 0.10}
_VOCAB = ("missile export contract navy army tariff steel trade council acquisition frigate "
          "submarine artillery drone radar ministry treaty quota levy duty customs subsidy "
          "battery launcher aircraft engine satellite border agreement talks summit minister "
          "budget order delivery trial shipyard factory supply chain component deal").split()
_FILLER = ("the of and a to in said on for with that by as at from was were its an it be "
           "this which officials year new first last two three week month").split()


# A Zipf-like vocabulary: the news words first, then made-up ones, each rarer than the last.
_LEXICON = _VOCAB + [f"{a}{b}{c}" for a in "bdfgklmnprstvz" for b in "aeiou"
                     for c in ("lan", "rek", "mos", "tar", "vin", "dul", "ko", "pri", "sel",
                               "ga", "nur", "fet", "bo", "lim", "ras", "dek", "wen", "jot",
                               "cam", "hus")]
_WEIGHTS = [1 / (rank + 10) for rank in range(len(_LEXICON))]


def _body(rng: random.Random, words: int) -> str:
    drawn = rng.choices(_LEXICON, weights=_WEIGHTS, k=words)
    out = [w if rng.random() < 0.3 else rng.choice(_FILLER) for w in drawn]
    return " ".join(out).capitalize() + "."


def make_records(n: int, seed: int, taxonomy: Taxonomy, gazetteer: Gazetteer
                 ) -> list[ArticleRecord]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    recs = []
    for i in range(n):
        title = " ".join(rng.choices(_LEXICON, weights=_WEIGHTS, k=7)).capitalize() + f" {i}"
        rec = ArticleRecord(
            url_key=f"wire{i % 20}.example.com/news/{seed}/{i}",
            canonical_url=f"https://wire{i % 20}.example.com/news/{seed}/{i}",
            url=f"https://wire{i % 20}.example.com/news/{seed}/{i}", source=f"wire{i % 20}",
            title=title, body=_body(rng, rng.randint(300, 700)), fetched_at=now,
            published_at=now - timedelta(minutes=rng.randint(0, 600)))
        enrich(rec, taxonomy, gazetteer)
        recs.append(rec)
    return recs


def make_watchlists(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    rare = _LEXICON[len(_LEXICON) // 2:]  # words a few articles in a hundred carry
    for i in range(n):
        a, b, c, d = rng.sample(rare, 4)
        query = f"{a} AND ({b} OR {c})" if i % 3 else f"{a} {b} -{d}"
        out.append({"name": f"w{i:03d}", "query": query, "min_sources": rng.choice([1, 2, 3]),
                    "notify": ["hook"]})
    return out


_RECEIVER = """
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Gone with the benchmark's process: its end closes our stdin.
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        at = time.time()
        sys.stdout.write(json.dumps([at, json.loads(body).get("article_id")]) + "\\n")
        sys.stdout.flush()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
sys.stdout.write(str(server.server_address[1]) + "\\n")
sys.stdout.flush()
server.serve_forever()
"""


class _Receiver:
    """The webhook's receiver in a process of its own, as the outside world is: in the
    benchmark's process its request handling would compete with the ingest for the GIL,
    counted as ingest time and delaying the receipts it times."""

    def __init__(self) -> None:
        self.received: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen([sys.executable, "-c", _RECEIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/hook"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            at, article_id = json.loads(line)
            with self._lock:
                self.received.append((at, article_id))

    def take(self, expected: int, timeout: float = 10.0) -> list[tuple[float, int]]:
        """The receipts since the last call, once ``expected`` have arrived (or timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            out, self.received[:] = list(self.received), []
        return out

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def ingest(records: list[ArticleRecord], batch: int, url: str, settings: Settings | None,
           matcher: SimilarityMatcher) -> tuple[float, dict[int, float], int]:
    """Store ``records`` into the fresh database at ``url``; return seconds, article id ->
    commit time, alerts written."""
    store = Store.from_url(url)
    evaluator = AlertEvaluator(settings.watchlists) if settings is not None else None
    worker = DeliveryWorker(store, settings).start() if settings is not None else None
    committed: dict[str, float] = {}
    alerts = 0
    start = time.perf_counter()
    for i in range(0, len(records), batch):
        chunk = records[i:i + batch]
        result = store_batch(store, chunk, matcher)
        at = time.time()
        for rec in chunk:
            committed[rec.url_key] = at
        if evaluator is not None:
            alerts += evaluator.after_write(store, chunk, result.outcomes)
    seconds = time.perf_counter() - start
    if worker is not None:
        worker.stop()
    by_id: dict[int, float] = {}
    for key, at in committed.items():
        art = store.article_by_url(key)
        if art is not None:
            by_id[art.id] = at
    store.close()
    return seconds, by_id, alerts


@dataclass
class Result:
    articles: int
    batch: int
    watchlists: int
    rounds: int
    plain_s: list[float]
    alerts_s: list[float]
    alerts: int
    latencies: list[float]
    backend: str = "SQLite"

    @property
    def slowdown(self) -> float:
        return statistics.median(self.alerts_s) / statistics.median(self.plain_s) - 1


def _pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run(articles: int, batch: int, watchlists: int, rounds: int,
        postgres: str | None = None) -> Result:
    taxonomy, gazetteer = Taxonomy.load(None), Gazetteer.load(None)
    receiver = _Receiver()
    settings = Settings.model_validate({
        "watchlists": make_watchlists(watchlists, 7), "notify": {"hook": {
            "webhook": receiver.url}}, "alerts": {"poll_interval": "0.2s"}})
    plain, with_alerts, latencies, total_alerts = [], [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            records = make_records(articles, 100 + r, taxonomy, gazetteer)
            matcher = SimilarityMatcher(gazetteer)
            for kind in (("plain", "alerts") if r % 2 == 0 else ("alerts", "plain")):
                receiver.take(0, timeout=0)
                url, name = (f"sqlite:///{Path(tmp) / f'{kind}{r}.db'}", None) if postgres \
                    is None else fresh_database(postgres)
                try:
                    seconds, committed, alerts = ingest(
                        records, batch, url, settings if kind == "alerts" else None, matcher)
                finally:
                    if postgres is not None:
                        drop_database(postgres, name)
                (with_alerts if kind == "alerts" else plain).append(seconds)
                if kind == "alerts":
                    total_alerts += alerts
                    latencies += [at - committed[article_id]
                                  for at, article_id in receiver.take(alerts)
                                  if article_id in committed]
    receiver.close()
    return Result(articles, batch, watchlists, rounds, plain, with_alerts, total_alerts,
                  latencies, "SQLite" if postgres is None else "PostgreSQL")


def render_section(r: Result, command: str, info: RunInfo) -> str:
    """The section's body, every figure from ``r`` and ``info``."""
    lat_ok = _pct(r.latencies, 0.95) < TARGETS["latency_p95_s"] if r.latencies else False
    slow_ok = r.slowdown <= TARGETS["slowdown"]
    med_plain, med_alerts = statistics.median(r.plain_s), statistics.median(r.alerts_s)
    lat = (f"| commit → webhook receipt, p50 / p95 / max | "
           f"{_pct(r.latencies, 0.5):.2f} / {_pct(r.latencies, 0.95):.2f} / "
           f"{max(r.latencies):.2f} s ({len(r.latencies):,} alerts) | "
           f"p95 < {TARGETS['latency_p95_s']:g} s | {'met' if lat_ok else 'missed'} |"
           if r.latencies else "| commit → webhook receipt | no alert was delivered | | missed |")
    return (
        f"`benchmarks/alerts_bench.py`: {r.articles:,} synthetic articles (enriched as the "
        f"crawl enriches them) stored through the Store in batches of {r.batch} with the "
        f"crawl's matcher, on {r.backend}, in {r.rounds} rounds alternating a run without "
        f"watchlists and one with {r.watchlists} watchlists (evaluated after each commit as "
        f"in the StoragePipeline, delivered by the delivery worker thread to a local webhook "
        f"receiver in its own process); {r.alerts:,} alerts were written in all. "
        f"{info.sentence()}\n\n"
        "| measure | result | target | |\n|---|---|---|---|\n"
        f"{lat}\n"
        f"| ingest, median of {r.rounds} | {med_plain:.2f} s without, {med_alerts:.2f} s with "
        f"{r.watchlists} watchlists: {r.slowdown:+.1%} | ≤ {TARGETS['slowdown']:.0%} slower | "
        f"{'met' if slow_ok else 'missed'} |\n\n"
        f"Reproduce:\n\n```\n{command}\n```\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--watchlists", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL",
                        help="run on fresh PostgreSQL databases made through URL (e.g. "
                        "postgresql://postgres@127.0.0.1/test) instead of SQLite files; "
                        f"written to '{SECTION_HEADING} (PostgreSQL)'")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the '{SECTION_HEADING}' section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    info = run_info()
    result = run(args.articles, args.batch, args.watchlists, args.rounds, args.postgres)
    heading = SECTION_HEADING if args.postgres is None else f"{SECTION_HEADING} (PostgreSQL)"
    command = ".venv/bin/python benchmarks/alerts_bench.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    body = render_section(result, command.strip(), info)
    print(f"{heading}\n\n{body}")
    if args.write_docs:
        replace_section(heading, body, DOCS_PATH)


if __name__ == "__main__":
    main()
