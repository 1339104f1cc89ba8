"""Reports of one event written apart, linked by their story keys through the Store (SQLite
and PostgreSQL), with the reason of each link; a near miss (another tranche of one deal, with
other amounts) is not linked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from storage import ArticleRecord, Store
from storage.models import Article, StoryLink

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TAXONOMY = Taxonomy.load()
GAZETTEER = Gazetteer.load()

NAVY = (
    "The Ministry of Defence on Monday signed a ₹36,000-crore contract with Garden Reach "
    "Shipbuilders and Engineers for six next-generation corvettes for the Indian Navy. The "
    "warships, to be built at the Kolkata yard, will be armed with BrahMos missiles and will "
    "replace the ageing Kora-class ships. Deliveries are to begin in 2030. The corvettes will "
    "carry anti-submarine sensors and a helicopter deck, officials said, and more than 75 per "
    "cent of their content will be made in India.")
INSIDE = (
    "Garden Reach Shipbuilders in Kolkata has won the largest surface combatant order the "
    "Navy has placed in ten years: six corvettes worth Rs 360 billion. The next-generation "
    "corvette design, developed by the Navy's warship design bureau, calls for a BrahMos "
    "launcher and a hull optimised for anti-submarine work. The Kora-class vessels they "
    "replace have served since the 1990s. Analysts say the yard's order book now stretches "
    "well into the next decade, and that the first hull should be laid down within two years.")
GRSE = (
    "Shares of Garden Reach Shipbuilders rose after the defence ministry inked a Rs 36,000 cr "
    "deal for the next-generation corvette (NGC) programme. The Kolkata-based shipbuilder will "
    "deliver six corvettes, fitted with BrahMos missiles, starting in 2030, to replace the "
    "Kora-class. The company said the order would keep its slipways busy and that it would "
    "source steel and propulsion from Indian suppliers wherever possible.")
OTHER = (
    "The Indian Army on Monday received the first batch of indigenous light tanks at a "
    "ceremony in Gujarat. The Zorawar tanks, built by Larsen & Toubro with a design from the "
    "Defence Research and Development Organisation, will be deployed in high-altitude areas "
    "along the northern border. Officials said further batches would follow through next "
    "year after field trials in Ladakh.")


def rec(key: str, title: str, body: str, source: str, hours: float = 0) -> ArticleRecord:
    when = T0 + timedelta(hours=hours)
    r = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                      source=source, title=title, body=body, fetched_at=when,
                      published_at=when, language="en")
    enrich(r, TAXONOMY, GAZETTEER)
    return r


def _stories(store: Store) -> tuple[dict[str, int | None], dict[str, str]]:
    with store.session() as s:
        ids = {a.url_key: a.story_id for a in s.execute(select(Article)).unique().scalars()}
        by_id = {a.id: a.url_key for a in s.execute(select(Article)).unique().scalars()}
        reasons = {by_id[a]: r for a, r in s.execute(
            select(StoryLink.article_id, StoryLink.reason))}
    return ids, reasons


def test_three_reports_written_apart_share_a_story_with_their_reasons(store: Store) -> None:
    reports = [
        rec("a.example/navy", "Navy signs ₹36,000-crore contract for six next-generation "
            "corvettes", NAVY, "a"),
        rec("b.example/inside", "Six warships, one shipyard: inside the Navy's biggest "
            "surface order in a decade", INSIDE, "b", hours=3),
        rec("c.example/grse", "Garden Reach to build NGC fleet as defence ministry inks deal",
            GRSE, "c", hours=5),
        rec("d.example/tanks", "Army gets first light tanks", OTHER, "d", hours=4),
    ]
    matcher = SimilarityMatcher(GAZETTEER)
    store.upsert_articles(reports[:2], matcher)  # one batch, then another: both paths
    store.upsert_articles(reports[2:], matcher)
    stories, reasons = _stories(store)
    assert stories["a.example/navy"] == stories["b.example/inside"] == stories["c.example/grse"]
    assert stories["d.example/tanks"] != stories["a.example/navy"]
    assert "a.example/navy" not in reasons and "d.example/tanks" not in reasons
    for key in ("b.example/inside", "c.example/grse"):
        assert reasons[key].startswith("shared: ")
        assert "₹36,000 crore" in reasons[key] and "brahmos" in reasons[key]
    assert "garden reach" in reasons["c.example/grse"]


TRANCHE_2 = (
    "Garden Reach Shipbuilders has signed a second contract with the Ministry of Defence, "
    "worth ₹24,500 crore, for four more next-generation corvettes, taking the programme to ten "
    "ships. The follow-on vessels will be built in Kolkata alongside the first batch and will "
    "also carry BrahMos missiles and anti-submarine sensors, replacing Kora-class ships that "
    "are due to retire. Officials said deliveries of the second batch would begin in 2032.")


@pytest.mark.parametrize("days", [1, 7])
def test_another_tranche_of_one_deal_with_other_amounts_is_another_event(
        store: Store, days: int) -> None:
    first = rec("a.example/tranche-1", "Navy signs ₹36,000-crore contract for six "
                "next-generation corvettes", NAVY, "a")
    second = rec("b.example/tranche-2", "Garden Reach wins follow-on corvette order",
                 TRANCHE_2, "b", hours=24 * days)
    store.upsert_articles([first], SimilarityMatcher(GAZETTEER))
    store.upsert_articles([second], SimilarityMatcher(GAZETTEER))
    stories, reasons = _stories(store)
    assert stories["a.example/tranche-1"] != stories["b.example/tranche-2"]
    assert reasons == {}


def test_a_key_too_many_stored_articles_carry_is_no_lookup_key(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.stories.base as base
    import storage.stories.pools as pools

    # Every key the stored report has is then carried by more articles than allowed.
    monkeypatch.setattr(base, "MAX_KEY_ARTICLES", 0)
    monkeypatch.setattr(pools, "MAX_KEY_ARTICLES", 0)
    first = rec("a.example/navy", "Navy signs ₹36,000-crore contract for six next-generation "
                "corvettes", NAVY, "a")
    second = rec("b.example/inside", "Six warships, one shipyard: inside the Navy's biggest "
                 "surface order in a decade", INSIDE, "b", hours=3)
    store.upsert_articles([first], SimilarityMatcher(GAZETTEER))
    store.upsert_articles([second], SimilarityMatcher(GAZETTEER))
    stories, reasons = _stories(store)
    assert stories["a.example/navy"] != stories["b.example/inside"]
    assert reasons == {}


def test_reprocess_links_reports_stored_before_story_keys(db_url: str, tmp_path: Path) -> None:
    """Stored without keys or links (as before revision 0016), then `newsmon reprocess`
    links the report written apart, with its reason, twice over without piling up."""
    import yaml
    from typer.testing import CliRunner

    from newsmon.app import app
    from newsmon.cli import _load_commands

    store = Store.from_url(db_url)
    first = rec("a.example/navy", "Navy signs ₹36,000-crore contract for six next-generation "
                "corvettes", NAVY, "a")
    second = rec("b.example/inside", "Six warships, one shipyard: inside the Navy's biggest "
                 "surface order in a decade", INSIDE, "b", hours=3)
    for r in (first, second):
        r.story_keys = []
    store.upsert_articles([first, second], SimilarityMatcher(GAZETTEER))
    assert _stories(store)[1] == {}
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"database_url": db_url, "sources": []}))
    _load_commands()
    for _ in range(2):
        result = CliRunner().invoke(app, ["reprocess", "--config", str(settings)])
        assert result.exit_code == 0, result.output
    stories, reasons = _stories(store)
    store.close()
    assert stories["a.example/navy"] == stories["b.example/inside"]
    assert list(reasons) == ["b.example/inside"]
    assert reasons["b.example/inside"].startswith("shared: ")
