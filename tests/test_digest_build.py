"""digest.build: the day's stories once each, by topic, ranked; totals; empty days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from newsfactory import T0, Newsroom, open_newsroom

from config import Settings
from digest import Digest, build_digest, day_bounds, render
from storage import RunStats

DAY = date(2026, 11, 25)
IST = ZoneInfo("Asia/Kolkata")


def ist(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=IST)


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


@pytest.fixture
def settings() -> Settings:
    return Settings(default_timezone="Asia/Kolkata")


def titles(digest: Digest) -> dict[str, list[str]]:
    return {s.topic: [st.title for st in s.stories] for s in digest.sections}


def fill_day(room: Newsroom) -> None:
    """Four on-topic stories, one of them reported three times, and the noise around them."""
    room.add(
        # Story A: three sources (a verbatim copy and an independent report).
        room.article("India signs Rafale Marine deal", source="hindu", at=ist(9, 0),
                     topics={"defence": 9.5}, story="rafale",
                     highlights=["26 jets for the Navy", "Deliveries from 2029"]),
        room.article("India signs Rafale Marine deal", source="pib", at=ist(9, 5),
                     topics={"defence": 9.5}),
        room.article("France, India seal fighter jet pact", source="ht", at=ist(10, 0),
                     topics={"defence": 8.0}, story="rafale"),
        # Story B: trade and defence; trade scores higher. Two sources.
        room.article("US raises tariffs on steel armour plate", source="reuters",
                     at=ist(8, 0), topics={"trade": 8.0, "defence": 6.0}, story="steel",
                     body="Washington raised tariffs on armour-grade steel. Indian mills "
                          "export little of it. The rule applies from January."),
        room.article("Armour steel faces new US duty", source="hindu", at=ist(8, 30),
                     topics={"trade": 7.5}, story="steel"),
        # Stories C and D: one source each; C is newer.
        room.article("Navy drill in the Bay of Bengal", source="pib", at=ist(20, 0),
                     topics={"defence": 7.0}),
        room.article("Navy chief visits Tokyo", source="hindu", at=ist(11, 0),
                     topics={"defence": 7.0}),
        # Off-topic: counted, not listed.
        room.article("Cricket final in Ahmedabad", source="hindu", at=ist(12, 0), topics={}),
        # Edges of the day, by publication time, else first-seen time.
        room.article("Midnight missile test", source="pib", at=ist(0, 0),
                     topics={"defence": 6.0}),
        room.article("Late-night border talks", source="pib", at=ist(23, 59, day=24),
                     topics={"defence": 6.0}),
        room.article("Old arms story found today", source="ht", at=ist(9, 30),
                     published=ist(18, 0, day=24), topics={"defence": 6.0}),
        room.article("Undated trade note", source="ht", at=ist(15, 0), published=False,
                     topics={"trade": 5.5}),
    )


def test_stories_once_each_by_topic_ranked_by_sources_then_recency(
        room: Newsroom, settings: Settings) -> None:
    fill_day(room)
    digest = build_digest(room.store, settings, day=DAY, now=T0)
    assert titles(digest) == {
        "defence": ["India signs Rafale Marine deal", "Navy drill in the Bay of Bengal",
                    "Navy chief visits Tokyo", "Midnight missile test"],
        "trade": ["US raises tariffs on steel armour plate", "Undated trade note"],
    }
    assert [s.name for s in digest.sections] == ["Defence", "Trade"]
    rafale = digest.sections[0].stories[0]
    assert (rafale.source, rafale.local_time, rafale.source_count, rafale.article_count) == (
        "hindu", "09:00 IST", 3, 3)
    assert [(c.source, c.url) for c in rafale.also] == [
        ("pib", "https://pib.example.com/news/2"), ("ht", "https://ht.example.com/news/3")]
    assert rafale.highlights == ["26 jets for the Navy", "Deliveries from 2029"]
    steel = digest.sections[1].stories[0]
    assert (steel.topic, steel.score, steel.source_count) == ("trade", 8.0, 2)
    assert steel.highlights == []
    assert steel.lead == ("Washington raised tariffs on armour-grade steel. Indian mills "
                          "export little of it.")
    assert digest.totals.articles == 9
    assert digest.totals.stories == 6
    assert digest.totals.sources == 4
    assert digest.totals.off_topic == 1
    assert digest.title == "Digest — Wednesday 25 November 2026"
    assert (digest.since, digest.until) == (ist(0, 0).astimezone(UTC), ist(0, 0, day=26)
                                            .astimezone(UTC))


def test_a_topic_digest_takes_stories_from_any_score(room: Newsroom, settings: Settings) -> None:
    fill_day(room)
    digest = build_digest(room.store, settings, day=DAY, topic="defence", now=T0)
    assert list(titles(digest)) == ["defence"]
    assert "US raises tariffs on steel armour plate" in titles(digest)["defence"]
    assert digest.title == "Digest: Defence — Wednesday 25 November 2026"
    assert build_digest(room.store, settings, day=DAY, topic="space", now=T0).is_empty


def test_failed_runs_of_the_day_are_listed(room: Newsroom, settings: Settings) -> None:
    store = room.store
    ok = store.start_run("hindu", started_at=ist(6, 0))
    store.finish_run(ok, "ok", RunStats(pages=3))
    bad = store.start_run("pib", started_at=ist(7, 15))
    store.finish_run(bad, "failed", RunStats(errors=2, first_error="HTTP 503\nService "
                                                                  "Unavailable"))
    other_day = store.start_run("ht", started_at=ist(7, 0, day=24))
    store.finish_run(other_day, "timeout", RunStats())
    digest = build_digest(store, settings, day=DAY, now=T0)
    assert (digest.totals.runs, digest.totals.failed_runs) == (2, 1)
    (failure,) = digest.failures
    assert (failure.source, failure.status, failure.local_time, failure.error) == (
        "pib", "failed", "07:15 IST", "HTTP 503 Service Unavailable")
    assert "1 of 2 crawl runs failed" in render(digest, "markdown")


def test_an_empty_day_says_so(room: Newsroom, settings: Settings) -> None:
    room.one("Cricket final", at=ist(12, 0), topics={})
    digest = build_digest(room.store, settings, day=DAY, now=T0)
    assert digest.is_empty
    assert digest.totals.off_topic == 1
    md = render(digest, "markdown")
    assert md == ("# Digest — Wednesday 25 November 2026\n\n"
                  "0 articles · 0 stories · 0 sources\n\n"
                  "No news in this period. 1 off-topic article left out.\n\n")
    assert "No news in this period." in render(digest, "html")
    assert "No news in this period." in render(digest, "text")


def test_a_period_shows_dates_with_times(room: Newsroom, settings: Settings) -> None:
    fill_day(room)
    digest = build_digest(room.store, settings, since=ist(18, 0, day=24), until=ist(9, 1),
                          now=T0)
    assert titles(digest) == {"defence": ["India signs Rafale Marine deal",
                                          "Midnight missile test", "Late-night border talks",
                                          "Old arms story found today"],
                              "trade": ["US raises tariffs on steel armour plate"]}
    assert digest.sections[0].stories[0].local_time == "25 Nov 09:00 IST"
    assert digest.period == "24 Nov 2026 18:00 to 25 Nov 2026 09:01 IST"


def test_the_zone_of_the_digest_job_wins(room: Newsroom) -> None:
    room.one("Pentagon budget", at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
             topics={"defence": 9})
    utc = Settings(default_timezone="Asia/Kolkata",
                   scheduler={"digest_timezone": "America/New_York"})  # type: ignore[arg-type]
    digest = build_digest(room.store, utc, day=date(2026, 11, 24), now=T0)
    assert titles(digest) == {"defence": ["Pentagon budget"]}
    assert digest.sections[0].stories[0].local_time == "22:00 EST"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give a day, or both since and until"),
    ({"day": DAY, "since": T0}, "give a day or a since/until period, not both"),
    ({"since": T0, "until": T0}, "the period is empty: 'since' must be before 'until'"),
])
def test_bad_periods(room: Newsroom, settings: Settings, kwargs: dict[str, object],
                     message: str) -> None:
    with pytest.raises(ValueError) as exc:
        build_digest(room.store, settings, **kwargs)  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_day_bounds_follow_daylight_saving() -> None:
    ny = ZoneInfo("America/New_York")
    start, end = day_bounds(date(2026, 11, 1), ny)
    assert end - start == timedelta(hours=25)
    assert start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
