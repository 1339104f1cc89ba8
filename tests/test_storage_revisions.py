"""storage.revisions: which re-fetches may replace a stored article; version texts; and the
store keeping rejected re-fetches as versions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select

from storage import ArticleRecord, Outcome, Store
from storage.migrate import alembic_config, upgrade
from storage.models import ArticleURL, ArticleVersion
from storage.revisions import Stored, is_front_page, judge, pack, pack_list, unpack, unpack_list

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PARAS = [
    "The defence ministry approved the purchase of twelve coastal surveillance radars on "
    "Tuesday, officials said, extending a network along the western seaboard.",
    "The contract, worth an estimated 1,200 crore rupees, goes to a domestic manufacturer "
    "and includes maintenance for ten years, according to the ministry's statement.",
    "Naval planners have argued for years that gaps in low-level coverage leave small boats "
    "undetected near the coast, and the new stations are meant to close them.",
    "Deliveries are to begin within eighteen months of signature; the first stations will "
    "go up on the islands, where the navy says the gaps are widest.",
    "Opposition members asked for the cost of the network to be placed before parliament, "
    "and the ministry said a statement would follow in the winter session.",
]
BODY = "\n".join(PARAS)
STORED = Stored(title="Ministry clears coastal radar order", body=BODY)


def rec(**kw: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url_key": "example.com/news/radar-1", "canonical_url": "https://example.com/news/radar-1",
        "url": "https://example.com/news/radar-1", "source": "src",
        "title": "Ministry clears coastal radar order", "body": BODY, "fetched_at": T0,
        "topics": {"defence": 5.0}, "refetch": True,
    }
    values.update(kw)
    return ArticleRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "reason"), [
    ({"wall": "Cloudflare challenge: title 'Just a moment...'"},
     "wall: Cloudflare challenge: title 'Just a moment...'"),
    ({"redirected_to": "https://example.com/"}, "redirected to the front page https://example.com/"),
    ({"redirected_to": "https://www.example.com/index.html"},
     "redirected to the front page https://www.example.com/index.html"),
    ({"title": "  "}, "no title"),
    ({"body": "Subscribe to read the full story."}, "stub: 6 words (stored: 128)"),
    ({"body": "\n".join(PARAS[:2])}, "body lost most of its words: 48 of 128 (38%)"),
    ({"title": "Test Wire"},
     "title became the site's: 'Test Wire' (stored: 'Ministry clears coastal radar order')"),
])
def test_much_worse_refetches_are_rejected(changes: dict[str, object], reason: str) -> None:
    assert judge(STORED, rec(**changes)) == reason


def test_a_redirect_to_another_article_is_rejected_and_a_moved_article_is_not() -> None:
    other = ("The state election commission announced the dates for the municipal polls on "
             "Wednesday, with counting to follow a week later in all districts. ") * 3
    reason = judge(STORED, rec(redirected_to="https://example.com/news/polls-2", body=other))
    assert reason is not None and reason.startswith(
        "redirected to another page https://example.com/news/polls-2 (0% of the text)")
    moved = rec(redirected_to="https://example.com/news/radar-1-coastal-order")
    assert judge(STORED, moved) is None


def test_a_revised_article_is_accepted() -> None:
    corrected = BODY.replace("1,200 crore", "1,250 crore").replace("ten years", "twelve years")
    assert judge(STORED, rec(body=corrected + "\nThe ministry corrected the figure.")) is None
    assert judge(STORED, rec(title="Ministry clears coastal radar order, corrected")) is None


@pytest.mark.parametrize(("url", "front"), [
    ("https://example.com/", True), ("https://example.com", True),
    ("example.com/", True), ("example.com", True), ("example.com/index.php", True),
    ("https://example.com/?p=123", False), ("example.com/news/a", False),
    ("https://example.com/home-affairs/a-story", False),
])
def test_front_pages(url: str, front: bool) -> None:
    assert is_front_page(url) is front


def test_texts_pack_and_unpack() -> None:
    assert unpack(pack("Café — ü")) == "Café — ü" and pack(None) is None
    assert unpack_list(pack_list(["a", "ü"])) == ["a", "ü"] and unpack_list(None) is None


def test_a_rejected_refetch_leaves_the_article_and_is_kept_as_a_version(store: Store) -> None:
    first = rec(refetch=False, highlights=["Twelve radars"], alias_keys=["example.com/r/1"])
    assert store.upsert_articles([first]) == [Outcome.NEW]
    wall = rec(title="Access Denied", body="You don't have permission to access this.",
               wall="Akamai access denied: 'reference #18.1'", url="https://example.com/",
               alias_keys=["example.com/"], fetched_at=T0 + timedelta(hours=1), topics={})
    assert store.upsert_articles([wall]) == [Outcome.REJECTED]
    assert store.upsert_articles([wall]) == [Outcome.REJECTED]  # kept once
    other_ray = rec(title="Access Denied", body="Reference #18.2", topics={},
                    wall="Akamai access denied: 'reference #18.2'")
    assert store.upsert_articles([other_ray]) == [Outcome.REJECTED]  # the same kind: once
    (art,) = store.articles()
    assert (art.title, art.body, art.url) == (first.title, BODY, first.url)
    with store.session() as session:
        versions = list(session.execute(select(ArticleVersion).order_by(ArticleVersion.id))
                        .scalars())
        topics = art.topic_scores, art.primary_topic
        keys = set(session.execute(select(ArticleURL.url_key)).scalars())
    assert [(v.status, v.reason, v.title) for v in versions] == [
        ("accepted", None, first.title),
        ("rejected", "wall: Akamai access denied: 'reference #18.1'", "Access Denied")]
    assert unpack(versions[0].body) == BODY
    assert unpack_list(versions[0].highlights) == ["Twelve radars"]
    assert unpack(versions[1].body) == wall.body
    assert topics == (first.topic_scores, first.primary_topic)
    assert keys == {"example.com/news/radar-1", "example.com/r/1"}  # no front-page alias


def test_an_accepted_revision_keeps_the_previous_text(store: Store) -> None:
    store.upsert_articles([rec(refetch=False)])
    assert store.upsert_articles([rec(body=PARAS[0])]) == [Outcome.REJECTED]
    revised = BODY.replace("1,200 crore", "1,250 crore")
    assert store.upsert_articles([rec(body=revised, fetched_at=T0 + timedelta(hours=1))]) == [
        Outcome.UPDATED]
    # After an accepted version, a rejection of the same kind is kept again.
    assert store.upsert_articles([rec(body=PARAS[1])]) == [Outcome.REJECTED]
    (art,) = store.articles()
    with store.session() as session:
        versions = list(session.execute(select(ArticleVersion).order_by(ArticleVersion.id))
                        .scalars())
    assert art.body == revised
    assert [(v.status, unpack(v.body)) for v in versions] == [
        ("accepted", BODY), ("rejected", PARAS[0]), ("accepted", revised),
        ("rejected", PARAS[1])]


def test_revision_0008_down_and_up_leaves_old_versions_without_text(db_url: str) -> None:
    store = Store.from_url(db_url)
    try:
        store.upsert_articles([rec(refetch=False)])
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        columns = {c["name"] for c in inspect(store.engine).get_columns("article_versions")}
        assert "body" not in columns and "status" not in columns
        upgrade(store.engine)
        with store.session() as session:
            (version,) = session.execute(select(ArticleVersion)).scalars()
            assert (version.status, version.reason, version.body, version.highlights) == (
                "accepted", None, None, None)
    finally:
        store.close()
