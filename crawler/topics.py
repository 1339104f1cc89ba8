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

Two rules keep a word from counting where it does not mean the topic:

- **Contexts** (a topic's ``contexts``): a mention of a listed term with a cue within
  ``window`` words, in the same paragraph, counts with the rule's weight (0 by default)
  instead of its own, and a mention is counted under the weight it ends up with. Cues are
  phrases ("power bills" makes "tariff" a utility price) or the strong terms (weight
  :data:`STRONG_WEIGHT` or more) of other topics ("exports" beside "missile" are arms
  sales). This is the collocation test of word-sense disambiguation: the nearby words tell
  the sense.
- **The lead corroborates the title** (``lead_words`` > 0): a headline can name an actor in
  passing ("NDRF, Navy on standby"), so a title term counts only when its topic also has
  evidence (a mention still of positive weight after contexts) in the highlights or in the
  first ``lead_words`` words of the body. An article without body or highlights keeps its
  title evidence: there is nothing to check it against.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from config.taxonomy import ContextRule, TopicsConfig, load_topics

_WORD_RE = re.compile(r"\w+")
_SPLIT_RE = re.compile(r"(\w+)")
# What may stand between two words of one phrase: spaces, hyphens, "&", apostrophes, one dot.
_JOINABLE_GAP = re.compile(r"[^\S\n]*[-&'’]?[^\S\n]*|\.")
V = TypeVar("V")
_SIBILANT_END = ("s", "x", "z", "ch", "sh")
# Terms of at least this weight are strong evidence (see the weight scale in topics.yaml);
# only they serve as cues of a context's ``near_topics``.
STRONG_WEIGHT = 2.0


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
class _CompiledContext:
    terms: frozenset[int]  # indexes of the topic's terms the rule applies to
    cues: PhraseMatcher[bool] | None
    near_topics: tuple[int, ...]  # indexes into Taxonomy._topics
    window: int
    weight: float


@dataclass(frozen=True, slots=True)
class _CompiledTopic:
    name: str
    matcher: PhraseMatcher[int]  # yields indexes into terms and weights
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    contexts: tuple[_CompiledContext, ...]


class Mention(NamedTuple):
    """A term found by :meth:`Taxonomy.mentions`."""

    start: int  # word index into the text
    end: int  # exclusive
    term: int  # index into the topic's terms
    weight: float  # the weight it counts with, after contexts


def _near(start: int, end: int, cues: Iterable[tuple[int, int]], window: int) -> bool:
    """Whether a cue span overlaps ``[start, end)`` or starts or ends among the ``window``
    words on either side of it."""
    return any(c_start < end + window and c_end > start - window for c_start, c_end in cues)


class Taxonomy:
    """Compiled topics (one :class:`PhraseMatcher` per topic, one per context's cues) and the
    scoring parameters."""

    def __init__(self, config: TopicsConfig) -> None:
        problems = config.context_problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.config = config
        self.threshold = config.threshold
        self._topics: list[_CompiledTopic] = []
        index = {name: i for i, name in enumerate(config.topics)}
        for name, spec in config.topics.items():
            terms = tuple(spec.terms)
            matcher = PhraseMatcher(
                ((t, is_case_sensitive(t), i) for i, t in enumerate(terms)), plurals=True)
            contexts = tuple(self._compile_context(spec.context_terms(rule), terms, rule, index)
                             for rule in spec.contexts)
            self._topics.append(_CompiledTopic(
                name, matcher, terms, tuple(spec.terms[t] for t in terms), contexts))

    @staticmethod
    def _compile_context(names: list[str], terms: tuple[str, ...], rule: ContextRule,
                         index: Mapping[str, int]) -> _CompiledContext:
        cues = PhraseMatcher(((c, is_case_sensitive(c), True) for c in rule.near),
                             plurals=True) if rule.near else None
        return _CompiledContext(frozenset(terms.index(t) for t in names), cues,
                                tuple(index[t] for t in rule.near_topics), rule.window,
                                rule.weight)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Compile the topics file at ``path`` (the packaged one by default); remembered
        while the file is unchanged (:func:`config.remembered.built_from_file`).

        Raises :class:`config.loader.ConfigError` if it is not valid.
        """
        from config.remembered import built_from_file

        return built_from_file(f"topics:{cls.__qualname__}", path, lambda: cls(load_topics(path)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self._topics)

    def mentions(self, text: Words) -> list[list[Mention]]:
        """Every topic's mentions in one paragraph, title or highlight, with the weight each
        counts with once the topic's contexts are applied (indexed like the topics)."""
        spans = [list(t.matcher.spans(text)) for t in self._topics]
        cues: dict[int, list[tuple[int, int]]] = {}  # id(context) -> its cue spans in text
        out: list[list[Mention]] = []
        for topic, found in zip(self._topics, spans, strict=True):
            mentions = []
            for start, end, term in found:
                weight = topic.weights[term]
                for ctx in topic.contexts:
                    if term not in ctx.terms:
                        continue
                    if id(ctx) not in cues:
                        cues[id(ctx)] = self._cue_spans(ctx, text, spans)
                    if _near(start, end, cues[id(ctx)], ctx.window):
                        weight = ctx.weight
                        break
                mentions.append(Mention(start, end, term, weight))
            out.append(mentions)
        return out

    def _cue_spans(self, ctx: _CompiledContext, text: Words,
                   spans: list[list[tuple[int, int, int]]]) -> list[tuple[int, int]]:
        found = [(s, e) for s, e, _ in ctx.cues.spans(text)] if ctx.cues is not None else []
        for i in ctx.near_topics:
            weights = self._topics[i].weights
            found.extend((s, e) for s, e, t in spans[i] if weights[t] >= STRONG_WEIGHT)
        return found


@dataclass(frozen=True, slots=True)
class TopicScores:
    """What :func:`classify` found.

    ``scores`` has every topic of the taxonomy (never negative); ``topics`` the topics at or
    above the threshold plus the pinned one, highest score first; ``primary`` the first of
    ``topics``, or None when the article is off-topic; ``matched`` the terms that counted (a
    positive weight) for each topic, and ``discounted`` the terms found that did not count
    with their own positive weight (a context, or a title term the lead did not
    corroborate), for explaining a decision.
    """

    scores: Mapping[str, float]
    topics: tuple[str, ...]
    primary: str | None
    matched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    discounted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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
    # A phrase never spans a line break, so paragraphs (lines) are matched one by one; a
    # context's window stays within its paragraph.
    paragraphs = [split_words(line) for line in body.splitlines() if line and not line.isspace()]
    highlight_words = [split_words(h) for h in highlights]
    words = sum(len(p.words) for p in paragraphs) + sum(len(h.words) for h in highlight_words)
    norm = math.sqrt(max(words, cfg.reference_words) / cfg.reference_words)
    n_topics = len(taxonomy.names)
    # Mentions per topic as (term, weight) -> count; the lead's positive evidence per topic.
    counted: list[dict[tuple[int, float], float]] = [{} for _ in range(n_topics)]
    in_lead = [False] * n_topics
    seen = 0
    for para in paragraphs:
        for k, found in enumerate(taxonomy.mentions(para)):
            for m in found:
                counted[k][m.term, m.weight] = counted[k].get((m.term, m.weight), 0.0) + 1
                in_lead[k] = in_lead[k] or (m.weight > 0 and seen + m.start < cfg.lead_words)
        seen += len(para.words)
    for h in highlight_words:
        for k, found in enumerate(taxonomy.mentions(h)):
            for m in found:
                counted[k][m.term, m.weight] = (counted[k].get((m.term, m.weight), 0.0)
                                                + cfg.highlight_weight)
                in_lead[k] = in_lead[k] or m.weight > 0
    title_mentions = taxonomy.mentions(split_words(title))
    check_title = cfg.lead_words > 0 and words > 0
    scores: dict[str, float] = {}
    matched: dict[str, tuple[str, ...]] = {}
    discounted: dict[str, tuple[str, ...]] = {}
    for k, topic in enumerate(taxonomy._topics):
        body_score = sum(w * (1.0 + math.log(c)) for (_, w), c in counted[k].items())
        in_title: dict[int, float] = {}  # distinct term -> the weight it counts with
        for m in title_mentions[k]:
            in_title[m.term] = max(in_title.get(m.term, m.weight), m.weight)
        if check_title and not in_lead[k]:
            in_title = {t: min(w, 0.0) for t, w in in_title.items()}
        score = cfg.title_weight * sum(in_title.values()) + body_score / norm
        scores[topic.name] = round(max(score, 0.0), 4)
        weights = [*in_title.items(), *((t, w) for t, w in counted[k])]
        used = {t for t, w in weights if w > 0}
        lost = {t for t, w in weights if w < topic.weights[t] and topic.weights[t] > 0} - used
        matched[topic.name] = tuple(topic.terms[i] for i in sorted(used))
        discounted[topic.name] = tuple(topic.terms[i] for i in sorted(lost))
    above = {name for name, s in scores.items() if s >= cfg.threshold}
    if pinned is not None:
        above.add(pinned)
    order = list(taxonomy.names)
    topics = tuple(sorted(above, key=lambda n: (-scores[n], order.index(n))))
    return TopicScores(scores=scores, topics=topics, primary=topics[0] if topics else None,
                       matched=matched, discounted=discounted)
