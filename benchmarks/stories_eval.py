"""Evaluate near-duplicates, same-story clustering and topics on the labelled stories set.

Reads ``benchmarks/data/stories/stories.jsonl`` (built by ``make_dataset.py`` in that folder)
and measures, with the packaged taxonomy and gazetteer:

- near-duplicates, pairwise: the pairs that share an LSH band *and* reach estimated Jaccard
  0.6 (``crawler.dedup.features``), against the pairs within one ``dup_group``; also the
  same after a union-find over accepted pairs (what a store that files a copy under its
  original does);
- stories, pairwise: union-find over the accepted near-duplicate pairs plus every pair within
  the 48-hour window that ``same_story`` accepts, against ``story_label``;
- topics: exact match of the topic set, and precision/recall per topic;
- cost per article: signature (MinHash + bands), classify, extract_entities.

Example::

    .venv/bin/python benchmarks/stories_eval.py --write-docs --verbose
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._docs import replace_section  # noqa: E402
from crawler.dedup.features import (  # noqa: E402
    NEAR_DUPLICATE_THRESHOLD,
    STORY_WINDOW,
    Signature,
    StoryFeatures,
    band_hashes,
    jaccard_estimate,
    same_story,
    signature,
)
from crawler.entities import default_gazetteer, extract_entities  # noqa: E402
from crawler.topics import Taxonomy, classify  # noqa: E402

DATA = REPO_ROOT / "benchmarks" / "data" / "stories" / "stories.jsonl"
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Near-duplicates, stories and topics"
COMMAND = ".venv/bin/python benchmarks/stories_eval.py"

Pair = tuple[str, str]
_ALSO_READ = re.compile(r"^Also Read:.*$", re.MULTILINE)


@dataclass
class Article:
    id: str
    title: str
    body: str
    published: datetime
    expected_topics: frozenset[str]
    story: str
    dup_group: str
    sig: Signature | None = None
    bands: list[int] = field(default_factory=list)
    topics: frozenset[str] = frozenset()
    features: StoryFeatures | None = None


class UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def pairs(self) -> set[Pair]:
        groups: dict[str, list[str]] = defaultdict(list)
        for x in self.parent:
            groups[self.find(x)].append(x)
        return {_pair(a, b) for g in groups.values() for a, b in itertools.combinations(g, 2)}


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def _label_pairs(arts: list[Article], key: str) -> set[Pair]:
    groups: dict[str, list[str]] = defaultdict(list)
    for a in arts:
        groups[getattr(a, key)].append(a.id)
    return {_pair(x, y) for g in groups.values() for x, y in itertools.combinations(g, 2)}


def _pr(predicted: set[Pair], truth: set[Pair]) -> tuple[float, float, int, int]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    return precision, recall, len(predicted - truth), len(truth - predicted)


def load(path: Path) -> list[Article]:
    arts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw: dict[str, Any] = json.loads(line)
        arts.append(Article(
            id=raw["id"], title=raw["title"], body=raw["body"],
            published=datetime.fromisoformat(raw["published"]),
            expected_topics=frozenset(raw["expected_topics"]), story=raw["story_label"],
            dup_group=raw["dup_group"]))
    return arts


def run(path: Path, verbose: bool) -> tuple[str, list[str]]:
    arts = load(path)
    by_id = {a.id: a for a in arts}
    taxonomy = Taxonomy.load()
    gazetteer = default_gazetteer()
    # Warm up (first calls compile and fill caches).
    signature(arts[0].body)
    classify(arts[0].title, arts[0].body, taxonomy=taxonomy)
    extract_entities(arts[0].body, gazetteer=gazetteer)

    sig_us, cls_us, ent_us = [], [], []
    all_scores: list[dict[str, float]] = []
    for a in arts:
        t0 = time.perf_counter()
        a.sig = signature(a.body)
        a.bands = band_hashes(a.sig) if a.sig is not None else []
        t1 = time.perf_counter()
        result = classify(a.title, a.body, taxonomy=taxonomy)
        a.topics = frozenset(result.topics)
        t2 = time.perf_counter()
        all_scores.append(dict(result.scores))
        ents = extract_entities(a.title + "\n\n" + a.body, gazetteer=gazetteer)
        t3 = time.perf_counter()
        a.features = StoryFeatures.build(a.title, (e.id for e in ents), a.published, a.sig,
                                         gazetteer=gazetteer)
        sig_us.append((t1 - t0) * 1e6)
        cls_us.append((t2 - t1) * 1e6)
        ent_us.append((t3 - t2) * 1e6)

    # Near-duplicates: candidates from shared (band, bucket) pairs, then the threshold.
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    for a in arts:
        for i, h in enumerate(a.bands):
            buckets[(i, h)].append(a.id)
    candidates = {_pair(x, y) for ids in buckets.values()
                  for x, y in itertools.combinations(ids, 2)}
    accepted = {p for p in candidates
                if jaccard_estimate(by_id[p[0]].sig, by_id[p[1]].sig)
                >= NEAR_DUPLICATE_THRESHOLD}
    dup_truth = _label_pairs(arts, "dup_group")
    dup_uf = UnionFind(by_id)
    for x, y in accepted:
        dup_uf.union(x, y)
    dup_closed = dup_uf.pairs()

    # Stories: near-duplicate groups merged by same_story within the window.
    story_uf = UnionFind(by_id)
    for x, y in accepted:
        story_uf.union(x, y)
    ordered = sorted(arts, key=lambda a: a.published)
    same_pairs: set[Pair] = set()
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.published - a.published > STORY_WINDOW:
                break
            assert a.features is not None and b.features is not None
            if same_story(a.features, b.features):
                same_pairs.add(_pair(a.id, b.id))
                story_uf.union(a.id, b.id)
    story_truth = _label_pairs(arts, "story")
    story_pred = story_uf.pairs()

    # Topics.
    exact = sum(a.topics == a.expected_topics for a in arts) / len(arts)
    topic_names = taxonomy.names
    per_topic = []
    for t in topic_names:
        tp = sum(t in a.topics and t in a.expected_topics for a in arts)
        fp = sum(t in a.topics and t not in a.expected_topics for a in arts)
        fn = sum(t not in a.topics and t in a.expected_topics for a in arts)
        acc = sum((t in a.topics) == (t in a.expected_topics) for a in arts) / len(arts)
        per_topic.append((t, tp / (tp + fp) if tp + fp else 1.0,
                          tp / (tp + fn) if tp + fn else 1.0, acc))
    # Extraction drops "Also read ..." link lines (crawler/cleaning.py); the set keeps them
    # in the copies, where they bring another story's headline into the body.
    unlinked = sum(
        frozenset(classify(a.title, _ALSO_READ.sub("", a.body), taxonomy=taxonomy).topics)
        == a.expected_topics for a in arts) / len(arts)
    off_truth = [a for a in arts if not a.expected_topics]
    off_acc = sum(not a.topics for a in off_truth) / len(off_truth)

    # Sensitivity (for the record, not for choosing: the set is too small and too much ours).
    sweep = []
    for th in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0):
        ok = sum(frozenset(t for t, v in sc.items() if v >= th) == a.expected_topics
                 for a, sc in zip(arts, all_scores, strict=True))
        sweep.append(f"{th:g}: {ok / len(arts):.3f}")
    dup_sweep = []
    for th in (0.5, 0.7):
        acc_th = {p for p in candidates
                  if jaccard_estimate(by_id[p[0]].sig, by_id[p[1]].sig) >= th}
        p_th, r_th, _, _ = _pr(acc_th, dup_truth)
        dup_sweep.append((th, p_th, r_th))
    max_other = max((jaccard_estimate(x.sig, y.sig), _pair(x.id, y.id))
                    for x, y in itertools.combinations(arts, 2) if x.dup_group != y.dup_group)
    min_true = min((jaccard_estimate(by_id[x].sig, by_id[y].sig), (x, y)) for x, y in dup_truth)

    p_dup, r_dup, fp_dup, fn_dup = _pr(accepted, dup_truth)
    p_dupc, r_dupc, _, _ = _pr(dup_closed, dup_truth)
    cand_recall = len(candidates & dup_truth) / len(dup_truth)
    p_st, r_st, _, _ = _pr(story_pred, story_truth)
    p_st_dup, r_st_dup, _, _ = _pr(dup_closed, story_truth)
    no_sig = sum(a.sig is None for a in arts)
    groups = len({a.dup_group for a in arts})
    stories = len({a.story for a in arts})

    rows = [
        ("near-duplicate pairs, band candidates + J ≥ 0.6", p_dup, r_dup,
         f"{len(dup_truth)} true pairs; {fp_dup} false, {fn_dup} missed"),
        ("near-duplicate pairs after union-find", p_dupc, r_dupc,
         "a copy joins its group through any accepted pair"),
        *[(f"near-duplicate pairs, band candidates + J ≥ {th:g}", p_th, r_th, "sensitivity")
          for th, p_th, r_th in dup_sweep],
        ("band candidates alone (LSH stage)", None, cand_recall,
         f"{len(candidates)} candidate pairs"),
        ("story pairs, near-duplicates only", p_st_dup, r_st_dup,
         f"{len(story_truth)} true pairs"),
        ("story pairs, near-duplicates + `same_story`", p_st, r_st,
         f"{len(same_pairs)} pairs accepted by same_story"),
        ("topics, exact set match", None, None, f"accuracy {exact:.3f}"),
        ("topics, exact set match, \"Also Read\" lines dropped first", None, None,
         f"accuracy {unlinked:.3f}"),
    ]
    for t, prec, rec, acc in per_topic:
        rows.append((f"topic `{t}`", prec, rec, f"accuracy {acc:.3f}"))
    rows.append(("off-topic articles left without a topic", None, None,
                 f"accuracy {off_acc:.3f} ({len(off_truth)} articles)"))
    rows.append(("topics, exact set match by threshold", None, None,
                 "sensitivity: " + ", ".join(sweep)))

    def f(x: float | None) -> str:
        return "" if x is None else f"{x:.3f}"

    lines = ["| measure | precision | recall | notes |", "|---|---|---|---|"]
    lines += [f"| {name} | {f(p)} | {f(r)} | {note} |" for name, p, r, note in rows]
    lines += [
        "",
        "| cost per article | mean µs | median µs |",
        "|---|---|---|",
        f"| `signature` + `band_hashes` | {statistics.mean(sig_us):.0f} | "
        f"{statistics.median(sig_us):.0f} |",
        f"| `classify` (2 topics) | {statistics.mean(cls_us):.0f} | "
        f"{statistics.median(cls_us):.0f} |",
        f"| `extract_entities` (title + body) | {statistics.mean(ent_us):.0f} | "
        f"{statistics.median(ent_us):.0f} |",
    ]
    words = [len(re.findall(r"\w+", a.body)) for a in arts]
    summary = (f"{len(arts)} articles ({sum(1 for a in arts if a.dup_group == 'g-' + a.id)} "
               f"hand-written, the rest syndicated copies), {groups} duplicate groups, "
               f"{stories} stories; bodies of {min(words)}–{max(words)} words "
               f"(median {statistics.median(words):.0f}); {no_sig} too short for a "
               "signature. Highest estimated Jaccard between articles of different duplicate "
               f"groups: {max_other[0]:.3f} ({max_other[1][0]}, {max_other[1][1]}); lowest "
               f"within one group: {min_true[0]:.3f} ({min_true[1][0]}, {min_true[1][1]}).")
    details: list[str] = [summary]
    if verbose:
        for x, y in sorted(accepted - dup_truth):
            j = jaccard_estimate(by_id[x].sig, by_id[y].sig)
            details.append(f"false near-dup: {x} {y} J={j:.3f}")
        for x, y in sorted(dup_truth - accepted):
            details.append(f"missed near-dup: {x} {y} "
                           f"J={jaccard_estimate(by_id[x].sig, by_id[y].sig):.3f} "
                           f"candidate={(x, y) in candidates}")
        for x, y in sorted(story_pred - story_truth):
            if (x, y) in same_pairs:
                details.append(f"false same-story: {x} {y} | {by_id[x].title} | "
                               f"{by_id[y].title}")
        missed_groups = sorted({(by_id[x].story, by_id[x].dup_group, by_id[y].dup_group)
                                for x, y in story_truth - story_pred})
        for story, g1, g2 in missed_groups:
            details.append(f"missed story link: {story}: {g1} / {g2}")
        for a in arts:
            if a.topics != a.expected_topics:
                details.append(f"topic: {a.id} expected {sorted(a.expected_topics)} got "
                               f"{sorted(a.topics)} | {a.title}")
    return "\n".join(lines), details


NOTES = """\
What the numbers say (near-duplicates and stories: first run, the set was written before any
of it was evaluated, and neither code nor configuration was changed after seeing the results;
topics: measured again after the rules added for issue 5, which were written after seeing this
set's errors, so the held-out set in "Topics: issue 5" below is the fairer measure):

- **Near-duplicates.** No false pair. Direct pairwise recall misses the 0.95 target: the
  bodies are short (median ~210 words) and each syndicated copy carries its own header,
  footer, "Also Read" link and added sentence, so two *copies* of one story often share
  only 40-60% of their 3-shingles, while a copy and its original share more. With 25 bands
  of 5 rows a pair becomes a candidate with probability 0.5 at Jaccard ~0.53, so the band
  stage alone caps recall (see its row). A store that files each copy under any stored
  member of its group gets the union-find row. The highest similarity between articles of
  different groups is the pair of consecutive-day cold-wave bulletins (same template,
  different numbers), then the two monthly trade-data reports (0.23); other articles stay at
  or below 0.12, and what they share is boilerplate. So accepting candidates at 0.5
  instead of 0.6 costs no precision here; recall beyond that needs more, shorter bands
  (32 x 4 puts the 50% point near Jaccard 0.42), which changes every stored band hash and
  should be decided before the first crawl.
- **Stories.** Headline words (without entity names) plus entity overlap link most
  independently written reports of one event. The false links are the two cold-wave
  bulletins of consecutive days ("cold wave ... north India" both days). The missed links
  are analysis pieces whose headlines share fewer than two content words with the news
  report (the Navy drone order, the India-EU carbon tax, the Oman pact, the India-US
  dairy sticking points); headlines and entities alone cannot link those.
- **Topics.** Recall is 1.0 for both topics; every error is a topic too many. On the
  first run (0.929) they were the deliberately hard off-topic articles and one labelling
  choice: a football final won by the armed forces' team, a cyclone with "Navy on standby"
  in the headline, a market report led by defence stocks, electricity and mobile "tariff"
  headlines without the words "electricity" or "mobile", "Also Read" lines that bring
  another story's headline into a body, and arms exports (BrahMos to Indonesia, record
  defence exports), which the set labels defence only but whose "exports" counted for
  trade. The issue-5 rules (`contexts` and `lead_words` in `config/topics.yaml`) remove all
  but the two that come from "Also Read" lines (an IAF headline linked into a power-tariff
  copy, a trade headline linked into a market report); extraction drops such lines from
  crawled pages, hence the row without them. The threshold row is for the record: a
  threshold picked from this set would be fitted to it, so the packaged 5.0 stays.
- **Cost.** The signature is dominated by hashing shingles (SHA-1, one call per shingle,
  ~40%) and `update_batch`. Topic and entity matching look words up in dictionaries of word
  tuples; a single regular expression alternating over a topic's terms measured 24 ms on a
  450-word text against 0.37 ms for the lookups. Means include noise from other jobs on the
  machine; medians are the better guide. The `classify` row was measured again with the
  issue-5 rules (the other cost rows are from the first run): their cue phrases are
  matched in every paragraph that has a term they govern, which made `classify` 1.4-1.8
  times slower in alternating runs of the old and new code, still under 1 ms an article.
"""


def write_docs_section(table: str, summary: str) -> None:
    """Replace (or append) this script's section of docs/benchmarks.md, leaving others."""
    section = (
        f"{SECTION_HEADING}\n\n"
        "The pure logic of \"one story, once\" (`crawler/dedup/features.py`, "
        "`crawler/topics.py`, `crawler/entities.py`) on the labelled set in "
        "`benchmarks/data/stories/`: "
        f"{summary} Near-duplicate pairs are scored pairwise against `dup_group` (copies of "
        "one text), story pairs against `story_label` (one event, copies and independently "
        "written pieces). Topics use the packaged `config/topics.yaml` with no source "
        "pinning.\n\n"
        f"{table}\n\n"
        f"{NOTES}\n"
        "Reproduce (from the repository root; `make_dataset.py` rebuilds the set, "
        "deterministically):\n\n"
        f"```\n{COMMAND}\n```\n"
    )
    replace_section(SECTION_HEADING, section.removeprefix(f"{SECTION_HEADING}\n\n"),
                    DOCS_PATH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="stories JSON-lines file")
    parser.add_argument("--verbose", action="store_true",
                        help="list every wrong pair and every wrong topic set")
    parser.add_argument("--write-docs", action="store_true",
                        help=f'write the table into "{SECTION_HEADING}" in docs/benchmarks.md')
    args = parser.parse_args(argv)
    table, details = run(args.data, args.verbose)
    print(table)
    print()
    print("\n".join(details))
    if args.write_docs:
        write_docs_section(table, details[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
