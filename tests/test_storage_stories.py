"""One story, once: near-duplicate copies and same-event pieces filed under one story,
through the real classifier, signature and SQL candidate search, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from storage import ArticleRecord, Outcome, Store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TAXONOMY = Taxonomy.load()
GAZETTEER = Gazetteer.load()

WIRE = (
    "New Delhi, Nov 24 (PTI) India and the United States on Tuesday signed a framework "
    "agreement for the co-production of Stryker armoured vehicles and Javelin anti-tank "
    "missiles, the Ministry of Defence said in a statement. The agreement, concluded after "
    "two years of negotiations, covers the transfer of technology for the vehicle's hull and "
    "the missile's seeker, and will see the first locally assembled units delivered to the "
    "Army within three years. Officials said the deal would strengthen the defence "
    "industrial base and create jobs in small and medium enterprises that supply components. "
    "The Pentagon welcomed the step as a sign of deepening defence cooperation between the "
    "two countries, which have held several joint exercises this year. Defence Secretary "
    "Rajesh Kumar Singh said procurement procedures had been simplified to speed up such "
    "partnerships, and that further proposals for naval systems were under consideration."
)


def rec(key: str, title: str, body: str, source: str, minutes: int = 0) -> ArticleRecord:
    r = ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                      source=source, title=title, body=body,
                      fetched_at=T0 + timedelta(minutes=minutes),
                      published_at=T0 + timedelta(minutes=minutes))
    enrich(r, TAXONOMY, GAZETTEER)
    return r


def test_copies_and_same_event_pieces_share_a_story(store: Store) -> None:
    matcher = SimilarityMatcher(GAZETTEER)
    original = rec("wire.example/stryker", "India, US sign Stryker and Javelin co-production "
                   "pact", WIRE, "wire")
    copy = rec("daily.example/news/123", "Stryker, Javelin co-production pact signed by India "
               "and US", "Follow us for more news.\n\n" + WIRE.replace("three years",
               "four years") + "\n\nSubscribe to our newsletter.", "daily", minutes=30)
    own = rec("times.example/defence/stryker-javelin", "India and US sign Stryker Javelin "
              "co-production pact in Delhi", "Washington and New Delhi moved closer on armoured "
              "vehicles on Tuesday when negotiators initialled a co-production arrangement "
              "covering Stryker vehicles and Javelin missiles. Our correspondent reports that "
              "the Indian Army will receive the first units within a few years, and that the "
              "Pentagon sees the deal as a milestone for the partnership between the United "
              "States and India in defence manufacturing." * 2, "times", minutes=90)
    unrelated = rec("trade.example/steel", "EU and India narrow gaps on steel levy",
                    "Negotiators from the European Union and India narrowed their differences "
                    "on a carbon levy for steel imports, trade officials said, as the two sides "
                    "prepared for a final round of talks on a free trade agreement covering "
                    "tariffs, customs duty and market access for agricultural exports." * 2,
                    "trade", minutes=60)
    store.upsert_articles([original], matcher)
    store.upsert_articles([copy, unrelated], matcher)
    store.upsert_articles([own], matcher)

    arts = {a.url_key: a for a in store.articles()}
    o, c, w, u = (arts[k] for k in ("wire.example/stryker", "daily.example/news/123",
                                    "times.example/defence/stryker-javelin",
                                    "trade.example/steel"))
    assert o.story_id is not None and o.duplicate_of_id is None
    assert c.duplicate_of_id == o.id and c.story_id == o.story_id
    assert w.duplicate_of_id is None and w.story_id == o.story_id
    assert u.story_id not in (None, o.story_id)
    assert (o.primary_topic, u.primary_topic) == ("defence", "trade")

    from storage.models import Story
    with store.session() as s:
        story = s.get(Story, o.story_id)
        assert story is not None
        assert (story.primary_article_id, story.article_count, story.source_count) == (o.id, 3, 3)


def test_without_a_matcher_every_article_opens_its_own_story(store: Store) -> None:
    a = rec("a.example/1", "India, US sign pact", WIRE, "a")
    b = rec("b.example/1", "India, US sign pact", WIRE, "b")
    store.upsert_articles([a, b])
    x, y = store.articles()
    assert x.story_id != y.story_id and x.story_id is not None


def test_an_update_keeps_the_story_and_refreshes_topics(store: Store) -> None:
    matcher = SimilarityMatcher(GAZETTEER)
    first = rec("a.example/1", "India, US sign defence pact", WIRE, "a")
    store.upsert_articles([first], matcher)
    (before,) = store.articles()
    changed = rec("a.example/1", "India, US sign defence pact", WIRE + " Updated with the "
                  "text of the joint statement on tariffs and exports and trade deal talks.",
                  "a", minutes=120)
    store.upsert_articles([changed], matcher)
    (after,) = store.articles()
    assert after.story_id == before.story_id
    assert after.topic_scores != before.topic_scores


def test_reprocess_command_refiles_stories_and_topics(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Stored without clustering (as before an upgrade), then `newsmon reprocess` files the
    copy under the original's story and sets topics."""
    import yaml
    from typer.testing import CliRunner

    from newsmon.app import app
    from newsmon.cli import _load_commands

    store = Store.from_url(db_url)
    original = rec("wire.example/stryker", "India, US sign Stryker co-production pact", WIRE,
                   "wire")
    copy = rec("daily.example/123", "Stryker co-production pact signed", WIRE, "daily", 30)
    for r in (original, copy):
        r.topics, r.primary_topic, r.entities, r.bands = {}, None, {}, []
    store.upsert_articles([original, copy])
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"database_url": db_url, "sources": []}))
    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(settings),
                                      "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "reprocessed 2 articles" in result.output
    o, c = sorted(store.articles(), key=lambda a: a.id)
    assert c.duplicate_of_id == o.id and c.story_id == o.story_id
    assert o.primary_topic == "defence"
    from storage.models import Story
    with store.session() as s:
        stories = s.query(Story).all()
        assert [(st.primary_article_id, st.article_count, st.source_count) for st in stories
                ] == [(o.id, 2, 2)]
    store.close()


def test_a_story_opened_and_joined_in_one_batch_is_counted(store: Store) -> None:
    matcher = SimilarityMatcher(GAZETTEER)
    original = rec("wire.example/a", "India, US sign Stryker co-production pact", WIRE, "wire")
    copy = rec("daily.example/b", "Stryker pact signed", WIRE, "daily", 5)
    store.upsert_articles([original, copy], matcher)
    o, c = sorted(store.articles(), key=lambda a: a.id)
    assert c.story_id == o.story_id
    from storage.models import Story
    with store.session() as s:
        story = s.get(Story, o.story_id)
        assert story is not None
        assert (story.article_count, story.source_count) == (2, 2)


def test_headline_pairs_find_exactly_the_headlines_sharing_two_words() -> None:
    """Looking candidates up by word pairs is exact: two headlines share at least two words
    if and only if they share a pair, and the number of shared pairs gives the number of
    shared words back."""
    from hypothesis import given
    from hypothesis import strategies as st

    from storage.stories.common import _words_sharing, headline_pairs

    words = st.lists(st.sampled_from(["army", "navy", "drill", "port", "deal", "tariff",
                                      "steel", "exercise", "é", "z"]), max_size=8)

    @given(words, words)
    def check(a: list[str], b: list[str]) -> None:
        shared_words = len(set(a) & set(b))
        shared_pairs = len(set(headline_pairs(a)) & set(headline_pairs(b)))
        assert (shared_words >= 2) == (shared_pairs >= 1)
        if shared_pairs:
            assert _words_sharing(shared_pairs) == shared_words

    check()
    assert headline_pairs(["navy", "army", "navy"]) == ["army navy"]
    assert headline_pairs(["army"]) == []


def test_the_filer_is_the_one_of_the_session_s_dialect(store: Store) -> None:
    from storage.stories import story_filer
    from storage.stories.postgres import PostgresStoryFiler
    from storage.stories.sqlite import SqliteStoryFiler

    expected = {"sqlite": SqliteStoryFiler, "postgresql": PostgresStoryFiler}
    with store.session() as session:
        filer = story_filer(session, SimilarityMatcher(GAZETTEER))
        assert type(filer) is expected[store.engine.dialect.name]


def _write_at_once(url: str, batches: list[list[ArticleRecord]]) -> list[list[Outcome]]:
    """Write each batch from its own Store and thread while the story lock is held
    elsewhere; release it once every writer waits for it (all past their lookups and, on
    PostgreSQL, past writing their new articles' lookup rows). Returns each batch's
    outcomes."""
    import threading
    import time

    from sqlalchemy import create_engine, text

    from storage.stories import STORY_LOCK

    stores = [Store.from_url(url) for _ in batches]
    matcher = SimilarityMatcher(GAZETTEER)
    holder = create_engine(url, isolation_level="AUTOCOMMIT")
    errors: list[BaseException] = []
    outcomes: list[list[Outcome]] = [[] for _ in batches]

    def write(k: int) -> None:
        try:
            outcomes[k] = stores[k].upsert_articles(batches[k], matcher)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with holder.connect() as lock_conn:
        lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": STORY_LOCK})
        threads = [threading.Thread(target=write, args=(k,)) for k in range(len(batches))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        waiting = 0
        while waiting < len(batches) and time.monotonic() < deadline:
            waiting = lock_conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )).scalar_one()
            time.sleep(0.05)
        assert waiting == len(batches)
        lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": STORY_LOCK})
    for t in threads:
        t.join(30)
    holder.dispose()
    for store in stores:
        store.close()
    assert not errors
    return outcomes


def test_writers_that_look_up_at_once_still_file_one_story(pg_database: str) -> None:
    """PostgreSQL writers look their candidates up before taking the story lock. Three writers
    (an original, its copy, a same-event piece) all look up while the lock is held
    elsewhere, so none sees the others; once they file, one at a time, each must still find
    what the others filed in between (by filing number), and all three share one story."""
    from conftest import _reset_pg

    from storage.models import Story

    _reset_pg(pg_database)
    original = rec("wire.example/stryker", "India, US sign Stryker and Javelin co-production "
                   "pact", WIRE, "wire")
    copy = rec("daily.example/news/123", "Stryker, Javelin co-production pact signed by India "
               "and US", WIRE + "\n\nSubscribe to our newsletter.", "daily", minutes=30)
    piece = rec("times.example/defence/stryker", "India and US sign Stryker Javelin "
                "co-production pact in Delhi", "Washington and New Delhi moved closer on "
                "armoured vehicles when negotiators initialled a co-production arrangement "
                "for Stryker vehicles and Javelin missiles for the Indian Army." * 3, "times",
                minutes=90)
    _write_at_once(pg_database, [[original], [copy], [piece]])
    store = Store.from_url(pg_database)
    stores = [store]
    arts = {a.url_key: a for a in stores[0].articles()}
    o, c, p = (arts[r.url_key] for r in (original, copy, piece))
    assert o.story_id == c.story_id == p.story_id is not None
    # The copy and the original are marked copies one of the other, whichever filed first.
    assert (c.duplicate_of_id, o.duplicate_of_id) in ((o.id, None), (None, c.id))
    assert p.duplicate_of_id is None
    with stores[0].session() as s:
        (story,) = s.query(Story).all()
        assert (story.article_count, story.source_count) == (3, 3)
    store.close()


def test_a_key_stored_by_another_writer_meanwhile_is_updated_not_inserted(
        pg_database: str) -> None:
    """PostgreSQL writers write a new article's versions, topics, entities, LSH bands and
    headline pairs before the story lock, and its row under it. Two writers whose batches
    share a key both find it new, write its rows, and wait for the lock; the second to get
    it must find the key taken, drop what it wrote for it, store the rest, and treat the key
    as known (its own copy of the text is a new version)."""
    from conftest import _reset_pg
    from sqlalchemy import text

    _reset_pg(pg_database)
    shared = rec("wire.example/stryker", "India, US sign Stryker and Javelin co-production "
                 "pact", WIRE, "wire")
    changed = rec("wire.example/stryker", shared.title, WIRE + " The deal was welcomed.",
                  "wire", minutes=5)
    one = rec("trade.example/steel", "EU and India narrow gaps on steel levy",
              "Negotiators narrowed their differences on a carbon levy for steel imports, "
              "trade officials said on Tuesday." * 3, "trade", minutes=10)
    two = rec("times.example/cyclone", "Cyclone Dana makes landfall near Paradip",
              "The storm crossed the coast overnight with winds of 110 km/h, the weather "
              "office said, and thousands were moved to shelters." * 3, "times", minutes=20)
    outcomes = _write_at_once(pg_database, [[shared, one], [changed, two]])
    assert sorted(o.value for batch in outcomes for o in batch) == sorted(
        ["new", "new", "new", "updated"])
    store = Store.from_url(pg_database)
    arts = {a.url_key: a for a in store.articles()}
    assert sorted(arts) == sorted([shared.url_key, one.url_key, two.url_key])
    assert all(a.story_id is not None for a in arts.values())
    with store.engine.connect() as conn:
        for table in ("article_versions", "article_topics", "article_entities",
                      "article_bands", "article_term_pairs", "article_urls"):
            orphans = conn.execute(text(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                "(SELECT 1 FROM articles a WHERE a.id = t.article_id)")).scalar_one()
            assert orphans == 0, table
        wire = arts[shared.url_key].id
        bands = conn.execute(text("SELECT count(*) FROM article_bands WHERE article_id = :a"),
                             {"a": wire}).scalar_one()
        assert bands == len(set(shared.bands)) == len(set(changed.bands))
        versions = conn.execute(text(
            "SELECT count(*) FROM article_versions WHERE article_id = :a"), {"a": wire})
        assert versions.scalar_one() == 2
        stories = conn.execute(text("SELECT count(*), sum(article_count) FROM stories")).one()
        assert tuple(stories) == (3, 3)
    store.close()


def test_a_lookup_row_without_its_article_is_refused_at_commit(pg_database: str) -> None:
    """The foreign keys a PostgreSQL writer defers to commit (revision 0007) still hold."""
    import pytest
    from conftest import _reset_pg
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from storage.write_postgres import DEFERRED_FKS

    _reset_pg(pg_database)
    store = Store.from_url(pg_database)
    with pytest.raises(IntegrityError, match="fk_article_topics_article_id_articles"):
        with store.engine.begin() as conn:
            conn.execute(text(f"SET CONSTRAINTS {', '.join(DEFERRED_FKS)} DEFERRED"))
            conn.execute(text("INSERT INTO article_topics (article_id, topic, score) "
                              "VALUES (424242, 'defence', 1.0)"))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM article_topics")).scalar_one() == 0
    store.close()

