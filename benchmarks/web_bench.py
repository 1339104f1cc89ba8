"""Web app latency under concurrent clients: Today, Story, Article and API search, on SQLite
and PostgreSQL, through ``newsmon serve`` itself (one uvicorn process) over HTTP.

The database is filled with :mod:`benchmarks.search_bench`'s synthetic news (the same
generator: 1,000 articles a day, 20 sources, stories with copies, topics, entities). Then
``--clients`` threads, each with its own HTTP connection, run one shuffled plan of requests —
Today for the last days of the data, story timelines and article pages for random ids, API
searches from search_bench's queries — after one warm-up pass; each request's wall-clock time
is recorded as the client sees it.

Example::

    .venv/bin/python benchmarks/web_bench.py --articles 20000 --write-docs
    .venv/bin/python benchmarks/web_bench.py --articles 100000 --db sqlite
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks import search_bench as sb  # noqa: E402
from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402
from storage.models import Article, Story  # noqa: E402
from storage.store import Store  # noqa: E402
from web.pages import TODAY_TTL_S  # noqa: E402

SECTION_HEADING = "## Web app"
PAGES = ("Today", "Story", "Article", "API search")
TARGET_P95_MS = 200.0
TODAY_DAYS = 3


@dataclass
class Result:
    db: str
    articles: int
    clients: int
    requests: int
    times: dict[str, list[float]]  # page -> milliseconds
    errors: int
    wall_s: float
    today_days: int = TODAY_DAYS
    search_limit: int = sb.SEARCH_LIMIT
    target_ms: float = TARGET_P95_MS
    today_ttl_s: float = TODAY_TTL_S
    today_first_ms: list[float] = field(default_factory=list)  # each day's first build


def _plan(store: Store, reps: int, rng: random.Random) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        max_article = int(conn.execute(select(func.max(Article.id))).scalar_one())
        max_story = int(conn.execute(select(func.max(Story.id))).scalar_one())
    ist = ZoneInfo(sb.IST)
    last_day = (sb.END - timedelta(seconds=1)).astimezone(ist).date()
    days = [last_day - timedelta(days=i) for i in range(TODAY_DAYS)]
    searches = [(q, f) for _, q, f in sb.QUERIES if q is not None and not f]
    plan: list[tuple[str, str]] = []
    for _ in range(reps):
        plan.append(("Today", f"/?day={rng.choice(days).isoformat()}"))
        plan.append(("Story", f"/stories/{rng.randint(1, max_story)}"))
        plan.append(("Article", f"/articles/{rng.randint(1, max_article)}"))
        q, _f = rng.choice(searches)
        plan.append(("API search", "/api/v1/search?" + str(httpx.QueryParams(
            {"q": q, "limit": sb.SEARCH_LIMIT}))))
    rng.shuffle(plan)
    return plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[str], str]:
    config = folder / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": url, "data_dir": str(folder),
                                      "default_timezone": sb.IST}))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "serve", "--port", str(port),
                             "--config", str(config)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"newsmon serve exited: {proc.communicate()[1][-2000:]}")
        try:
            httpx.get(base + "/healthz", timeout=2)
            return proc, base
        except httpx.TransportError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("newsmon serve did not answer in 120 s") from None
            time.sleep(0.2)


def measure(base: str, plan: list[tuple[str, str]], clients: int
            ) -> tuple[dict[str, list[float]], int, float]:
    times: dict[str, list[float]] = {p: [] for p in PAGES}
    errors = 0
    lock = threading.Lock()
    queue = list(plan)

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    page, path = queue.pop()
                started = time.perf_counter()
                r = c.get(path)
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    if r.status_code in (200, 404):  # a random story id may be gone
                        times[page].append(ms)
                    else:
                        errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.perf_counter() - started


def run(db: str, url: str, n: int, reps: int, clients: int, folder: Path) -> Result:
    store = Store.from_url(url)
    try:
        have = store.count_articles()
        if have != n:
            if have:
                raise SystemExit(f"{url} holds {have} articles, not {n}: use an empty database")
            print(f"[{db}] generating {n:,} articles …", file=sys.stderr, flush=True)
            sb.generate(store, n)
        plan = _plan(store, reps, random.Random(5))
        warm = _plan(store, 1, random.Random(6))
        days = sorted({path for page, path in plan if page == "Today"})
    finally:
        store.close()
    proc, base = _serve(url, folder)
    try:
        # Warm-up: each day's Today once (its first build, timed: later ones are cached for
        # TODAY_TTL_S), and one of every other page.
        first_build, _, _ = measure(base, [("Today", d) for d in days], 1)
        measure(base, [w for w in warm if w[0] != "Today"], 1)
        print(f"[{db}] {len(plan)} requests from {clients} clients …", file=sys.stderr,
              flush=True)
        times, errors, wall = measure(base, plan, clients)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return Result(db, n, clients, len(plan), times, errors, wall,
                  today_first_ms=first_build["Today"])


def table(results: list[Result]) -> str:
    lines = ["| page | " + " | ".join(f"{r.db} p50 ms | {r.db} p95 ms" for r in results)
             + " |", "|---|" + "---|---|" * len(results)]
    for page in PAGES:
        cells = []
        for r in results:
            cells += [f"{statistics.median(r.times[page]):.0f}",
                      f"{sb.percentile(r.times[page], 95):.0f}"]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    out = []
    for r in results:
        worst = max(PAGES, key=lambda p: sb.percentile(r.times[p], 95))
        p95 = sb.percentile(r.times[worst], 95)
        met = "met" if p95 < r.target_ms else "**not met**"
        out.append(f"- {r.db}: {r.articles:,} articles, {r.requests:,} requests from "
                   f"{r.clients} concurrent clients in {r.wall_s:.1f} s "
                   f"({r.requests / r.wall_s:.0f} requests/s), {r.errors} errors; the slowest "
                   f"page's p95 ({worst}) is {p95:.0f} ms, target < {r.target_ms:.0f} ms for "
                   f"every page: {met}. Today's first build of a day (before the cache): "
                   f"median {statistics.median(r.today_first_ms):.0f} ms, max "
                   f"{max(r.today_first_ms):.0f} ms over {len(r.today_first_ms)} days.")
    return "\n".join(out)


def render_section(results: list[Result], command: str, info: RunInfo) -> str:
    """The body of the "Web app" section, every figure from ``results`` and ``info``."""
    r = results[0]
    return (
        "`newsmon serve` (one uvicorn process) answering concurrent HTTP clients on the same "
        "host, over search_bench's synthetic articles: Today for one of the data's last "
        f"{r.today_days} days (the digest, each day built at most once per "
        f"{r.today_ttl_s:.0f} s, so the measured ones are served from that cache after the "
        "warm-up built each day once), a random story's timeline, a random article's page, and an "
        f"API search (top {r.search_limit} with snippets) from search_bench's queries, in one "
        "shuffled plan "
        f"after a warm-up pass. {info.sentence()}\n\n"
        f"{table(results)}\n\n{summary(results)}\n\n"
        "Reproduce (from the repository root; PostgreSQL from $NEWSMON_TEST_PG_URL, a "
        "scratch database is created and dropped, or the database --pg-url names, filled "
        "once and reused like --sqlite-path's file):\n\n"
        f"```\n{command}\n```\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sqlite-path", type=Path, default=None,
                        help="default /tmp/newsmon_web_bench_N.db, reused when it holds N")
    parser.add_argument("--pg-url", default=None,
                        help="a PostgreSQL database to use (and keep), reused when it holds "
                        "N; default a scratch database, created and dropped")
    parser.add_argument("--reps", type=int, default=50, help="requests of each page")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the '{SECTION_HEADING}' section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    info = run_info()
    folder = Path(f"/tmp/newsmon_web_bench_{os.getpid()}")
    folder.mkdir(exist_ok=True)
    results = []
    if args.db in ("sqlite", "both"):
        path = args.sqlite_path or Path(f"/tmp/newsmon_web_bench_{args.articles}.db")
        results.append(run("sqlite", f"sqlite:///{path}", args.articles, args.reps,
                           args.clients, folder))
    if args.db in ("postgresql", "both"):
        if args.pg_url:
            results.append(run("postgresql", args.pg_url, args.articles, args.reps,
                               args.clients, folder))
        else:
            gen = sb.scratch_database(False, prefix="newsmon_web_bench")
            url = next(gen)
            try:
                results.append(run("postgresql", url, args.articles, args.reps,
                                   args.clients, folder))
            finally:
                gen.close()
    command = ".venv/bin/python benchmarks/web_bench.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    body = render_section(results, command.strip(), info)
    print(f"{SECTION_HEADING}\n\n{body}")
    if args.write_docs:
        replace_section(SECTION_HEADING, body, DOCS_PATH)


__all__ = ["main"]

if __name__ == "__main__":
    main()
