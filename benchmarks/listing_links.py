"""Time link finding on listing pages of 500 to 50,000 article links (crawler.spiders.links).

Run from the repository root:

    .venv/bin/python benchmarks/listing_links.py

Each page is one <ul> of links (the shape that made the per-link card search quadratic) or
one card per link with a "2 hours ago" label; the cap is set above the link count, so every
link is examined and its card searched, then the default 2,000-link cap on the largest page.
Each time is the best of three runs.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parsel import Selector  # noqa: E402

from config.schema import Source  # noqa: E402
from crawler.spiders.links import find_links  # noqa: E402
from crawler.spiders.listing import DEFAULT_MAX_LINKS, ListingSpider  # noqa: E402

BASE = "http://example.com/defence/"
SIZES = (500, 4000, 20_000, 50_000)  # links on a page
RUNS = 3  # each time is the best of this many


def page(n: int, cards: bool) -> Selector:
    label = "<span>2 hours ago</span>" if cards else ""
    tag = "div" if cards else "li"
    rows = "".join(f'<{tag}><a href="/news/convoy-route-{i}-reopened-after-landslide-{i:06d}'
                   f'.html">Convoy route {i} reopened after the landslide</a>{label}</{tag}>'
                   for i in range(n))
    return Selector(text=f"<html><body><main><ul>{rows}</ul></main></body></html>")


def best(sel: Selector, cap: int, spider: ListingSpider) -> tuple[float, int]:
    now = datetime.now(UTC)
    times, kept = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        found = find_links(sel, BASE, None, cap, lambda card: spider._card_time(card, now))
        times.append(time.perf_counter() - start)
        kept = len(found.links)
    return min(times), kept


def main() -> None:
    spider = ListingSpider(source=Source.model_validate(
        {"name": "bench", "kind": "listing", "urls": [BASE]}))
    print("| Links | Page shape | Cap | Links kept | Time (s) | µs per link |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in SIZES:
        for cards in (False, True):
            secs, kept = best(page(n, cards), n, spider)
            print(f"| {n:,} | {'cards with a label' if cards else 'one list'} | {n:,} | "
                  f"{kept:,} | {secs:.2f} | {secs / n * 1e6:.0f} |")
    n = max(SIZES)
    secs, kept = best(page(n, False), DEFAULT_MAX_LINKS, spider)
    print(f"| {n:,} | one list | {DEFAULT_MAX_LINKS:,} (default) | {kept:,} | {secs:.2f} | "
          f"{secs / n * 1e6:.0f} |")


if __name__ == "__main__":
    main()
