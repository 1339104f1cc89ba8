"""Build the labelled stories set (``stories.jsonl``) from the hand-written base articles.

Every base article in ``base_*.yaml`` is written out as it is. Each *wire* article is also
syndicated: 2-6 copies, each from another outlet, with another of its headlines, and with
what outlets do to wire copy - a dateline or byline header, boilerplate footers ("This story
has not been edited by ... staff"), a "read more" link in the middle, an added sentence, one
sentence reworded, house style (per cent / %, Rs / ₹, U.S. / US), and sometimes the last
paragraph cut. A few non-wire articles are republished once by a partner site. Copies keep
their base article's labels and share its ``dup_group``; independently written articles on
one event share only ``story_label``.

Deterministic: a fixed seed, base files read in a fixed order. Run::

    .venv/bin/python benchmarks/data/stories/make_dataset.py
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BASE_FILES = ("base_defence.yaml", "base_trade.yaml", "base_offtopic.yaml")
OUTPUT = HERE / "stories.jsonl"
SEED = 20261125

OUTLETS = {
    "pti": "PTI", "ani": "ANI", "ians": "IANS", "reuters": "Reuters",
    "thehindu": "The Hindu", "hindustantimes": "Hindustan Times",
    "economictimes": "The Economic Times", "livemint": "Mint", "ndtv": "NDTV",
    "businessstandard": "Business Standard", "theprint": "ThePrint", "firstpost": "Firstpost",
    "deccanherald": "Deccan Herald", "tribune": "The Tribune", "news18": "News18",
    "indianexpress": "The Indian Express", "telegraphindia": "The Telegraph",
    "outlook": "Outlook", "moneycontrol": "Moneycontrol", "wionews": "WION",
}
WIRES = {"pti": "PTI", "ani": "ANI", "ians": "IANS", "reuters": "Reuters"}
NAMES = ["Ananya Sharma", "Rahul Menon", "Priya Nair", "Vikram Rao", "Sneha Iyer",
         "Arjun Kapoor", "Meera Pillai", "Sanjay Kulkarni", "Neha Bhatt", "Karan Malhotra",
         "Divya Reddy", "Rohan Das", "Aditi Joshi", "Manish Tiwari", "Kavya Shetty"]
CITIES = ["New Delhi", "Mumbai", "Bengaluru", "Kolkata", "Chennai", "Hyderabad"]

HEADERS = [
    "{city}, {mon} {day} ({wire})",
    "By {name}",
    "Written by {name} | {city} | Updated: {mon} {day}, 2026 {hhmm} IST",
    "{wire} | Updated: {mon} {day}, 2026, {hhmm} IST",
    "Edited by {name}",
    "Representative image. (File photo)",
    "Published By : {name} | Last Updated: {mon} {day}, 2026, {hhmm} IST",
    "{outlet} Web Desk",
]
FOOTERS = [
    "(This story has not been edited by {outlet} staff and is auto-generated from a "
    "syndicated feed.)",
    "(Only the headline and picture of this report may have been reworked by the {outlet} "
    "staff; the rest of the content is auto-generated from a syndicated feed.)",
    "(With inputs from agencies)",
    "(Reporting by {name}; Editing by {name2})",
    "Disclaimer: This post has been auto-published from an agency feed without any "
    "modifications to the text and has not been reviewed by an editor.",
    "Follow {outlet} on WhatsApp and Google News for the latest updates.",
    "Catch all the Latest News, Breaking News and Updates on {outlet}. Download the {outlet} "
    "app to get daily updates.",
    "First published: {mon} {day}, 2026 | {hhmm} IST",
    "(This article was first published on {base_outlet}.)",
]
# Light rewording of one sentence: a copy editor's touch, not a rewrite.
REWORDINGS = [
    (r"\bsaid\b", "stated"), (r"\bmore than\b", "over"), (r"\babout\b", "around"),
    (r"\bon (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", "this week"),
    (r"\bofficials\b", "government officials"), (r"\bhas been\b", "was"),
    (r"\bHowever, \b", ""), (r"\balso\b", ""), (r"\bbegan\b", "started"),
]
STYLE = [
    (r"\bper cent\b", "%"), (r"\bRs (?=\d)", "₹"), (r"\bU\.S\.", "US"),
    (r"(?<=\d)%", " per cent"), (r"\bcrore\b", "cr"),
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _load_bases() -> list[dict[str, Any]]:
    bases: list[dict[str, Any]] = []
    for name in BASE_FILES:
        bases.extend(yaml.safe_load((HERE / name).read_text(encoding="utf-8")))
    ids = [b["id"] for b in bases]
    assert len(ids) == len(set(ids)), "duplicate base ids"
    for b in bases:
        assert all(isinstance(t, str) for t in b["titles"]), f"{b['id']}: quote the titles"
        assert all(isinstance(t, str) for t in b.get("extra", [])), f"{b['id']}: extra"
    return bases


def _paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.strip().split("\n\n") if p.strip()]


def _sentences(par: str) -> list[str]:
    return re.split(r"(?<=[.!?\"”])\s+(?=[A-Z\"“])", par)


def _fill(template: str, rng: random.Random, when: datetime, outlet: str, wire: str,
          base_outlet: str) -> str:
    return template.format(
        city=rng.choice(CITIES), mon=MONTHS[when.month - 1], day=when.day, wire=wire,
        name=rng.choice(NAMES), name2=rng.choice(NAMES), hhmm=when.strftime("%H:%M"),
        outlet=outlet, base_outlet=base_outlet)


def _copy(base: dict[str, Any], n: int, title: str, rng: random.Random,
          others: list[dict[str, Any]]) -> dict[str, Any]:
    published = datetime.fromisoformat(base["published"])
    when = published + timedelta(minutes=rng.randint(5, 12 * 60))
    source = rng.choice([s for s in OUTLETS if s != base["source"]])
    outlet = OUTLETS[source]
    wire = WIRES.get(base["source"], OUTLETS[base["source"]])
    pars = _paragraphs(base["body"])
    edits: list[str] = []

    if len(pars) > 3 and rng.random() < 0.2:
        pars = pars[:-1]
        edits.append("cut last paragraph")
    if base.get("extra") and rng.random() < 0.6:
        sentence = rng.choice(base["extra"])
        i = rng.randrange(1, len(pars) + 1)
        pars[i - 1] = pars[i - 1] + " " + sentence
        edits.append("added sentence")
    if rng.random() < 0.5:
        i = rng.randrange(len(pars))
        sents = _sentences(pars[i])
        j = rng.randrange(len(sents))
        for pattern, repl in rng.sample(REWORDINGS, len(REWORDINGS)):
            new = re.sub(pattern, repl, sents[j], count=1)
            if new != sents[j]:
                sents[j] = re.sub(r"\s{2,}", " ", new)
                edits.append("reworded sentence")
                break
        pars[i] = " ".join(sents)
    for pattern, repl in STYLE:
        if rng.random() < 0.3:
            pars = [re.sub(pattern, repl, p) for p in pars]
    if rng.random() < 0.3 and len(pars) > 2:
        other = rng.choice(others)
        pars.insert(rng.randrange(1, len(pars)), "Also Read: " + other["titles"][0])
        edits.append("read-more link")
    if rng.random() < 0.7:
        k = rng.choice([1, 1, 2])
        header = [_fill(t, rng, when, outlet, wire, OUTLETS[base["source"]])
                  for t in rng.sample(HEADERS, k)]
        pars = header + pars
        edits.append("header")
    if rng.random() < 0.8:
        k = rng.choice([1, 1, 2])
        footer = [_fill(t, rng, when, outlet, wire, OUTLETS[base["source"]])
                  for t in rng.sample(FOOTERS, k)]
        pars = pars + footer
        edits.append("footer")
    if rng.random() < 0.25:
        title = title + f" | {outlet}"
    return {
        "id": f"{base['id']}-c{n}",
        "source": source,
        "title": title,
        "body": "\n\n".join(pars),
        "published": when.isoformat(),
        "expected_topics": sorted(base["topics"]),
        "story_label": base["story"],
        "dup_group": f"g-{base['id']}",
        "copy_of": base["id"],
        "edits": edits,
    }


def build() -> list[dict[str, Any]]:
    """All articles of the set, ordered by publication time (then id)."""
    rng = random.Random(SEED)
    bases = _load_bases()
    out: list[dict[str, Any]] = []
    for base in bases:
        out.append({
            "id": base["id"],
            "source": base["source"],
            "title": base["titles"][0],
            "body": "\n\n".join(_paragraphs(base["body"])),
            "published": datetime.fromisoformat(base["published"]).isoformat(),
            "expected_topics": sorted(base["topics"]),
            "story_label": base["story"],
            "dup_group": f"g-{base['id']}",
            "copy_of": None,
            "edits": [],
        })
        others = [b for b in bases if b["id"] != base["id"]]
        if base["wire"]:
            copies = rng.randint(2, 6)
        else:
            copies = 1 if rng.random() < 0.3 else 0
        alt_titles = base["titles"][1:] or base["titles"]
        for n in range(1, copies + 1):
            title = alt_titles[(n - 1) % len(alt_titles)]
            out.append(_copy(base, n, title, rng, others))
    out.sort(key=lambda a: (a["published"], a["id"]))
    return out


def main() -> None:
    articles = build()
    with OUTPUT.open("w", encoding="utf-8") as fh:
        for art in articles:
            fh.write(json.dumps(art, ensure_ascii=False) + "\n")
    groups = {a["dup_group"] for a in articles}
    stories = {a["story_label"] for a in articles}
    print(f"wrote {len(articles)} articles, {len(groups)} duplicate groups, "
          f"{len(stories)} stories to {OUTPUT}")


if __name__ == "__main__":
    main()
