"""Entity extraction: countries and organisations named in a text, from a gazetteer.

A :class:`Gazetteer` is compiled once from :class:`config.taxonomy.EntitiesConfig` into one
:class:`crawler.topics.PhraseMatcher`; :func:`extract_entities` scans a text with it. Matching
follows its rules (whole words, acronyms case-sensitive, spaces and hyphens alike) without
plurals, and the longest alias wins: "Ministry of Defence" is one mention of the ministry, not
also a mention of anything called "Defence"; "South America" (an ignored phrase) is not the
United States.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from config.taxonomy import EntitiesConfig, load_entities
from crawler.topics import PhraseMatcher, is_case_sensitive, split_words


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity found in a text: canonical ``id`` (``country:us``), display ``name``,
    ``kind`` (``country`` or ``organisation``) and how many times it was mentioned."""

    id: str
    name: str
    kind: str
    mentions: int


class Gazetteer:
    """Compiled aliases of every entity of an :class:`EntitiesConfig`."""

    def __init__(self, config: EntitiesConfig) -> None:
        self.config = config
        # Values: index into config.entities, or -1 for an ignored phrase.
        phrases: list[tuple[str, bool, int]] = [
            (phrase, is_case_sensitive(phrase), -1) for phrase in config.ignore]
        for idx, ent in enumerate(config.entities):
            for alias, always_exact in ent.all_aliases():
                phrases.append((alias, always_exact or is_case_sensitive(alias), idx))
        self._matcher = PhraseMatcher(phrases)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        """Compile the gazetteer file at ``path`` (the packaged one by default); remembered
        while the file is unchanged (:func:`config.remembered.built_from_file`).

        Raises :class:`config.loader.ConfigError` if it is not valid.
        """
        from config.remembered import built_from_file

        return built_from_file(f"entities:{cls.__qualname__}", path,
                               lambda: cls(load_entities(path)))

    def extract(self, text: str) -> list[Entity]:
        """Entities mentioned in ``text``, in order of first mention (see
        :func:`extract_entities`)."""
        counts: Counter[int] = Counter()
        for idx in self._matcher.find(text):
            if idx >= 0:
                counts[idx] += 1  # Counter keeps first-insertion order
        out = []
        for idx, n in counts.items():
            spec = self.config.entities[idx]
            out.append(Entity(id=spec.id, name=spec.name, kind=spec.kind.value, mentions=n))
        return out


    def without_mentions(self, text: str) -> list[str]:
        """The words of ``text`` (``\\w+``) that are not part of an entity's alias or an
        ignored phrase: what a headline says beyond whom it names."""
        split = split_words(text)
        keep = [True] * len(split.words)
        for start, end, _ in self._matcher.spans(split):
            keep[start:end] = [False] * (end - start)
        return [w for w, k in zip(split.words, keep, strict=True) if k]


@cache
def default_gazetteer() -> Gazetteer:
    """The packaged gazetteer, compiled on first use and then shared."""
    return Gazetteer.load()


def extract_entities(text: str, *, gazetteer: Gazetteer | None = None) -> list[Entity]:
    """Countries and organisations mentioned in ``text``, in order of first mention.

    Every alias of an entity counts towards one :class:`Entity` ("US", "U.S." and "America"
    are all ``country:us``); each stretch of text counts once, for its longest alias.
    ``gazetteer`` defaults to the packaged one (:func:`default_gazetteer`).
    """
    return (gazetteer or default_gazetteer()).extract(text)
