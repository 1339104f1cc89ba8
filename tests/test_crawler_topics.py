from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from config.loader import ConfigError
from config.taxonomy import load_topics
from crawler.topics import PhraseMatcher, Taxonomy, classify, is_case_sensitive, plural

SMALL_TOPICS = """\
threshold: 5.0
title_weight: 2.5
highlight_weight: 1.5
reference_words: 100
topics:
  defence:
    terms:
      missile: 3
      army: 2
      arms: 1.5
      army of: 0
      DRDO: 3
  trade:
    terms:
      tariff: 3
      trade deal: 3
      electricity tariff: 0
"""


WriteYaml = Callable[[str], Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    def write(text: str, name: str = "topics.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def small(write_yaml: WriteYaml) -> Taxonomy:
    return Taxonomy.load(write_yaml(SMALL_TOPICS))


@pytest.fixture(scope="module")
def packaged() -> Taxonomy:
    return Taxonomy.load()


def _filler(n: int) -> str:
    return " ".join(["word"] * n)


# --- matching ---------------------------------------------------------------------------------

def test_terms_match_whole_words_only() -> None:
    m = PhraseMatcher([("arms", False, "arms"), ("army", False, "army")], plurals=True)
    assert list(m.find("Farms, swarms and an armyworm outbreak; the army's arms.")) == [
        "army", "arms"]


def test_plurals_of_lowercase_words() -> None:
    m = PhraseMatcher([("tariff", False, "t"), ("navy", False, "n"), ("tax", False, "x"),
                       ("fighter jet", False, "f")], plurals=True)
    assert list(m.find("Tariffs, navies, taxes and two fighter jets")) == ["t", "n", "x", "f"]
    assert plural("tariff") == "tariffs"
    assert plural("navy") == "navies"
    assert plural("day") == "days"


def test_acronyms_match_exactly() -> None:
    assert is_case_sensitive("DRDO")
    assert is_case_sensitive("U.S.")
    assert is_case_sensitive("MoD")
    assert not is_case_sensitive("Rafale")
    assert not is_case_sensitive("Ministry of Defence")
    m = PhraseMatcher([("WTO", True, "wto"), ("US", True, "us")])
    assert list(m.find("wto rules; tell us; the WTO and the US")) == ["wto", "us"]


def test_spaces_and_hyphens_are_alike_but_punctuation_breaks_a_phrase() -> None:
    m = PhraseMatcher([("anti-dumping", False, "ad"), ("trade deal", False, "td")])
    assert list(m.find("anti dumping and anti-dumping duties; a trade-deal")) == [
        "ad", "ad", "td"]
    assert list(m.find("they trade. Deal or not; trade, deal")) == []


def test_longest_phrase_wins() -> None:
    m = PhraseMatcher([("tariff", False, "trade"), ("electricity tariff", False, "power")],
                      plurals=True)
    assert list(m.find("Electricity tariffs and import tariffs")) == ["power", "trade"]


# --- scoring ----------------------------------------------------------------------------------

def test_title_counts_title_weight_times_body(small: Taxonomy) -> None:
    in_title = classify("Missile test", "", taxonomy=small)
    in_body = classify("Test", "missile", taxonomy=small)
    assert in_title.scores["defence"] == 7.5
    assert in_body.scores["defence"] == 3.0


def test_repeats_count_logarithmically(small: Taxonomy) -> None:
    scores = classify("", "missile missile missile", taxonomy=small).scores
    assert scores["defence"] == round(3 * (1 + math.log(3)), 4)


def test_long_bodies_are_normalised_by_square_root(small: Taxonomy) -> None:
    short = classify("", "missile " + _filler(20), taxonomy=small)
    long = classify("", "missile " + _filler(399), taxonomy=small)
    assert short.scores["defence"] == 3.0  # shorter than 100 words: not inflated
    assert long.scores["defence"] == 1.5  # 400 words: divided by sqrt(4)


def test_highlights_count_more_than_body(small: Taxonomy) -> None:
    scores = classify("", "", ["A missile"], taxonomy=small).scores
    assert scores["defence"] == round(3 * (1 + math.log(1.5)), 4)


def test_threshold_separates_off_topic(small: Taxonomy) -> None:
    below = classify("Match report", "The army and DRDO " + _filler(300), taxonomy=small)
    assert below.scores["defence"] == round(5 / math.sqrt(3.04), 4)
    assert below.topics == ()
    assert below.primary is None
    assert below.off_topic
    at = classify("Match report", "The army and missile", taxonomy=small)
    assert at.scores["defence"] == 5.0
    assert at.topics == ("defence",)
    assert at.primary == "defence"


def test_both_topics_ordered_by_score(small: Taxonomy) -> None:
    result = classify("Tariff on missile parts", "A trade deal and a DRDO missile.",
                      taxonomy=small)
    assert result.scores == {"defence": 7.5 + 3 + 3, "trade": 7.5 + 3}
    assert result.topics == ("defence", "trade")
    assert result.matched == {"defence": ("missile", "DRDO"), "trade": ("tariff", "trade deal")}


def test_zero_weight_phrases_swallow_the_term(small: Taxonomy) -> None:
    result = classify("Electricity tariff hike", "An army of volunteers", taxonomy=small)
    assert result.scores == {"defence": 0.0, "trade": 0.0}
    assert result.primary is None


def test_pinned_topic_is_always_included(small: Taxonomy) -> None:
    result = classify("Cricket", "A match report", taxonomy=small, pinned="trade")
    assert result.topics == ("trade",)
    assert result.primary == "trade"
    higher = classify("Missile test", "", taxonomy=small, pinned="trade")
    assert higher.topics == ("defence", "trade")
    assert higher.primary == "defence"


def test_unknown_pinned_topic_is_an_error(small: Taxonomy) -> None:
    with pytest.raises(ValueError) as err:
        classify("", "", taxonomy=small, pinned="sports")
    assert str(err.value) == "pinned topic 'sports' is not one of defence, trade"


def test_packaged_taxonomy(packaged: Taxonomy) -> None:
    assert packaged.names == ("defence", "trade")
    for spec in packaged.config.topics.values():
        assert sum(1 for w in spec.terms.values() if w > 0) >= 40
    farms = classify("Farmers armed with data", "Farms across Punjab fought an armyworm "
                     "outbreak with drones' help.", taxonomy=packaged)
    assert farms.primary is None
    deal = classify("India, US close in on interim trade framework",
                    "Negotiators discussed tariffs on steel.", taxonomy=packaged)
    assert deal.topics == ("trade",)
    jets = classify("IAF inducts Rafale fighter jets", "", taxonomy=packaged)
    assert jets.primary == "defence"


# --- contexts: the words around a term tell its sense -----------------------------------------

CONTEXT_TOPICS = SMALL_TOPICS + """      export: 2
    contexts:
      - sense: utility prices
        terms: [tariff]
        near: [power bills, telecom operator]
        window: 3
      - terms: [export]
        near_topics: [defence]
        window: 3
"""


@pytest.fixture
def ctx(write_yaml: WriteYaml) -> Taxonomy:
    return Taxonomy.load(write_yaml(CONTEXT_TOPICS))


def test_a_cue_within_the_window_silences_the_term(ctx: Taxonomy) -> None:
    body = "The tariff order raises power bills from December."
    result = classify("", body, taxonomy=ctx)
    assert result.scores["trade"] == 0.0
    assert result.matched["trade"] == ()
    assert result.discounted["trade"] == ("tariff",)
    # In the title too, and on either side; cue phrases match plurals and any case.
    assert classify("Telecom Operators announce tariff hike", "", taxonomy=ctx).topics == ()


def test_without_a_cue_near_it_the_term_still_counts(ctx: Taxonomy) -> None:
    # Beyond the window (four words between), in another paragraph, or no cue at all.
    far = classify("", "A tariff on four other words power bills", taxonomy=ctx)
    other_paragraph = classify("", "A tariff.\nPower bills rise.", taxonomy=ctx)
    plain = classify("US tariff on steel", "", taxonomy=ctx)
    assert far.scores["trade"] == other_paragraph.scores["trade"] == 3.0
    assert far.discounted["trade"] == ()
    assert plain.topics == ("trade",)


def test_each_mention_is_judged_by_its_own_neighbours(ctx: Taxonomy) -> None:
    body = "Power bills: tariff up.\nThe tariff on steel."
    result = classify("", body, taxonomy=ctx)
    assert result.scores["trade"] == 3.0  # one counted mention: 3 * (1 + ln 1)
    assert result.matched["trade"] == ("tariff",)
    assert result.discounted["trade"] == ()  # it counted somewhere


def test_near_topics_cues_are_another_topics_strong_terms(ctx: Taxonomy) -> None:
    arms = classify("", "The export order for missiles.", taxonomy=ctx)
    assert arms.scores["trade"] == 0.0
    assert arms.discounted["trade"] == ("export",)
    # "arms" (1.5) is not strong evidence, so it is no cue; nor are zero-weight phrases.
    weak = classify("", "Arms export data. An army of export clerks.", taxonomy=ctx)
    assert weak.scores["trade"] == round(2 * (1 + math.log(2)), 4)


def test_a_context_weight_other_than_zero(write_yaml: WriteYaml) -> None:
    tax = Taxonomy.load(write_yaml(CONTEXT_TOPICS.replace("window: 3\n", "window: 3\n"
                                                          "        weight: 1\n", 1)))
    assert classify("", "Power bills and the tariff.", taxonomy=tax).scores["trade"] == 1.0


def test_packaged_contexts(packaged: Taxonomy) -> None:
    power = classify("TNERC tariff order: power bills to rise from December 1",
                     "The commission approved an increase of 15 paise per unit in the "
                     "electricity tariff for domestic consumers.", taxonomy=packaged)
    assert power.topics == ()
    telecom = classify("Telecom operators announce second tariff hike in 18 months",
                       "Jio and Airtel raised mobile tariffs for prepaid users.",
                       taxonomy=packaged)
    assert telecom.topics == ()
    steel = classify("US doubles tariff on Indian steel",
                     "Exporters said the tariff would hit shipments to the US.",
                     taxonomy=packaged)
    assert steel.topics == ("trade",)
    football = classify("Services beat Kerala on penalties to win Santosh Trophy",
                        "The Services team, made up of players from the Army, Navy and Air "
                        "Force, won the football championship.", taxonomy=packaged)
    assert football.topics == ()
    posting = classify("Army posts more troops along the LAC",
                       "The Army has moved two brigades of troops to eastern Ladakh, "
                       "officials said after a review of the match between deployments and "
                       "threats.", taxonomy=packaged)
    assert posting.primary == "defence"
    assert posting.discounted["defence"] == ()  # "match" is more than ten words away
    arms = classify("BrahMos bags second export order",
                    "The second export order for the missile after the Philippines.",
                    taxonomy=packaged)
    assert arms.topics == ("defence",)
    controls = classify("US eases export controls on jet engines for India",
                        "The Commerce Department eased export controls on fighter jet engine "
                        "technology, clearing a deal with HAL.", taxonomy=packaged)
    assert set(controls.topics) == {"defence", "trade"}
    market = classify("Sensex ends higher; IT, defence stocks lead gains",
                      "Gains in IT and defence stocks offset weakness in banks.",
                      taxonomy=packaged)
    assert market.topics == ()


# --- the lead corroborates the title ----------------------------------------------------------

def _with_lead(text: str, lead_words: int) -> str:
    return text.replace("reference_words: 100\n",
                        f"reference_words: 100\nlead_words: {lead_words}\n")


@pytest.fixture
def lead(write_yaml: WriteYaml) -> Taxonomy:
    return Taxonomy.load(write_yaml(_with_lead(CONTEXT_TOPICS, 5)))


def test_a_title_term_without_the_topic_in_the_lead_does_not_count(lead: Taxonomy) -> None:
    result = classify("Cyclone: army on standby", "Heavy rain lashed the coast today and "
                      "rivers rose.", taxonomy=lead)
    assert result.scores["defence"] == 0.0
    assert result.discounted["defence"] == ("army",)
    # Mentioned after the first five words: the body counts, the title still does not.
    late = classify("Cyclone: army on standby", "Heavy rain lashed the coast; the army "
                    "waits.", taxonomy=lead)
    assert late.scores["defence"] == 2.0


def test_the_lead_or_a_highlight_corroborates_the_title(lead: Taxonomy) -> None:
    body = classify("Army on standby", "The army waits.", taxonomy=lead)
    assert body.scores["defence"] == 2.5 * 2 + 2
    highlight = classify("Army on standby", "Heavy rain lashed the coast today.",
                         ["The army waits"], taxonomy=lead)
    assert highlight.topics == ("defence",)
    no_body = classify("Army on standby", "", taxonomy=lead)  # nothing to check against
    assert no_body.scores["defence"] == 5.0


def test_a_silenced_mention_in_the_lead_corroborates_nothing(lead: Taxonomy) -> None:
    result = classify("Tariff order issued", "Power bills: tariff up.", taxonomy=lead)
    assert result.scores["trade"] == 0.0


def test_lead_words_zero_keeps_every_title_term(ctx: Taxonomy) -> None:
    result = classify("Cyclone: army on standby", "Heavy rain.", taxonomy=ctx)
    assert result.scores["defence"] == 5.0


# --- configuration errors ---------------------------------------------------------------------

def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_topics(path)
    return str(err.value)


def test_bad_weight_names_topic_and_term(write_yaml: WriteYaml) -> None:
    path = write_yaml(SMALL_TOPICS.replace("missile: 3", "missile: heavy"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - topic 'defence', field 'terms.missile': Input should be a valid number, "
        "unable to parse string as a number")


def test_several_problems_are_listed(write_yaml: WriteYaml) -> None:
    path = write_yaml(SMALL_TOPICS.replace("threshold: 5.0", "threshold: 0")
                      .replace("      tariff: 3\n", "      tariff: 3\n      Tariff: 2\n")
                      .replace("  defence:\n", "  defence:\n    colour: red\n"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - field 'threshold': Input should be greater than 0\n"
        "  - topic 'defence', field 'colour': unknown field\n"
        "  - topic 'trade', field 'terms': duplicate terms 'tariff' and 'Tariff'")


def test_bad_term_and_weight_range(write_yaml: WriteYaml) -> None:
    path = write_yaml(SMALL_TOPICS.replace("army: 2", "army!: 2"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - topic 'defence', field 'terms': term 'army!' must start with a letter or digit, "
        "end with one (or a dot), and contain only letters, digits, spaces, hyphens, '.', '&' "
        "and apostrophes")
    path = write_yaml(SMALL_TOPICS.replace("DRDO: 3", "DRDO: 30"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - topic 'defence', field 'terms': weight of term 'DRDO' is 30.0; use -10 to 10")


def test_duplicate_yaml_key_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml(SMALL_TOPICS.replace("      army: 2\n", "      army: 2\n      army: 1\n"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - duplicate key 'army' at line 10, column 7")


def test_missing_file_and_bad_topic_name(write_yaml: WriteYaml, tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.yaml") == (
        f"invalid configuration in {tmp_path / 'nope.yaml'}:\n  - file not found")
    path = write_yaml(SMALL_TOPICS.replace("  trade:\n", "  Trade Policy:\n"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - field 'topics': topic name 'Trade Policy' must be a lowercase slug such as "
        "'defence'")


def test_context_errors_name_topic_and_field(write_yaml: WriteYaml) -> None:
    path = write_yaml(CONTEXT_TOPICS.replace("terms: [tariff]", "terms: [tarif]")
                      .replace("near_topics: [defence]", "near_topics: [defense]"))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - topic 'trade', field 'contexts.0.terms': 'tarif' not among the topic's terms\n"
        "  - topic 'trade', field 'contexts.1.near_topics': 'defense' is not another topic "
        "(defence)")
    path = write_yaml(CONTEXT_TOPICS.replace("near_topics: [defence]", "near_topics: [trade]"))
    assert "'trade' is not another topic (defence)" in _error(path)


def test_context_schema_errors(write_yaml: WriteYaml) -> None:
    path = write_yaml(CONTEXT_TOPICS.replace("        near_topics: [defence]\n", "")
                      .replace("window: 3\n", "window: 0\n        colour: red\n", 1))
    assert _error(path) == (
        f"invalid configuration in {path}:\n"
        "  - topic 'trade', field 'contexts.0.window': Input should be greater than or "
        "equal to 1\n"
        "  - topic 'trade', field 'contexts.0.colour': unknown field\n"
        "  - topic 'trade', field 'contexts.1': a context needs cues: 'near' phrases, "
        "'near_topics', or both")
    path = write_yaml(CONTEXT_TOPICS.replace("near: [power bills", "near: [power bills!"))
    assert "topic 'trade', field 'contexts.0.near': term 'power bills!' must start" in \
        _error(path)
    path = write_yaml(_with_lead(SMALL_TOPICS, -1))
    assert _error(path) == (f"invalid configuration in {path}:\n"
                            "  - field 'lead_words': Input should be greater than or equal to 0")
