"""newsmon reprocess re-applies an edited topics file, its contexts and lead rule included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from config.taxonomy import PACKAGED_TOPICS
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from newsmon.app import app
from newsmon.cli import _load_commands
from storage import ArticleRecord, Store
from storage.models import ArticleTopic, Story

T0 = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
POWER_TITLE = "TNERC tariff order: power bills to rise from December 1"
POWER_BODY = ("The Tamil Nadu Electricity Regulatory Commission on Wednesday approved an "
              "increase of 15 paise per unit in the electricity tariff for domestic consumers.")
CYCLONE_TITLE = "Cyclone Dana: heavy rain lashes Odisha coast, NDRF, Navy on standby"
CYCLONE_BODY = ("Severe cyclonic storm Dana made landfall near Dhamra port early on Thursday, "
                "uprooting trees and electricity poles, officials said. More than 5.8 lakh "
                "people had been evacuated to cyclone shelters in Odisha and about 2 lakh in "
                "West Bengal.\n\nHeavy rain was reported in Bhadrak and Balasore districts.")


def _without_new_rules(tmp_path: Path) -> Path:
    """The packaged topics as they were before contexts and the lead rule."""
    raw = yaml.safe_load(PACKAGED_TOPICS.read_text(encoding="utf-8"))
    raw.pop("lead_words")
    for spec in raw["topics"].values():
        spec.pop("contexts", None)
    path = tmp_path / "old-topics.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _record(key: str, title: str, body: str, taxonomy: Taxonomy) -> ArticleRecord:
    rec = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                        source="wire", title=title, body=body, fetched_at=T0, published_at=T0)
    enrich(rec, taxonomy, Gazetteer.load())
    return rec


def _topics(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {a.title: set() for a in store.articles()}
    titles = {a.id: a.title for a in store.articles()}
    with store.session() as s:
        for aid, topic in s.execute(select(ArticleTopic.article_id, ArticleTopic.topic)):
            out[titles[aid]].add(topic)
    return out


def test_reprocess_applies_contexts_and_the_lead_rule(db_url: str, tmp_path: Path) -> None:
    old = Taxonomy.load(_without_new_rules(tmp_path))
    store = Store.from_url(db_url)
    store.upsert_articles([_record("wire.example/power", POWER_TITLE, POWER_BODY, old),
                           _record("wire.example/cyclone", CYCLONE_TITLE, CYCLONE_BODY, old)])
    assert _topics(store) == {POWER_TITLE: {"trade"}, CYCLONE_TITLE: {"defence"}}

    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"database_url": db_url, "sources": [],
                                        "topics_file": str(PACKAGED_TOPICS)}))
    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(settings)])
    assert result.exit_code == 0, result.output
    assert "reprocessed 2 articles" in result.output
    assert _topics(store) == {POWER_TITLE: set(), CYCLONE_TITLE: set()}
    assert {a.primary_topic for a in store.articles()} == {None}
    store.close()


def test_reprocess_refuses_an_invalid_context(db_url: str, tmp_path: Path) -> None:
    topics = tmp_path / "topics.yaml"
    raw = yaml.safe_load(PACKAGED_TOPICS.read_text(encoding="utf-8"))
    raw["topics"]["trade"]["contexts"][0]["terms"] = ["tarif"]
    topics.write_text(yaml.safe_dump(raw), encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"database_url": db_url, "sources": [],
                                        "topics_file": str(topics)}))
    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(settings)])
    assert result.exit_code == 2, result.output
    assert "topic 'trade', field 'contexts.0.terms': 'tarif' not among the topic's terms" in \
        result.output


def test_reprocess_files_each_copy_under_the_first_seen_as_a_fresh_run_would(
        db_url: str, tmp_path: Path) -> None:
    """Stored enriched but not clustered; re-processed one article a batch, each copy is
    filed among the articles seen before it only (those not re-processed yet are no
    candidates, though they keep their old filing meanwhile): the first seen is the
    original and the story's primary, as a fresh run files them."""
    taxonomy, gazetteer = Taxonomy.load(), Gazetteer.load()
    rnd = random.Random(10)
    vocab = ["".join(rnd.choice("bcdfgklmnprstv") + rnd.choice("aeiou") for _ in range(4))
             for _ in range(3000)]
    records = []
    for k in range(3):
        title = " ".join(rnd.sample(vocab, 8)).capitalize()
        body = " ".join(rnd.choice(vocab) for _ in range(120)) + "."
        for j, source in enumerate(("wire", "daily", "herald")):
            rec = ArticleRecord(url_key=f"{source}.example/{k}",
                                canonical_url=f"https://{source}.example/{k}",
                                url=f"https://{source}.example/{k}", source=source,
                                title=title, body=body,
                                fetched_at=T0 + timedelta(minutes=10 * k + j))
            enrich(rec, taxonomy, gazetteer)
            records.append(rec)
    store = Store.from_url(db_url)
    store.upsert_articles(records)  # no matcher: a story each
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"database_url": db_url, "sources": []}))
    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(settings),
                                      "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    by_key = {a.url_key: a for a in store.articles()}
    with store.session() as s:
        stories = {st.id: st for st in s.execute(select(Story)).scalars()}
    assert len(stories) == 3
    for k in range(3):
        wire = by_key[f"wire.example/{k}"]
        copies = [by_key[f"{src}.example/{k}"] for src in ("daily", "herald")]
        assert wire.duplicate_of_id is None
        assert [(c.story_id, c.duplicate_of_id) for c in copies] == [(wire.story_id, wire.id)] * 2
        story = stories[wire.story_id]
        assert (story.primary_article_id, story.article_count, story.source_count) == (
            wire.id, 3, 3)
    store.close()
