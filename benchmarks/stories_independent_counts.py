"""Print the counts of the independently written stories set (benchmarks/data/stories_independent).

Prints counts only, never the held-out events or their text: whoever builds the linking rules
may run it. Usage: python benchmarks/stories_independent_counts.py
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ARTICLES = Path(__file__).resolve().parent / "data" / "stories_independent" / "articles.jsonl"


def split_key(event: str, near_miss_of: str | None) -> str:
    """The label that decides an event's part: a near miss goes with the event it resembles."""
    return near_miss_of or event


def held_out(event: str, near_miss_of: str | None) -> bool:
    """True for events of the held-out part (sha1 of the split key, first byte % 3 == 0)."""
    return hashlib.sha1(split_key(event, near_miss_of).encode("utf-8")).digest()[0] % 3 == 0


def counts(path: Path = ARTICLES) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        events[r["event"]].append(r)
    near = {e: v[0].get("near_miss_of") for e, v in events.items()}
    held = [e for e in events if held_out(e, near[e])]
    words = sorted(len(r["body"].split()) for r in rows)
    return {
        "articles": len(rows),
        "events": len(events),
        "reports_per_event": dict(sorted(Counter(len(v) for v in events.values()).items())),
        "near_miss_pairs": len({frozenset((e, n)) for e, n in near.items() if n}),
        "sources": len({r["source"] for r in rows}),
        "languages": dict(Counter(r["language"] for r in rows).most_common()),
        "body_words_min_median_max": [words[0], words[len(words) // 2], words[-1]],
        "first_published": min(r["published_at"] for r in rows),
        "last_published": max(r["published_at"] for r in rows),
        "held_out_events": len(held),
        "held_out_articles": sum(len(events[e]) for e in held),
        "held_out_near_miss_pairs": sum(1 for e in held if near[e]),
    }


if __name__ == "__main__":
    print(json.dumps(counts(), indent=2, ensure_ascii=False))
