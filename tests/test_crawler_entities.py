from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ConfigError
from config.taxonomy import EntityKind, load_entities
from crawler.entities import Entity, Gazetteer, default_gazetteer, extract_entities

SMALL_ENTITIES = """\
ignore: [South America]
entities:
  - id: "country:us"
    name: United States
    aliases: [US, U.S., America]
  - id: "organisation:mod-india"
    name: Ministry of Defence
    aliases: [MoD, Defence Ministry]
"""


def _ids(text: str) -> list[tuple[str, int]]:
    return [(e.id, e.mentions) for e in extract_entities(text)]


def test_aliases_are_one_entity() -> None:
    found = extract_entities("The US and the U.S. are America; the United States agreed.")
    assert found == [Entity(id="country:us", name="United States", kind="country", mentions=4)]


def test_lowercase_us_is_not_the_country() -> None:
    assert _ids("Let us talk; join us, said the USSR-era general.") == []
    assert _ids("US-India ties") == [("country:us", 1), ("country:in", 1)]


def test_longest_alias_wins() -> None:
    assert _ids("The Ministry of Defence and the Defence Ministry (MoD) said") == [
        ("organisation:mod-india", 3)]
    assert _ids("The US Trade Representative met the Indian Navy") == [
        ("organisation:ustr", 1), ("organisation:indian-navy", 1)]


def test_ignored_phrases_and_exact_aliases() -> None:
    assert _ids("Exports to South America and Latin America rose") == []
    assert _ids("a quad bike; the Quad summit") == [("organisation:quad", 1)]


def test_entities_in_order_of_first_mention() -> None:
    text = "China and Pakistan held talks. Beijing said; Islamabad agreed; China again."
    assert _ids(text) == [("country:cn", 3), ("country:pk", 2)]


def test_possessives_and_punctuation() -> None:
    assert _ids("India's DRDO, HAL's Tejas; Larsen & Toubro (L&T).") == [
        ("country:in", 1), ("organisation:drdo", 1), ("organisation:hal", 1),
        ("organisation:larsen-toubro", 2)]


def test_packaged_gazetteer_size_and_kinds() -> None:
    cfg = default_gazetteer().config
    assert len(cfg.entities) >= 60
    kinds = {e.kind for e in cfg.entities}
    assert kinds == {EntityKind.COUNTRY, EntityKind.ORGANISATION}


def test_custom_gazetteer(tmp_path: Path) -> None:
    path = tmp_path / "entities.yaml"
    path.write_text(SMALL_ENTITIES, encoding="utf-8")
    gaz = Gazetteer.load(path)
    assert extract_entities("South America; the MoD and America", gazetteer=gaz) == [
        Entity(id="organisation:mod-india", name="Ministry of Defence", kind="organisation",
               mentions=1),
        Entity(id="country:us", name="United States", kind="country", mentions=1)]


def _error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = tmp_path / "entities.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_entities(path)
    return path, str(err.value)


def test_bad_id_and_alias(tmp_path: Path) -> None:
    path, msg = _error(tmp_path, SMALL_ENTITIES.replace('"country:us"', '"nation:us"')
                       .replace("[MoD, Defence Ministry]", "[MoD, Defence Ministry, '(MoD)']"))
    assert msg == (
        f"invalid configuration in {path}:\n"
        "  - entity 'nation:us' (entry 1), field 'id': id 'nation:us' must be <kind>:<slug>, "
        "kind one of country, organisation (e.g. 'country:us')\n"
        "  - entity 'organisation:mod-india' (entry 2), field 'aliases': term '(MoD)' must "
        "start with a letter or digit, end with one (or a dot), and contain only letters, "
        "digits, spaces, hyphens, '.', '&' and apostrophes")


def test_alias_of_two_entities(tmp_path: Path) -> None:
    path, msg = _error(tmp_path, SMALL_ENTITIES.replace("[MoD, Defence Ministry]",
                                                        "[MoD, America, south america]"))
    assert msg == (
        f"invalid configuration in {path}:\n"
        "  - entity 'organisation:mod-india', field 'aliases': 'America' is also 'America' of "
        "entity 'country:us'\n"
        "  - entity 'organisation:mod-india', field 'aliases': 'south america' is also "
        "'South America' of the ignore list")
