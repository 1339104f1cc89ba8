"""Cost of re-crawling an unchanged site: requests and bytes of a second crawl against the first.

Serves the bundled sample site on 127.0.0.1, then runs the real ``newsmon crawl`` twice over
all of its sources into a fresh SQLite database. The server counts what it answered (requests
and body bytes); ``crawl_runs`` says what the crawler counted. On the second pass the feeds and
sitemaps come back ``304 Not Modified`` (ETag / Last-Modified kept per URL in the database) and
stored article URLs are not fetched again, so only robots.txt, the 304s and listing pages
(which have no validators to send) cost anything. Target: the second pass costs at most 10%
of the first's bytes.

Example::

    .venv/bin/python benchmarks/recrawl_bench.py            # prints a table and JSON
    .venv/bin/python benchmarks/recrawl_bench.py --json     # JSON only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
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
# Issue target: a second crawl of an unchanged site costs at most this share of the first's bytes.
TARGET_BYTES_RATIO = 0.10


def write_settings(folder: Path, base_url: str, database_url: str) -> Path:
    """Settings for the sample site: every bundled source, no delays (a local server)."""
    (folder / "sources.yaml").write_text(render_sources(base_url), encoding="utf-8")
    settings = {
        "database_url": database_url,
        "data_dir": str(folder),
        "crawl": {"download_delay": 0, "autothrottle": False, "source_timeout": "2m"},
        "sources_file": "sources.yaml",
    }
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def one_pass(site: SampleSite, config: Path, store: SchedulerStore) -> dict[str, Any]:
    site.reset()
    before = {r.id for r in store.runs(None, 10_000)}
    started = time.monotonic()
    proc = subprocess.run([NEWSMON, "crawl", "--config", str(config)], capture_output=True,
                          text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"newsmon crawl failed ({proc.returncode}):\n{proc.stderr}")
    runs = [r for r in store.runs(None, 10_000) if r.id not in before]
    statuses = Counter(r.status for r in runs)
    by_status = Counter(rec.status for rec in site.records)
    return {
        "server_requests": sum(site.requests.values()),
        "server_bytes": site.bytes_sent,
        "server_statuses": dict(sorted(by_status.items())),
        "crawler_requests": sum(r.requests for r in runs),
        "crawler_bytes": sum(r.bytes for r in runs),
        "new": sum(r.new for r in runs),
        "updated": sum(r.updated for r in runs),
        "unchanged": sum(r.unchanged for r in runs),
        "run_statuses": dict(statuses),
        "seconds": round(seconds, 1),
        "paths": dict(sorted(site.requests.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsmon-recrawl-") as tmp, SampleSite() as site:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        config = write_settings(folder, site.base_url, url)
        store = Store.from_url(url)
        sched = SchedulerStore(store.engine)
        first = one_pass(site, config, sched)
        second = one_pass(site, config, sched)
        store.close()
    ratio_bytes = second["server_bytes"] / first["server_bytes"] if first["server_bytes"] else 0
    ratio_requests = (second["server_requests"] / first["server_requests"]
                      if first["server_requests"] else 0)
    result = {"first": first, "second": second, "bytes_ratio": round(ratio_bytes, 4),
              "requests_ratio": round(ratio_requests, 4),
              "target_met": ratio_bytes <= TARGET_BYTES_RATIO}
    if not args.json:
        print("| pass | requests (server) | body bytes (server) | requests (crawler) | "
              "bytes (crawler) | new | unchanged | seconds |")
        print("|---|---|---|---|---|---|---|---|")
        for name, p in (("first", first), ("second", second)):
            print(f"| {name} | {p['server_requests']} | {p['server_bytes']:,} | "
                  f"{p['crawler_requests']} | {p['crawler_bytes']:,} | {p['new']} | "
                  f"{p['unchanged']} | {p['seconds']} |")
        print(f"\nsecond/first: bytes {ratio_bytes:.1%}, requests {ratio_requests:.1%} "
              f"(target: bytes <= {TARGET_BYTES_RATIO:.0%}: "
              f"{'met' if ratio_bytes <= TARGET_BYTES_RATIO else 'NOT met'})")
        print("second pass, by path:", json.dumps(second["paths"], indent=1))
    print(json.dumps({k: v for k, v in result.items()}, indent=None if not args.json else 2,
                     default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
