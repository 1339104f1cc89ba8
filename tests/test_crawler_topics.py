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
