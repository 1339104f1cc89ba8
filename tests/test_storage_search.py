"""storage.search: the query language, FTS5 and tsvector search, filters, snippets, sync."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from newsfactory import T0, Newsroom, open_newsroom
from sqlalchemy import delete, func, select, text

from storage import search_index
from storage.migrate import alembic_config, current_revisions, head_revisions, upgrade
from storage.models import Article
from storage.query_language import QuerySyntaxError, parse_query, to_fts5
from storage.search import CursorError, SearchFilters, search, search_page
from storage.store import Store


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def ids(hits: list) -> list[int]:  # type: ignore[type-arg]
    return [h.id for h in hits]


# -- the query language (no database) ------------------------------------------------------


@pytest.mark.parametrize(("query", "fts5"), [
    ("tariff", '"tariff"'),
    ("india tariff", '("india" AND "tariff")'),
    ("india AND tariff", '("india" AND "tariff")'),
    ('"free trade agreement"', '"free trade agreement"'),
    ("missil*", '"missil" *'),
    ("tariff OR duty", '("tariff" OR "duty")'),
    ("a OR b c", '("a" OR ("b" AND "c"))'),
    ("tariff -steel", '(("tariff") NOT "steel")'),
    ("tariff NOT steel", '(("tariff") NOT "steel")'),
    ('-"free trade" india', '(("india") NOT "free trade")'),
    ("(tariff OR duty) -(steel OR aluminium)",
     '((("tariff" OR "duty")) NOT ("steel" OR "aluminium"))'),
    ("and or not", '("and" AND "or" AND "not")'),
    ('say "he said ""no"""', '("say" AND "he said" AND "no")'),
    ("U.S. — tariffs", '("U.S." AND "tariffs")'),
])
def test_queries_render_for_fts5(query: str, fts5: str) -> None:
    node = parse_query(query)
    assert node is not None
    assert to_fts5(node) == fts5


@pytest.mark.parametrize(("query", "message"), [
    ('"free trade', 'unterminated phrase: add the closing " (at character 1)'),
    ("(tariff OR duty", "unmatched '(': add the closing ')' (at character 1)"),
    ("tariff)", "unmatched ')': remove it or add a '(' before it (at character 7)"),
    ("()", "empty parentheses or unmatched ')': put words inside, as in '(tariff OR duty)' "
           "(at character 2)"),
    ("OR tariff", "'OR' needs something to find on both sides, as in 'tariff OR duty' "
                  "(at character 1)"),
    ("tariff OR", "'OR' needs something to find on both sides, as in 'tariff OR duty' "
                  "(at character 8)"),
    ("tariff AND", "'AND' needs something to find on both sides, as in 'india AND tariff' "
                   "(at character 8)"),
    ("tariff NOT", "NOT needs a word, phrase or group to exclude, as in 'tariff -steel' "
                   "(at character 8)"),
    ("-steel", "a query cannot only exclude: add something to find, as in 'tariff -steel'"),
    ("NOT steel", "a query cannot only exclude: add something to find, as in 'tariff -steel'"),
    ("tariff OR -steel", "an exclusion cannot be one side of 'OR': exclude it from the whole "
                         "query instead, as in '(tariff OR duty) -steel'"),
    ("*ssile", "'*ssile': '*' only goes at the end of a word of letters and digits, as in "
               "'missil*' (at character 1)"),
    ("mis*sile", "'mis*sile': '*' only goes at the end of a word of letters and digits, as in "
                 "'missil*' (at character 1)"),
])
def test_malformed_queries_say_how_to_fix_them(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as exc:
        parse_query(query)
    assert str(exc.value) == message


@pytest.mark.parametrize("query", ["", "   ", "— & ||", "_"])
def test_nothing_to_search_for(query: str) -> None:
    assert parse_query(query) is None


# -- searching -----------------------------------------------------------------------------


def test_words_are_stemmed_and_titles_rank_first(room: Newsroom) -> None:
    body_only, in_title = room.add(
        room.article("Navy commissions a new frigate",
                     body="The frigate carries missiles and a helicopter. " * 4),
        room.article("India tests BrahMos missile", body="A test off Odisha. " * 4,
                     at=T0 - timedelta(hours=5)),
    )
    room.one("Rupee falls against the dollar", body="Markets were calm. " * 4)
    hits = search(room.store, "missiles")
    assert ids(hits) == [in_title, body_only]
    assert hits[0].rank is not None and hits[0].rank > (hits[1].rank or 0)
    assert ids(search(room.store, "MISSILE")) == [in_title, body_only]


def test_body_only_matches_follow_newest_first(room: Newsroom) -> None:
    older, newer = room.add(
        room.article("Budget session opens", body="Missile spending rises. " * 9,
                     at=T0 - timedelta(days=1)),
        room.article("Parliament debates", body="One missile. " * 2, at=T0),
    )
    headline = room.one("Missile test today", body="Odisha coast.", at=T0 - timedelta(days=3),
                        highlights=["A missile flew"])
    hits = search(room.store, "missile")
    assert ids(hits) == [headline, newer, older]
    assert hits[1].rank == hits[2].rank == 0
    assert ids(search(room.store, "missile", order="date")) == [newer, older, headline]


def test_phrase_boolean_and_prefix(room: Newsroom) -> None:
    fta = room.one("India and UK sign free trade agreement",
                   body="The agreement on free trade covers goods. " * 3)
    loose = room.one("Trade talks stall", body="No agreement yet; trade is not free. " * 3)
    steel = room.one("US steel tariffs rise", body="Tariffs on steel and aluminium. " * 3)
    duty = room.one("Anti-dumping duty on Chinese glass", body="A duty for five years. " * 3)
    assert ids(search(room.store, '"free trade agreement"')) == [fta]
    assert set(ids(search(room.store, "free trade agreement"))) == {fta, loose}
    assert set(ids(search(room.store, "tariffs OR duty"))) == {steel, duty}
    assert ids(search(room.store, "(tariffs OR duty) -steel")) == [duty]
    assert ids(search(room.store, "dump*")) == [duty]
    assert set(ids(search(room.store, "agree*"))) == {fta, loose}


def test_highlights_are_searched_and_snippets_mark_matches(room: Newsroom) -> None:
    aid = room.one("Defence ministry signs contracts", body="Contracts were signed. " * 3,
                   highlights=["Rs 2,000 crore for Tejas engines", "HAL to deliver by 2028"])
    (hit,) = search(room.store, "Tejas")
    assert hit.id == aid
    assert "**Tejas**" in hit.snippet
    (hit,) = search(room.store, "tejas", marks=("<b>", "</b>"))
    assert "<b>Tejas</b>" in hit.snippet
    (hit,) = search(room.store, '"tejas engines"', marks=("[", "]"))
    assert "[Tejas engines]" in hit.snippet


def test_filters_combine(room: Newsroom) -> None:
    army = room.one("Army buys drones", source="hindu", topics={"defence": 9},
                    entities={"country:in": 2, "organisation:drdo": 1})
    navy = room.one("Navy buys drones", source="pib", topics={"defence": 8},
                    entities={"country:in": 1})
    tariff = room.one("Drones face import tariffs", source="hindu",
                      topics={"trade": 7, "defence": 5}, entities={"country:us": 1},
                      at=T0 - timedelta(days=3))
    fair = room.one("Drones at the county fair", source="hindu", topics={})

    def found(query: str | None, **filters: object) -> set[int]:
        return set(ids(search(room.store, query, SearchFilters(**filters))))  # type: ignore[arg-type]

    assert found("drones") == {army, navy, tariff, fair}
    assert found("drones", topic="defence") == {army, navy, tariff}
    assert found("drones", topic="defence", source="hindu") == {army, tariff}
    assert found(None, entity="organisation:drdo") == {army}
    assert found(None, entity="drdo") == {army}
    assert found(None, entity="us") == {tariff}
    assert found("drones", source="hindu", since=T0 - timedelta(days=1)) == {army, fair}
    assert found("drones", until=T0 - timedelta(days=1)) == {tariff}
    assert found("drones", topic="defence", since=T0 - timedelta(days=1),
                 until=T0 + timedelta(seconds=1), entity="in") == {army, navy}
    assert found("drones", topic="trade", source="pib") == set()


def test_no_query_lists_newest_first_with_limit(room: Newsroom) -> None:
    old = room.one("Old story", at=T0 - timedelta(days=2))
    new = room.one("New story", at=T0)
    undated = room.one("Undated story", at=T0 - timedelta(days=1), published=False)
    assert ids(search(room.store, None)) == [new, undated, old]
    assert ids(search(room.store, None, limit=2)) == [new, undated]
    assert ids(search(room.store, "story", order="date")) == [new, undated, old]
    with pytest.raises(ValueError, match="limit must be at least 1"):
        search(room.store, None, limit=0)


def test_story_filter_finds_the_copies(room: Newsroom) -> None:
    a, b, c = room.add(
        room.article("Rafale deal signed", source="hindu", story="rafale"),
        room.article("Rafale deal signed", source="pib", at=T0 + timedelta(minutes=5)),
        room.article("France and India seal fighter jet deal", source="ht", story="rafale",
                     at=T0 + timedelta(minutes=9)),
    )
    hits = search(room.store, None, SearchFilters(story_id=search(room.store, None)[0].story_id))
    assert set(ids(hits)) == {a, b, c}


def test_hostile_queries_are_only_text(room: Newsroom) -> None:
    room.one("Ordinary title")
    for q in ["'; DROP TABLE articles; --", "title:x OR 1=1", 'a" OR "1"="1', "NEAR(a b)",
              "x) OR (1=1", "articles_fts MATCH 'x'", "^start", "col:word", "a + b"]:
        try:
            search(room.store, q)
        except QuerySyntaxError:
            pass
    assert room.store.count_articles() == 1
    assert len(search(room.store, "ordinary")) == 1


def test_index_follows_updates_and_deletes(room: Newsroom) -> None:
    rec = room.article("Budget for the navy", body="Ships and submarines. " * 4)
    (aid,) = room.add(rec)
    assert ids(search(room.store, "submarines")) == [aid]
    rec.body = "Aircraft carriers instead. " * 4
    rec.highlights = ["Two carriers ordered"]
    rec.fetched_at = T0 + timedelta(hours=1)
    room.add(rec)
    assert search(room.store, "submarines") == []
    assert ids(search(room.store, "carriers")) == [aid]
    with room.store.session() as s, s.begin():
        s.execute(delete(Article).where(Article.id == aid))
    assert search(room.store, "carriers") == []
    assert search(room.store, "navy") == []


def test_human_views(room: Newsroom) -> None:
    aid = room.one("Tank order placed", source="hindu", topics={"defence": 9, "trade": 6},
                   entities={"country:in": 2, "organisation:drdo": 3},
                   highlights=["First line", "Second line"])
    with room.store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM articles_view WHERE id = :i"), {"i": aid}
                           ).mappings().one()
        story = conn.execute(text("SELECT * FROM stories_view")).mappings().one()
    assert row["source"] == "hindu"
    assert row["topics"] == "defence,trade"
    assert row["entities"] == "organisation:drdo,country:in"
    assert row["primary_topic"] == "defence"
    assert row["highlights"] == "First line\nSecond line"
    assert row["story_id"] == story["id"]
    assert story["primary_source"] == "hindu"
    assert story["primary_url"] == row["url"]


def test_migration_downgrades_and_reindexes_existing_rows(room: Newsroom) -> None:
    from alembic import command

    aid = room.one("Submarine cable cut", body="A cable under the sea. " * 3,
                   highlights=["Repairs will take weeks"])
    engine = room.store.engine
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert "0004" not in current_revisions(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Article)).scalar_one() == 1
    upgrade(engine)
    assert current_revisions(engine) == head_revisions()
    # PostgreSQL: the upgrade queued the existing rows for the indexer.
    queued = 1 if engine.dialect.name == "postgresql" else 0
    assert search_index.pending(engine) == queued
    assert room.store.index_search() == queued
    assert search_index.pending(engine) == 0
    assert ids(search(room.store, "repairs")) == [aid]
    assert ids(search(room.store, "cable")) == [aid]


QUERY_ALPHABET = list('ab "()*-:^+.,;_&|\'') + ["AND", "OR", "NOT", "NEAR", "é", "中", "\x00"]


def test_any_input_is_a_result_or_a_syntax_error(room: Newsroom) -> None:
    """Whatever is typed, the database never sees malformed syntax: search returns hits or
    parse_query says what is wrong."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    room.one("a b", body="a b ab a-b " * 5)

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(QUERY_ALPHABET), max_size=12).map("".join))
    def check(query: str) -> None:
        try:
            search(room.store, query, limit=5)
        except QuerySyntaxError:
            pass

    check()


def test_body_only_matches_come_newest_first_across_every_window(room: Newsroom) -> None:
    """Headline matches rank first; body-only matches follow newest first, exactly, whether
    the newest few sit in the last day or are spread over a year (PostgreSQL looks in
    growing windows back from the newest article)."""
    ages = [0, 0.2, 0.5, 2, 3, 6, 8, 20, 29, 31, 45, 90, 170, 181, 200, 365, 400]
    if room.store.engine.dialect.name == "sqlite":
        # SQLite orders body-only matches by when they were stored: store oldest first.
        ages.reverse()
    else:  # PostgreSQL orders them by date, whatever the order they were stored in
        random.Random(5).shuffle(ages)
    body_only = {}
    for i, days in enumerate(ages):
        at = T0 - timedelta(days=days)
        body_only[room.one(f"Port report {i}", at=at,
                           body="The harbour authority dredged the channel again. " * 3)] = at
    headline = room.one("Harbour strike ends", at=T0 - timedelta(days=300),
                        body="Workers return. " * 5)
    room.one("Unrelated", at=T0, body="Nothing about ports here. " * 5)
    newest = [a for a, _ in sorted(body_only.items(), key=lambda kv: (kv[1], kv[0]),
                                   reverse=True)]
    for limit in (1, 2, 3, 5, 8, 12, 17, 18, 30):
        got = ids(search(room.store, "harbour", limit=limit))
        assert got == ([headline] + newest)[:limit], limit
        # A phrase (PostgreSQL: its candidates picked by the index in each window).
        assert ids(search(room.store, '"harbour authority"', limit=limit)) == \
            newest[:limit], limit
    seen, _ = _all_pages(room.store, '"authority dredged"', "rank", 4)
    assert seen == newest


# -- keyset pages (search_page) ---------------------------------------------------------------


def _all_pages(store: Store, query: str | None, order: str, limit: int,
               **filters: Any) -> tuple[list[int], int]:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = search_page(store, query, SearchFilters(**filters), limit=limit,
                           order=order, cursor=cursor)  # type: ignore[arg-type]
        seen += ids(page.hits)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages


def _ranked_newsroom(room: Newsroom) -> None:
    """Headline matches with equal and different ranks, body-only matches with equal dates,
    and articles that do not match: every tie of the orders, on both databases."""
    for i in range(7):  # equal titles, equal dates: ties broken by id
        room.one("Harbour strike ends", at=T0 - timedelta(hours=1), key=f"same/{i}",
                 body=f"Workers return {i}. " * 3)
    for i in range(6):
        room.one(f"Harbour report {i} on the harbour and more harbour news" * (1 + i % 2),
                 at=T0 - timedelta(days=i), body="Cranes. " * 3)
    for i in range(9):
        room.one(f"Port notice {i}", at=T0 - timedelta(days=i % 3),
                 body="The harbour authority dredged the channel again. " * 3)
    room.one("Unrelated", at=T0, body="Nothing about ports here. " * 5)


@pytest.mark.parametrize("order", ["rank", "date"])
def test_keyset_pages_follow_the_order_exactly(room: Newsroom, order: str) -> None:
    _ranked_newsroom(room)
    whole = ids(search(room.store, "harbour", limit=100, order=order))  # type: ignore[arg-type]
    assert len(whole) == 22
    for limit in (1, 2, 3, 5, 7, 13, 21, 22, 40):
        seen, pages = _all_pages(room.store, "harbour", order, limit)
        assert seen == whole, (order, limit)
        assert pages == max(1, -(-len(whole) // limit)), (order, limit)
    seen, _ = _all_pages(room.store, None, order, 4)
    assert seen == ids(search(room.store, None, limit=100))
    filtered = ids(search(room.store, "harbour -strike", SearchFilters(since=T0 - timedelta(
        days=1)), limit=100, order=order))  # type: ignore[arg-type]
    assert filtered and _all_pages(room.store, "harbour -strike", order, 3,
                                   since=T0 - timedelta(days=1))[0] == filtered


def test_a_page_after_its_cursor_skips_what_came_before(room: Newsroom) -> None:
    _ranked_newsroom(room)
    first = search_page(room.store, "harbour", limit=5)
    assert first.next_cursor is not None and "=" not in first.next_cursor
    again = search_page(room.store, "harbour", limit=5, cursor=first.next_cursor)
    assert not set(ids(first.hits)) & set(ids(again.hits)) and len(again.hits) == 5
    # By date, a newer article stored meanwhile does not move the next page (by rank it may:
    # the ranks themselves depend on what the index holds).
    newest = search_page(room.store, "harbour", limit=5, order="date")
    following = search_page(room.store, "harbour", limit=5, order="date",
                            cursor=newest.next_cursor)
    room.one("Harbour news", at=T0 + timedelta(hours=1), body="Harbour. " * 3)
    assert ids(search_page(room.store, "harbour", limit=5, order="date",
                           cursor=newest.next_cursor).hits) == ids(following.hits)


@pytest.mark.parametrize("cursor", [
    "x", "!!!", "e30", base64.urlsafe_b64encode(b'{"o":"rank"}').decode(),
    base64.urlsafe_b64encode(b'[1, 2]').decode(), "A" * 500,
    base64.urlsafe_b64encode(b'{"a":null,"i":-1,"o":"rank","r":1.0,"t":0}').decode(),
    base64.urlsafe_b64encode(b'{"a":null,"i":3,"o":"rank","r":null,"t":0}').decode(),
    base64.urlsafe_b64encode(b'{"a":"soon","i":3,"o":"date","r":null,"t":1}').decode(),
])
def test_malformed_cursors_are_refused(room: Newsroom, cursor: str) -> None:
    room.one("Harbour strike ends")
    with pytest.raises(CursorError, match="^cursor: ") as info:
        search_page(room.store, "harbour", cursor=cursor)
    assert "pass the `next` of the previous page" in str(info.value)


def test_a_cursor_of_the_other_order_is_refused(room: Newsroom) -> None:
    for i in range(3):
        room.one(f"Harbour strike {i}")
    by_date = search_page(room.store, "harbour", limit=1, order="date").next_cursor
    assert by_date is not None
    with pytest.raises(CursorError, match="made for sort=date, not sort=rank"):
        search_page(room.store, "harbour", limit=1, cursor=by_date)
