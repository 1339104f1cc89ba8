"""Topic classification: weighted-term scores per topic, normalised for article length.

A :class:`Taxonomy` is compiled once from :class:`config.taxonomy.TopicsConfig` (one
:class:`PhraseMatcher` per topic); :func:`classify` then scores one article against it.

Score of a topic, with ``w`` a term's weight and ``c`` its mentions::

    title_weight * sum(w of each distinct term in the title)
    + sum(w * (1 + ln c) for each term in body and highlights) / sqrt(max(N, R) / R)

where ``N`` is the number of words of body and highlights, ``R`` the configured
``reference_words`` (100), and a highlight mention counts ``highlight_weight`` body mentions.
The body part is therefore the evidence *as if the article were R words long*: repeating one
word gains little (log), an article twice as long needs about 1.4 times the raw evidence
(sqrt, because on-topic articles keep using topic words as they grow, but sub-linearly), and
bodies shorter than R are not inflated (a 30-word feed summary is scored like a 100-word
text). The title is short and always present, so it is not normalised. A topic is reported
when its score reaches ``threshold``; with the packaged weights 5.0 means "one term of weight
2 or more in the title, or about two strong terms in a 100-word body" (the measured
trade-off is in docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from config.taxonomy import TopicsConfig, load_topics

_WORD_RE = re.compile(r"\w+")
_SPLIT_RE = re.compile(r"(\w+)")
# What may stand between two words of one phrase: spaces, hyphens, "&", apostrophes, one dot.
_JOINABLE_GAP = re.compile(r"[^\S\n]*[-&'’]?[^\S\n]*|\.")
V = TypeVar("V")
_SIBILANT_END = ("s", "x", "z", "ch", "sh")


def is_case_sensitive(term: str) -> bool:
    """Whether ``term`` is matched exactly rather than in any case.

    Acronyms are: a term with two or more letters and no lowercase letter (``DRDO``, ``WTO``,
    ``U.S.``, ``US`` - so the word "us" is not the United States), or a short mixed-case one
    with a capital after its first letter (``MoD``). Everything else matches in any case.
    """
    letters = [ch for ch in term if ch.isalpha()]
    if len(letters) >= 2 and not any(ch.islower() for ch in letters):
        return True
    return len(letters) <= 4 and any(ch.isupper() for ch in letters[1:])


def plural(word: str) -> str:
    """The regular English plural of a lowercase word ("tariff" -> "tariffs", "navy" ->
    "navies", "tax" -> "taxes")."""
    if word.endswith(_SIBILANT_END):
        return word + "es"
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


class PhraseMatcher(Generic[V]):
    """Finds phrases in a text on word boundaries, the longest phrase first.

    Built from ``(phrase, exact, value)`` triples. Text and phrases are split into ``\\w+``
    words, so "arms" never matches inside "farms"; between the words of a phrase the text may
    have spaces, hyphens, ``&``, apostrophes or a single dot ("anti-dumping" = "anti dumping",
    "U.S." = "U.S"), but not other punctuation, so a phrase never spans a comma or a sentence
    end. ``exact`` phrases match case-sensitively, the others in any case; with ``plurals``, a
    phrase that is not exact and ends in a lowercase word of three or more letters also matches
    its plural. When phrases overlap, the longest starting at the leftmost word wins, and
    its words are consumed.

    Why dictionaries of word tuples and not one regular expression alternating over the terms:
    measured on a 450-word text with the two packaged topics, the regex took 24 ms (Python's
    engine tries every alternative at every word), these lookups 0.37 ms.
    """

    def __init__(self, phrases: Iterable[tuple[str, bool, V]], *, plurals: bool = False) -> None:
        self._exact: dict[tuple[str, ...], V] = {}
        self._folded: dict[tuple[str, ...], V] = {}
        self._longest: dict[str, int] = {}  # casefolded first word -> longest phrase length
        variants: list[tuple[tuple[str, ...], bool, V]] = []
        for phrase, exact, value in phrases:
            words = tuple(_WORD_RE.findall(phrase))
            if not words:
                raise ValueError(f"phrase {phrase!r} has no words")
            variants.append((words, exact, value))
        # Plural forms go last so that they never displace a phrase given as such.
        for words, exact, value in list(variants):
            last = words[-1]
            if plurals and not exact and last.isalpha() and last.islower() and len(last) >= 3:
                variants.append(((*words[:-1], plural(last)), exact, value))
        for words, exact, value in variants:
            if exact:
                self._exact.setdefault(words, value)
            else:
                self._folded.setdefault(tuple(w.casefold() for w in words), value)
            first = words[0].casefold()
            self._longest[first] = max(self._longest.get(first, 0), len(words))

    def find(self, text: str | Words) -> Iterator[V]:
        """Yield the value of each phrase found in ``text``, in text order.

        Pass :func:`split_words` of the text to scan one text with several matchers.
        """
        for _, _, value in self.spans(text):
            yield value

    def spans(self, text: str | Words) -> Iterator[tuple[int, int, V]]:
        """Yield ``(first word, end word, value)`` of each phrase found, in text order
        (word indexes into :func:`split_words` of the text; end is exclusive)."""
        words, folded, joinable = split_words(text) if isinstance(text, str) else text
        i, n = 0, len(words)
        while i < n:
            longest = self._longest.get(folded[i], 0)
            span = 1 if longest else 0
            while span < longest and joinable[i + span - 1]:
                span += 1
            for k in range(span, 0, -1):
                value = self._exact.get(tuple(words[i:i + k]))
                if value is None:
                    value = self._folded.get(tuple(folded[i:i + k]))
                if value is not None:
                    yield i, i + k, value
                    i += k
                    break
            else:
                i += 1


class Words(NamedTuple):
    """A text split for :meth:`PhraseMatcher.find`."""

    words: list[str]
    folded: list[str]  # casefolded words
    joinable: list[bool]  # joinable[i]: words i and i + 1 may belong to one phrase


def split_words(text: str) -> Words:
    """Split ``text`` into ``\\w+`` words, noting which neighbours a phrase may join."""
    parts = _SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap
    words = parts[1::2]
    joinable = [g == " " or _JOINABLE_GAP.fullmatch(g) is not None for g in parts[2:-1:2]]
    joinable.append(False)
    return Words(words, [w.casefold() for w in words], joinable)


@dataclass(frozen=True, slots=True)
class _CompiledTopic:
    name: str
    matcher: PhraseMatcher[int]  # yields indexes into terms and weights
    terms: tuple[str, ...]
    weights: tuple[float, ...]

    def counts(self, text: Words) -> Counter[int]:
        return Counter(self.matcher.find(text))


class Taxonomy:
    """Compiled topics (one :class:`PhraseMatcher` per topic) and the scoring parameters."""

    def __init__(self, config: TopicsConfig) -> None:
        self.config = config
        self.threshold = config.threshold
        self._topics: list[_CompiledTopic] = []
        for name, spec in config.topics.items():
            terms = tuple(spec.terms)
            matcher = PhraseMatcher(
                ((t, is_case_sensitive(t), i) for i, t in enumerate(terms)), plurals=True)
            self._topics.append(_CompiledTopic(
                name, matcher, terms, tuple(spec.terms[t] for t in terms)))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Compile the topics file at ``path`` (the packaged one by default).

        Raises :class:`config.loader.ConfigError` if it is not valid.
        """
        return cls(load_topics(path))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self._topics)


@dataclass(frozen=True, slots=True)
class TopicScores:
    """What :func:`classify` found.

    ``scores`` has every topic of the taxonomy (never negative); ``topics`` the topics at or
    above the threshold plus the pinned one, highest score first; ``primary`` the first of
    ``topics``, or None when the article is off-topic; ``matched`` the terms that counted (a
    positive weight) for each topic, for explaining a decision.
    """

    scores: Mapping[str, float]
    topics: tuple[str, ...]
    primary: str | None
    matched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def off_topic(self) -> bool:
        return self.primary is None


def classify(
    title: str,
    body: str,
    highlights: Sequence[str] = (),
    *,
    taxonomy: Taxonomy,
    pinned: str | None = None,
) -> TopicScores:
    """Score an article on every topic of ``taxonomy`` (see the module docstring).

    ``pinned`` is a topic the source guarantees (``Source.topic``): it is always among
    ``topics``, and is ``primary`` unless another topic scores higher. Raises ValueError if
    ``pinned`` is not a topic of the taxonomy.
    """
    cfg = taxonomy.config
    if pinned is not None and pinned not in cfg.topics:
        raise ValueError(f"pinned topic {pinned!r} is not one of {', '.join(taxonomy.names)}")
    body_words = split_words(body)
    title_words = split_words(title)
    highlight_words = [split_words(h) for h in highlights]
    words = len(body_words.words) + sum(len(h.words) for h in highlight_words)
    norm = math.sqrt(max(words, cfg.reference_words) / cfg.reference_words)
    scores: dict[str, float] = {}
    matched: dict[str, tuple[str, ...]] = {}
    for topic in taxonomy._topics:
        mentions: dict[int, float] = dict(topic.counts(body_words))
        for h in highlight_words:
            for idx, n in topic.counts(h).items():
                mentions[idx] = mentions.get(idx, 0.0) + n * cfg.highlight_weight
        in_title = topic.counts(title_words)
        body_score = sum(topic.weights[i] * (1.0 + math.log(c)) for i, c in mentions.items())
        title_score = sum(topic.weights[i] for i in in_title)
        score = cfg.title_weight * title_score + body_score / norm
        scores[topic.name] = round(max(score, 0.0), 4)
        used = sorted({*mentions, *in_title})
        matched[topic.name] = tuple(topic.terms[i] for i in used if topic.weights[i] > 0)
    above = {name for name, s in scores.items() if s >= cfg.threshold}
    if pinned is not None:
        above.add(pinned)
    order = list(taxonomy.names)
    topics = tuple(sorted(above, key=lambda n: (-scores[n], order.index(n))))
    return TopicScores(scores=scores, topics=topics, primary=topics[0] if topics else None,
                       matched=matched)
