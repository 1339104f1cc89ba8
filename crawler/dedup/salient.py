"""Story keys: what independently written reports of one event share, and how much it weighs.

Two reports of one event seldom share a headline, but they name the same rare things: the
programme, the shipyard, the amount, the count ("Navy signs ₹36,000-crore contract for six
next-generation corvettes" / "Garden Reach to build NGC fleet as defence ministry inks
deal"). :func:`story_keys` gives an article's keys, stored in ``article_story_keys`` and
looked up by key within the story window:

- its body's most salient words: lemmas (simplemma, the article's language) weighted by how
  rare they are in the language (wordfreq's Zipf frequency) and how often the article uses
  them, the headline counting twice; common words (Zipf ≥ 5) are never keys;
- names: runs of two or more capitalised words, as pairs of words in a row ("Garden Reach
  Shipbuilders" gives "garden reach" and "reach shipbuilders");
- amounts of money and counts of things, normalised, and the day the lede names
  (``crawler.dedup.amounts``).

:func:`key_overlap` scores what two key sets share; :func:`conflict` is the near-miss guard:
reports of one programme or commodity with other amounts or other counts of the same thing
are other events (two tranches of one deal, two trade months).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import simplemma
import wordfreq

from crawler.dedup.amounts import (
    AMOUNT,
    COUNT,
    DAY,
    LEDE_WORDS,
    PERCENT,
    amounts,
    counts,
    describe,
    event_day,
    percents,
)
from storage.stories.common import GUARD_KEY

NAME = "name:"
TOP_WORDS = 20
MAX_NAMES = 8
MAX_AMOUNTS = 8
MAX_COUNTS = 6
MAX_GUARD = 8
MAX_PERCENTS = 4
# The lede and the first paragraphs say what the event is; the rest adds background that
# other events share.
BODY_WORDS = 400
COMMON_ZIPF = 4.8
RARE_ZIPF = 7.0
NAME_WEIGHT = 6.0
AMOUNT_WEIGHT = 8.0
COUNT_WEIGHT = 4.0
DAY_WEIGHT = 1.0

_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]")
_NAME_RE = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)+")


@lru_cache(maxsize=64)
def language_code(language: str | None) -> str:
    """The language code wordfreq and simplemma both know, English by default."""
    code = (language or "en").split("-")[0].split("_")[0].lower()
    try:
        simplemma.lemmatize("test", lang=code)
        wordfreq.zipf_frequency("test", code)
    except (ValueError, LookupError):
        return "en"
    return code


def default_language() -> str:
    """Load the default language's data now (the fork server does, once for every crawl
    process it forks); its code."""
    return language_code(None)


@lru_cache(maxsize=200_000)
def _lemma(word: str, lang: str) -> str:
    return str(simplemma.lemmatize(word, lang=lang)).lower()


@lru_cache(maxsize=200_000)
def rarity(word: str, lang: str = "en") -> float:
    """How rare ``word`` is in ``lang``: 7 − its Zipf frequency (0 for the commonest words,
    7 for words wordfreq never saw)."""
    return max(0.0, RARE_ZIPF - wordfreq.zipf_frequency(word, lang))


@lru_cache(maxsize=500_000)
def key_weight(key: str, lang: str = "en") -> float:
    """What sharing ``key`` is worth: its rarity for a word, fixed weights otherwise (none
    for a guard key)."""
    if key.startswith(GUARD_KEY):
        return 0.0
    if key.startswith(AMOUNT):
        return AMOUNT_WEIGHT
    if key.startswith(COUNT):
        return COUNT_WEIGHT
    if key.startswith(NAME):
        return NAME_WEIGHT
    if key.startswith(DAY):
        return DAY_WEIGHT
    return rarity(key, lang)


def _names(text: str, lang: str) -> list[str]:
    out: dict[str, None] = {}
    for m in _NAME_RE.finditer(text):
        words = m.group(0).split()
        # "The Navy", "On Monday Garden Reach": leading common words are no part of a name.
        while words and wordfreq.zipf_frequency(words[0].lower(), lang) >= COMMON_ZIPF:
            words.pop(0)
        # Each two words in a row: "Garden Reach Shipbuilders" meets "Garden Reach".
        for first, second in zip(words, words[1:], strict=False):
            out[f"{NAME}{first.lower()} {second.lower()}"] = None
    return list(out)[:MAX_NAMES]


def story_keys(title: str, body: str, language: str | None = None) -> list[str]:
    """The story keys of an article, at most 55: its salient words, names, amounts, counts
    and the day its lede names; and, for the guard only (``~`` first), the amounts its
    headline and lede state and the counts and percentages its headline states."""
    lang = language_code(language)
    head = " ".join(body.split()[:BODY_WORDS])
    tf: Counter[str] = Counter()
    for weight, text in ((2, title), (1, head)):
        for w in _WORD_RE.findall(text):
            if len(w) < 3:
                continue
            lemma = _lemma(w.lower(), lang)
            if len(lemma) > 64 or rarity(lemma, lang) <= RARE_ZIPF - COMMON_ZIPF:
                continue
            tf[lemma] += weight
    scored = sorted(((rarity(w, lang) * (1 + math.log(n)), w) for w, n in tf.items()),
                    key=lambda sw: (-sw[0], sw[1]))
    words = [w for _, w in scored[:TOP_WORDS]]
    text = f"{title}\n{head}"
    money = list(dict.fromkeys(amounts(text)))[:MAX_AMOUNTS]
    things = list(dict.fromkeys(counts(text, lambda w: _lemma(w, lang))))[:MAX_COUNTS]
    lede = f"{title}\n{' '.join(body.split()[:LEDE_WORDS])}"
    # Counts only from the headline: a lede also gives running totals ("23 chapters
    # closed" beside "three more chapters").
    guard = [GUARD_KEY + k for k in dict.fromkeys([
        *amounts(lede), *counts(title, lambda w: _lemma(w, lang))])][:MAX_GUARD]
    # Percentages too only from the headline: a lede cites the other rates of one event
    # (exports up 6.2%, imports 4%, the deficit 9%).
    guard += [GUARD_KEY + k for k in dict.fromkeys(percents(title))][:MAX_PERCENTS]
    day = event_day(body)
    return [*words, *_names(text, lang), *money, *things, *([day] if day else []), *guard]


def weight(keys: Iterable[str], lang: str = "en") -> float:
    """The summed weight of ``keys``."""
    return sum(key_weight(k, lang) for k in keys)


def key_overlap(a: Iterable[str], b: Iterable[str], lang: str = "en", *,
                weights: tuple[float, float] | None = None) -> float:
    """The weight of the keys ``a`` and ``b`` share over the geometric mean of their own
    weights (``weights``, if the caller has them): 1 for equal sets, 0 for none shared."""
    sa, sb = set(a), set(b)
    shared = weight(sa & sb, lang)
    if not shared:
        return 0.0
    wa, wb = weights or (weight(sa, lang), weight(sb, lang))
    return shared / math.sqrt(wa * wb)


def _by_kind(keys: Iterable[str]) -> dict[str, set[str]]:
    """The guard's keys by kind: a lede's amounts by currency, its counts by noun, its day
    by weekday or date."""
    out: dict[str, set[str]] = {}
    for key in keys:
        if key.startswith(DAY):
            out.setdefault(DAY + ("wd" if key.startswith(DAY + "wd") else "date"), set()).add(key)
        if not key.startswith(GUARD_KEY):
            continue
        k = key[len(GUARD_KEY):]
        if k.startswith(AMOUNT):
            out.setdefault(k[:k.rindex(":")], set()).add(k)
        elif k.startswith(COUNT):
            out.setdefault(COUNT + k.split(":", 2)[2], set()).add(k)
        elif k.startswith(PERCENT):
            out.setdefault(PERCENT, set()).add(k)
    return out


def conflict(a: Iterable[str], b: Iterable[str]) -> str | None:
    """Why two reports that share their programme are other events, or None: their
    headlines and ledes state amounts in one currency and share none of them, their
    headlines state percentages and share none ("a 12% duty" / "a 25% duty") or count one
    thing and share no count of it, or their ledes name other days ("₹1,200 crore" /
    "₹800 crore"; "six corvettes" / "four corvettes"; "on Wednesday" / "on Thursday").
    The rest of a report cites other figures of the same event."""
    ka, kb = _by_kind(a), _by_kind(b)
    for kind in sorted(ka.keys() & kb.keys()):
        if not ka[kind] & kb[kind]:
            mine, theirs = sorted(ka[kind])[0], sorted(kb[kind])[0]
            return f"{describe(mine.lstrip(GUARD_KEY))} / {describe(theirs.lstrip(GUARD_KEY))}"
    return None


def describe_keys(keys: Iterable[str], lang: str = "en", limit: int = 8) -> str:
    """The heaviest of ``keys`` as a reader would write them, comma separated."""
    ordered = sorted({k for k in keys if not k.startswith(GUARD_KEY)},
                     key=lambda k: (-key_weight(k, lang), k))[:limit]
    return ", ".join(describe(k).removeprefix(NAME) for k in ordered)
