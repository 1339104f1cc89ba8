"""storage.article, the one article model: the table, the store, the export and the crawler's
hint and extraction types agree with it, on SQLite and PostgreSQL.

Each test reads the other side from the code itself (the ``articles`` table, a stored row, an
exported row, the crawl item a spider builds), so a field added to the model and not to one
of them fails here.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from newsfactory import TitleStories
from sqlalchemy import JSON, select, text

from crawler.extraction import ExtractedArticle, extract_article
from crawler.extraction.page import EntryHint, FetchedPage, article_from_page
from crawler.spiders.base import Hint
from crawler.urls import canonical_url
from storage import Store
from storage.article import (
    ARTICLES,
    COPIED_COLUMNS,
    EXPORT_FIELDS,
    FEED_FIELDS,
    JSON_COLUMNS,
    KEPT,
    PAGE_FIELDS,
    STORE_COLUMNS,
    TYPES,
    ArticleRecord,
)
from storage.models import Article, Base
from storage.queries import iter_export
from storage.text import sanitise_record

T0 = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
SAMPLE = Path(__file__).parent / "sample_data"
# What extraction returns besides the article's own fields: its evidence for the time.
EXTRACTION_ONLY = {"date_candidates"}
TABLE = Article.__table__


def _bare(tp: Any) -> Any:
    """``tp`` without ``| None``."""
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
    return tp


def _scalar(name: str, tp: Any, n: int) -> Any:
    # Short strings: some columns are String(16).
    return {str: f"{name[:12]}{n}", int: n, float: float(n), bool: True,
            bytes: bytes([n]) * 8, datetime: T0 + timedelta(minutes=n),
            date: (T0 + timedelta(days=n)).date()}[tp]


def sample(name: str, tp: Any) -> Any:
    """A value of type ``tp`` for field ``name``, never the field's default."""
    tp = _bare(tp)
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return [_scalar(name, item, 1), _scalar(name, item, 2)]
    if get_origin(tp) is dict:
        _, value = get_args(tp)
        return {f"{name[:12]}-1": _scalar(name, value, 1)}
    return _scalar(name, tp, 1)


def full_record() -> ArticleRecord:
    """A record with every stored field set (identities valid as such); verdicts left off."""
    key = "example.org/news/model"
    identity = {"url_key": key, "url": f"https://{key}", "canonical_url": f"https://{key}",
                "source": "model", "alias_keys": [f"{key}-old"]}
    values = {n: identity.get(n, sample(n, TYPES[n]))
              for n, kept in KEPT.items() if kept.table is not None}
    return ArticleRecord(**values)


# -- the model and the articles table ---------------------------------------------------


def test_every_field_is_kept_somewhere_or_says_why_not() -> None:
    for name, kept in KEPT.items():
        if kept.table == ARTICLES:
            assert name in TABLE.c, f"{name}: no column articles.{name}"
        elif kept.table is not None:
            assert kept.table in Base.metadata.tables, f"{name}: no table {kept.table}"
        if not kept.copied:
            assert kept.why, f"{name}: not copied to articles.{name}, and no reason why"
        assert (kept.unexported is None) == (name in EXPORT_FIELDS), name


def test_every_column_of_articles_comes_from_the_model_or_the_store() -> None:
    from_model = {n for n, k in KEPT.items() if k.table == ARTICLES}
    assert not from_model & set(STORE_COLUMNS)
    assert set(TABLE.c.keys()) == from_model | set(STORE_COLUMNS)


def test_columns_take_what_the_fields_hold() -> None:
    for name in (n for n, k in KEPT.items() if k.table == ARTICLES):
        column = TABLE.c[name]
        optional = _bare(TYPES[name]) is not TYPES[name]
        assert column.nullable == optional, f"articles.{name}: nullable {column.nullable}"
    assert {n for n in COPIED_COLUMNS if isinstance(TABLE.c[n].type, JSON)} == JSON_COLUMNS


# -- the store and the export -----------------------------------------------------------


@pytest.fixture
def stored(store: Store) -> Iterator[tuple[Store, ArticleRecord, int]]:
    rec = full_record()
    store.upsert_articles([rec], matcher=TitleStories())
    article = store.article_by_url(rec.url_key)
    assert article is not None
    yield store, rec, int(article.id)


def test_the_store_keeps_every_stored_field(stored: tuple[Store, ArticleRecord, int]) -> None:
    store, rec, aid = stored
    with store.engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.id == aid)).one()._mapping
        for name, kept in KEPT.items():
            if kept.table == ARTICLES:
                assert row[name] == getattr(rec, name), name
            elif kept.table == "sources":
                assert conn.execute(text("SELECT name FROM sources WHERE id = :i"),
                                    {"i": row["source_id"]}).scalar_one() == rec.source
            elif kept.table is not None:
                n = conn.execute(text(f"SELECT count(*) FROM {kept.table} "  # noqa: S608
                                      "WHERE article_id = :i"), {"i": aid}).scalar_one()
                assert n > 0, f"{name}: nothing in {kept.table}"


def test_the_export_carries_every_exported_field(
        stored: tuple[Store, ArticleRecord, int]) -> None:
    store, rec, aid = stored
    (row,) = iter_export(store)
    assert tuple(row) == EXPORT_FIELDS
    assert row["id"] == aid
    for name in EXPORT_FIELDS:
        if name in KEPT:
            assert row[name] == getattr(rec, name), name


# What a page or feed states but newsmon writes itself, so the sanitiser leaves it: URLs come
# out of crawler.urls; a time's precision and source are the time parser's own words.
OWN_WORDS = {"url", "canonical_url", "published_precision", "published_source"}


def test_stored_text_from_outside_goes_through_the_sanitiser() -> None:
    rec = full_record()
    outside = [n for n, k in KEPT.items() if k.table is not None and (k.feed or k.page)
               and _bare(TYPES[n]) in (str, list[str]) and n not in OWN_WORDS]
    for name in outside:
        value = getattr(rec, name)
        setattr(rec, name, [f"{v}\x00" for v in value] if isinstance(value, list)
                else f"{value}\x00")
    assert sanitise_record(rec) is None
    for name in outside:
        value = getattr(rec, name)
        assert not any("\x00" in v for v in (value if isinstance(value, list) else [value])
                       ), f"{name} is stored as the page has it: add it to storage.text"


# -- the crawler: what a feed and a page state, and the crawl item ------------------------


def _types(cls: type) -> dict[str, Any]:
    return {n: _bare(t) for n, t in get_type_hints(cls).items()}


def test_a_hint_holds_the_feed_fields_as_the_model_types_them() -> None:
    hinted = _types(Hint)
    assert set(hinted) == set(FEED_FIELDS)
    assert hinted == {n: _bare(TYPES[n]) for n in FEED_FIELDS}


def test_extraction_finds_the_page_fields_as_the_model_types_them() -> None:
    found = _types(ExtractedArticle)
    assert set(found) - EXTRACTION_ONLY == set(PAGE_FIELDS)
    assert {n: found[n] for n in PAGE_FIELDS} == {n: _bare(TYPES[n]) for n in PAGE_FIELDS}


def test_the_crawl_item_carries_what_the_feed_said() -> None:
    hint = Hint(**{n: sample(n, TYPES[n]) for n in FEED_FIELDS
                   if n != "url"}, url="https://example.org/news/fed")
    item = article_from_page(FetchedPage(hint=hint, fetched_at=T0), source="model")
    assert isinstance(item, ArticleRecord)
    for name in FEED_FIELDS:
        assert getattr(item, name) == getattr(hint, name), name


def test_what_extraction_reads_of_an_entry_is_what_a_feed_states() -> None:
    """``EntryHint`` (what the extraction step may read of an entry) names the feed fields."""
    assert {n for n, v in vars(EntryHint).items() if isinstance(v, property)} == set(FEED_FIELDS)


def test_the_crawl_item_carries_what_the_page_said() -> None:
    url = "https://www.indiadefencedaily.example/news/india-us-defence-ties-deepen-1234567"
    html = (SAMPLE / "highlights_page.html").read_text(encoding="utf-8").replace(
        "</head>", '<meta property="article:published_time" content="2026-11-24T09:00:00+05:30">'
        '<meta property="article:modified_time" content="2026-11-24T10:00:00+05:30"></head>')
    page = extract_article(html, url, fetched_at=T0)
    # Every field but one the page states, so that a field the spider drops shows; a page that
    # is no article is another page (tests/test_crawler_pagetype.py).
    assert [n for n in PAGE_FIELDS if not getattr(page, n)] == ["not_article"]
    item = article_from_page(FetchedPage(hint=Hint(url=url), fetched_at=T0, url=url, html=html),
                             source="model")
    assert item is not None
    for name in PAGE_FIELDS:
        want = getattr(page, name)
        if name == "canonical_url":
            want = canonical_url(want)
        assert getattr(item, name) == want, name
