"""Topic and entity taxonomies: schemas and loaders for ``topics.yaml`` and ``entities.yaml``.

Both files are read and validated once; :class:`config.loader.ConfigError` names the file,
the topic or entity, and the field of every problem. Compiling the terms into patterns is the
job of :mod:`crawler.topics` and :mod:`crawler.entities`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from config.loader import ConfigError, read_yaml

PACKAGED_TOPICS = Path(__file__).with_name("topics.yaml")
PACKAGED_ENTITIES = Path(__file__).with_name("entities.yaml")

# A term starts with a letter or digit and ends with one or a dot (so word boundaries are well
# defined); inside, spaces, hyphens, '.', '&' and apostrophes may appear ("U.S.", "AT&T").
_TERM_RE = re.compile(r"^\w(?:[\w.&'’ -]*[\w.])?$")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_term(term: str) -> str:
    """Return ``term`` with its spaces collapsed, or raise ValueError saying what is wrong."""
    cleaned = " ".join(term.split())
    if not cleaned:
        raise ValueError("term is empty")
    if not _TERM_RE.match(cleaned):
        raise ValueError(f"term {term!r} must start with a letter or digit, end with one (or "
                         "a dot), and contain only letters, digits, spaces, hyphens, '.', '&' "
                         "and apostrophes")
    return cleaned


def _duplicates(terms: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    dups: list[str] = []
    for t in terms:
        key = t.casefold().replace("-", " ")
        if key in seen:
            dups.append(f"{seen[key]!r} and {t!r}")
        else:
            seen[key] = t
    return dups


# --- topics.yaml ------------------------------------------------------------------------------

def _term_key(term: str) -> str:
    return term.casefold().replace("-", " ")


class ContextRule(_Strict):
    """Another sense of some of a topic's terms, told by the words around them.

    A mention of one of ``terms`` with a cue within ``window`` words on either side, in the
    same paragraph (or title, or highlight), counts with ``weight`` instead of the term's own
    weight. Cues are the phrases in ``near`` (matched like terms: whole words, plurals,
    acronyms exactly) and the strong terms (weight 2 or more) of the topics in
    ``near_topics``: "exports" beside "missile" are arms sales, which the defence topic
    covers. The first rule of a topic that applies to a mention decides it.
    """

    terms: list[str] = Field(min_length=1)
    near: list[str] = Field(default_factory=list)
    near_topics: list[str] = Field(default_factory=list)
    window: int = Field(default=10, ge=1, le=50)
    weight: float = Field(default=0.0, ge=-10, le=10)
    # Why the rule exists ("utility and telecom prices"); for people reading the file.
    sense: str = ""

    @field_validator("terms", "near")
    @classmethod
    def _check_phrases(cls, value: list[str]) -> list[str]:
        return [check_term(t) for t in value]

    @model_validator(mode="after")
    def _needs_a_cue(self) -> ContextRule:
        if not self.near and not self.near_topics:
            raise ValueError("a context needs cues: 'near' phrases, 'near_topics', or both")
        return self


class TopicSpec(_Strict):
    """One topic: weighted terms, and contexts in which some of them mean something else.

    A weight of 0 or below makes a phrase counter-evidence: because the longest match wins,
    ``electricity tariff: 0`` keeps the ``tariff`` inside it from counting for trade. A
    :class:`ContextRule` does the same for a term whose other sense is told by words
    further away ("tariff" within ten words of "power bills")."""

    description: str = ""
    terms: dict[str, float] = Field(min_length=1)
    contexts: list[ContextRule] = Field(default_factory=list)

    @field_validator("terms", mode="before")
    @classmethod
    def _check_terms(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        cleaned: dict[str, Any] = {}
        for term, weight in value.items():
            if not isinstance(term, str):
                raise ValueError(f"term {term!r} is not a string")
            cleaned[check_term(term)] = weight
        dups = _duplicates(list(cleaned))
        if dups:
            raise ValueError(f"duplicate terms {'; '.join(dups)}")
        return cleaned

    @field_validator("terms")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        for term, weight in value.items():
            if not -10.0 <= weight <= 10.0:
                raise ValueError(f"weight of term {term!r} is {weight}; use -10 to 10")
        if not any(w > 0 for w in value.values()):
            raise ValueError("needs at least one term with a positive weight")
        return value

    def context_terms(self, rule: ContextRule) -> list[str]:
        """The terms of this topic that ``rule`` names, spelt as in ``terms`` (a name that
        is not one of them is left out; :meth:`TopicsConfig.context_problems` reports it)."""
        own = {_term_key(t): t for t in self.terms}
        return [own[_term_key(t)] for t in rule.terms if _term_key(t) in own]


class TopicsConfig(_Strict):
    """Everything ``topics.yaml`` holds; see the comments in the packaged file."""

    # Score an article needs to be on a topic (see crawler.topics for what a score means).
    threshold: float = Field(gt=0)
    # A term in the title counts this many times its weight.
    title_weight: float = Field(default=2.5, ge=1, le=20)
    # A mention in the highlights (standfirst, bullet points) counts this many body mentions.
    highlight_weight: float = Field(default=1.5, ge=1, le=20)
    # Body evidence is scaled to an article of this many words (square-root normalisation).
    reference_words: int = Field(default=100, ge=10, le=10_000)
    # A title term counts only when its topic also has evidence in the highlights or in the
    # first lead_words words of the body (the lead); 0: title terms always count.
    lead_words: int = Field(default=0, ge=0, le=1_000)
    topics: dict[str, TopicSpec] = Field(min_length=1)

    @field_validator("topics", mode="before")
    @classmethod
    def _topic_names(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for name in value:
                if not isinstance(name, str) or not _SLUG_RE.match(name):
                    raise ValueError(f"topic name {name!r} must be a lowercase slug such as "
                                     "'defence'")
        return value

    def context_problems(self) -> list[str]:
        """Contexts that name a term their topic does not have, or a ``near_topics`` entry
        that is not another topic, as problem messages naming topic and field."""
        problems = []
        for name, spec in self.topics.items():
            own = {_term_key(t) for t in spec.terms}
            for i, rule in enumerate(spec.contexts):
                unknown = [t for t in rule.terms if _term_key(t) not in own]
                if unknown:
                    problems.append(f"topic {name!r}, field 'contexts.{i}.terms': "
                                    f"{', '.join(map(repr, unknown))} not among the topic's "
                                    "terms")
                for other in rule.near_topics:
                    if other == name or other not in self.topics:
                        choices = ", ".join(t for t in self.topics if t != name)
                        problems.append(f"topic {name!r}, field 'contexts.{i}.near_topics': "
                                        f"{other!r} is not another topic ({choices})")
        return problems


# --- entities.yaml ----------------------------------------------------------------------------

class EntityKind(StrEnum):
    COUNTRY = "country"
    ORGANISATION = "organisation"


class EntitySpec(_Strict):
    """One country or organisation. ``id`` is ``<kind>:<slug>``; ``name`` is also an alias.

    ``aliases`` follow the automatic case rule of :func:`crawler.topics.is_case_sensitive`
    (acronyms such as ``US`` or ``MoD`` match exactly, other aliases in any case);
    ``exact_aliases`` always match case-sensitively (``Quad``, not "quad bike").
    """

    id: str
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    exact_aliases: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        kind, sep, slug = value.partition(":")
        if not sep or kind not in {k.value for k in EntityKind} or not _SLUG_RE.match(slug):
            raise ValueError(f"id {value!r} must be <kind>:<slug>, kind one of "
                             f"{', '.join(k.value for k in EntityKind)} (e.g. 'country:us')")
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_term(value)

    @field_validator("aliases", "exact_aliases")
    @classmethod
    def _check_aliases(cls, value: list[str]) -> list[str]:
        return [check_term(a) for a in value]

    @property
    def kind(self) -> EntityKind:
        return EntityKind(self.id.partition(":")[0])

    def all_aliases(self) -> list[tuple[str, bool]]:
        """Every (alias, exact) pair, the name included, without repeats."""
        out: dict[str, bool] = {self.name: False}
        for a in self.aliases:
            out.setdefault(a, False)
        for a in self.exact_aliases:
            out[a] = True
        return list(out.items())


class EntitiesConfig(_Strict):
    """Everything ``entities.yaml`` holds: the gazetteer and phrases that name no entity."""

    # Phrases matched and then dropped, so a shorter alias inside them does not count
    # ("South America" is not the United States).
    ignore: list[str] = Field(default_factory=list)
    entities: list[EntitySpec] = Field(min_length=1)

    @field_validator("ignore")
    @classmethod
    def _check_ignore(cls, value: list[str]) -> list[str]:
        return [check_term(a) for a in value]


# --- loading ----------------------------------------------------------------------------------

def _read_yaml(path: Path) -> Any:
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise ConfigError(path, ["expected a mapping at the top level"])
    return data


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return str(err["msg"]).removeprefix("Value error, ")


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_topics(path: str | Path | None = None) -> TopicsConfig:
    """Read and validate a topics file (the packaged ``config/topics.yaml`` by default).

    Raises :class:`ConfigError` whose problems name the topic and field, e.g.
    ``topic 'defence', field 'terms.missile': Input should be a valid number, ...``.
    """
    path = Path(path) if path is not None else PACKAGED_TOPICS
    raw = _read_yaml(path)
    try:
        cfg = TopicsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if len(loc) >= 2 and loc[0] == "topics":
                problems.append(f"topic {loc[1]!r}, field '{_field(loc[2:])}': {_message(err)}")
            else:
                problems.append(f"field '{_field(loc)}': {_message(err)}")
        raise ConfigError(path, problems) from None
    problems = cfg.context_problems()
    if problems:
        raise ConfigError(path, problems)
    return cfg


def _alias_clashes(cfg: EntitiesConfig) -> list[str]:
    owner: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for phrase in cfg.ignore:
        owner.setdefault(phrase.casefold(), ("ignore", phrase))
    for ent in cfg.entities:
        for alias, _ in ent.all_aliases():
            key = alias.casefold()
            prev = owner.get(key)
            if prev is None:
                owner[key] = (ent.id, alias)
            elif prev[0] != ent.id:
                where = "the ignore list" if prev[0] == "ignore" else f"entity {prev[0]!r}"
                problems.append(f"entity {ent.id!r}, field 'aliases': {alias!r} is also "
                                f"{prev[1]!r} of {where}")
    return problems


def load_entities(path: str | Path | None = None) -> EntitiesConfig:
    """Read and validate a gazetteer file (the packaged ``config/entities.yaml`` by default).

    Raises :class:`ConfigError` whose problems name the entity (its id, or its entry number
    when the id itself is wrong) and the field; an alias given to two entities is an error.
    """
    path = Path(path) if path is not None else PACKAGED_ENTITIES
    raw = _read_yaml(path)
    raw_entities = raw.get("entities")
    try:
        cfg = EntitiesConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if len(loc) >= 2 and loc[0] == "entities" and isinstance(loc[1], int):
                idx = loc[1]
                ent_id = None
                if isinstance(raw_entities, list) and isinstance(raw_entities[idx], Mapping):
                    ent_id = raw_entities[idx].get("id")
                who = f"entity {ent_id!r}" if ent_id else "entity"
                problems.append(f"{who} (entry {idx + 1}), field '{_field(loc[2:])}': "
                                f"{_message(err)}")
            else:
                problems.append(f"field '{_field(loc)}': {_message(err)}")
        raise ConfigError(path, problems) from None
    problems = []
    seen: set[str] = set()
    for ent in cfg.entities:
        if ent.id in seen:
            problems.append(f"entity {ent.id!r}, field 'id': duplicate id")
        seen.add(ent.id)
    problems.extend(_alias_clashes(cfg))
    if problems:
        raise ConfigError(path, problems)
    return cfg
