"""Topic accuracy on the labelled stories set and on the held-out topic set (issue 5).

Classifies every article of ``benchmarks/data/stories/stories.jsonl`` (226 articles, the set
the classifier was developed on) and of ``benchmarks/data/topics_heldout.yaml`` (27 articles
written before the classifier was changed for issue 5, never used to choose a rule) with
:func:`crawler.topics.classify`, title and body only, no source pinning, and compares the
topic *set* with the label. ``--verbose`` lists every wrong article with its scores and the
terms that counted.

Example::

    .venv/bin/python benchmarks/topics_eval.py --verbose
    .venv/bin/python benchmarks/topics_eval.py --topics /tmp/old-topics.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from crawler.topics import Taxonomy, TopicScores, classify  # noqa: E402

STORIES = REPO_ROOT / "benchmarks" / "data" / "stories" / "stories.jsonl"
HELDOUT = REPO_ROOT / "benchmarks" / "data" / "topics_heldout.yaml"


@dataclass(frozen=True)
class Labelled:
    id: str
    title: str
    body: str
    expected: frozenset[str]


def load_stories(path: Path) -> list[Labelled]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            out.append(Labelled(raw["id"], raw["title"], raw["body"],
                                frozenset(raw["expected_topics"])))
    return out


def load_heldout(path: Path) -> list[Labelled]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Labelled(a["id"], a["title"], a["body"], frozenset(a["topics"])) for a in raw]


def evaluate(name: str, arts: list[Labelled], taxonomy: Taxonomy,
             verbose: bool) -> list[str]:
    """Lines of a report: exact-set accuracy, per-topic precision/recall, the errors."""
    results: list[tuple[Labelled, TopicScores]] = [
        (a, classify(a.title, a.body, taxonomy=taxonomy)) for a in arts]
    right = sum(frozenset(r.topics) == a.expected for a, r in results)
    off = [(a, r) for a, r in results if not a.expected]
    lines = [f"{name}: {len(arts)} articles, exact topic set {right}/{len(arts)} = "
             f"{right / len(arts):.3f}; off-topic left without a topic "
             f"{sum(not r.topics for _, r in off)}/{len(off)}"]
    for t in taxonomy.names:
        tp = sum(t in r.topics and t in a.expected for a, r in results)
        fp = sum(t in r.topics and t not in a.expected for a, r in results)
        fn = sum(t not in r.topics and t in a.expected for a, r in results)
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        lines.append(f"  {t}: precision {prec:.3f} recall {rec:.3f} ({fp} false, {fn} missed)")
    if verbose:
        for a, r in results:
            if frozenset(r.topics) != a.expected:
                scores = ", ".join(f"{t} {s:.1f}" for t, s in r.scores.items())
                lines.append(f"  wrong {a.id}: expected {sorted(a.expected)} got "
                             f"{sorted(r.topics)} ({scores}) | {a.title}")
                for t, terms in r.matched.items():
                    if terms:
                        lines.append(f"      {t}: {', '.join(terms)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--topics", type=Path, default=None,
                        help="topics file (default: the packaged config/topics.yaml)")
    parser.add_argument("--verbose", action="store_true",
                        help="list every wrong article with its scores and matched terms")
    args = parser.parse_args(argv)
    taxonomy = Taxonomy.load(args.topics)
    print("\n".join(evaluate("stories set (development)", load_stories(STORIES), taxonomy,
                             args.verbose)))
    print("\n".join(evaluate("held-out set", load_heldout(HELDOUT), taxonomy, args.verbose)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
