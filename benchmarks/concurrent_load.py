"""Sources (four by default) crawled at once, each by its own ``newsmon crawl --source``
process, on one database, sharing wire stories (issue 16): is every article stored once,
every copy filed under its story, nothing lost to "database is locked"? And how long does it
take?

    PYTHONPATH=. .venv/bin/python benchmarks/concurrent_load.py [--url DB_URL]... \
        [--sources 4] [--per-source 500] [--shared 200] [--write-docs]

Without ``--url`` it runs on a new SQLite file; PostgreSQL URLs are used as given (the
database is emptied of newsmon's tables first: use a throwaway one)."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from faults.server import FaultServer  # noqa: E402
from faults.wire import crawl_processes, load_check, load_config, load_site  # noqa: E402

from benchmarks._docs import DOCS_PATH, RunInfo, replace_section, run_info  # noqa: E402
from storage import Store  # noqa: E402


def _empty(url: str) -> None:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


def run_once(url: str, folder: Path, sources: int, per_source: int, shared: int
             ) -> dict[str, Any]:
    if make_url(url).get_backend_name() != "sqlite":
        _empty(url)
    with FaultServer(lifetime=3600) as server:
        site = load_site(server, sources, per_source, shared)
        config = load_config(site, folder / "cfg", url)
        Store.from_url(url).close()
        started = time.monotonic()
        procs = crawl_processes(config, list(site.feeds), folder / "logs")
        codes = [p.wait(timeout=3000) for p in procs]
        seconds = time.monotonic() - started
    locked_logs = sum("database is locked" in p.read_text()
                      for p in (folder / "logs").iterdir())
    store = Store.from_url(url, migrate=False)
    try:
        result = load_check(store, site)
    finally:
        store.close()
    total = sum(result.stored.values())
    return {"backend": make_url(url).get_backend_name(), "seconds": seconds, "codes": codes,
            "stored": total, "expected": sources * per_source, "twice": result.twice,
            "whole": shared - len(result.split), "shared": shared,
            "statuses": sorted(set(result.statuses.values())),
            "locked": len(result.locked) + locked_logs, "rate": total / seconds}


SECTION_TITLE = "## Concurrent crawls: {sources} sources, shared wire stories"


def heading(sources: int) -> str:
    """The section's title, from the number of sources the run crawled."""
    return SECTION_TITLE.format(sources=sources)


def render_section(rows: list[dict[str, Any]], sources: int, per_source: int, shared: int,
                   command: str, info: RunInfo) -> str:
    """The body of the section, every figure from ``rows`` (one per database), the run's
    parameters and ``info`` (a pure function: the tests render it from made-up rows)."""
    table = ["| database | wall time | articles stored / expected | stored twice | shared "
             "stories in one story | runs | \"database is locked\" | articles/s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['backend']} | {r['seconds']:.0f} s | {r['stored']} / "
                     f"{r['expected']} | {r['twice']} | {r['whole']} / {r['shared']} | "
                     f"{', '.join(r['statuses'])} (exit {r['codes']}) | {r['locked']} | "
                     f"{r['rate']:.1f} |")
    return "\n".join([
        f"{sources} sources on one local site, each crawled by its own "
        f"`newsmon crawl --source` process, all started at once on one database: "
        f"{sources} × {per_source} articles, {shared} wire stories carried by every source "
        f"(identical copies), the rest each source's own. {info.sentence()}", "", *table, "",
        f"Reproduce: `{command}` (a throwaway PostgreSQL database; the SQLite file must not "
        "exist).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", action="append", default=[])
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--per-source", type=int, default=500)
    parser.add_argument("--shared", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    info = run_info()  # the code measured is the code checked out when the run starts
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        urls = args.url or [f"sqlite:///{Path(tmp) / 'load.db'}"]
        for i, url in enumerate(urls):
            r = run_once(url, Path(tmp) / f"run{i}", args.sources, args.per_source,
                         args.shared)
            print(r, flush=True)
            rows.append(r)
    command = "PYTHONPATH=. .venv/bin/python benchmarks/concurrent_load.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    body = render_section(rows, args.sources, args.per_source, args.shared, command.strip(),
                          info)
    print(f"{heading(args.sources)}\n\n{body}")
    if args.write_docs:
        replace_section(heading(args.sources), body, DOCS_PATH)
    ok = all(r["stored"] == r["expected"] and r["whole"] == r["shared"] and not r["twice"]
             and not r["locked"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
