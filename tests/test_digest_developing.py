"""The digest says what is new: "new" and "developing" stories, what changed, the most reported.

Through the Store on SQLite and PostgreSQL: a story first reported the day before the digest
that gains sources is developing ("+2 sources"); a story whose only news is a corrected
figure in a re-fetched article is listed as developing and updated, with the figures; a
story first reported in the period is new; the digest's head lists the most-reported stories.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from newsfactory import T0, Newsroom, open_newsroom

from config import Settings
from digest import Digest, DigestStory, build_digest, render

DAY = date(2026, 11, 25)
IST = ZoneInfo("Asia/Kolkata")

STEEL = ("Washington raised tariffs on armour-grade steel plate to 25% on Tuesday, the "
         "commerce department said. Indian mills export little of the grade, but officials "
         "in New Delhi said they would study the order. The rule applies from January and "
         "covers plate used in armoured vehicles and naval hulls. Importers have sixty days "
         "to file for exclusions, and the department will publish the first decisions in "
         "March, it said in a notice.")


def ist(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=IST)


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def stories(digest: Digest) -> dict[str, DigestStory]:
    return {s.title: s for sec in digest.sections for s in sec.stories}


def fill(room: Newsroom) -> None:
    room.add(
        # Yesterday: the Rafale story opens; the steel story opens; a story with no news today.
        room.article("India signs Rafale Marine deal", source="hindu", at=ist(10, day=24),
                     topics={"defence": 9.0}, story="rafale"),
        room.article("US raises tariffs on steel armour plate", source="reuters",
                     at=ist(11, day=24), topics={"trade": 8.0}, story="steel", body=STEEL,
                     key="reuters.example.com/steel"),
        room.article("Army tests new rifle", source="pib", at=ist(12, day=24),
                     topics={"defence": 7.0}, story="rifle"),
    )
    room.add(
        # Today: two more sources take up the Rafale story; a new story from two sources.
        room.article("France, India seal fighter jet pact", source="ht", at=ist(9),
                     topics={"defence": 8.5}, story="rafale"),
        room.article("Rafale M contract signed in Delhi", source="pib", at=ist(9, 30),
                     topics={"defence": 8.0}, story="rafale"),
        room.article("Navy drill in the Bay of Bengal", source="pib", at=ist(8),
                     topics={"defence": 7.0}, story="drill"),
        room.article("Bay of Bengal exercise begins", source="hindu", at=ist(8, 20),
                     topics={"defence": 7.0}, story="drill"),
        room.article("Navy chief visits Tokyo", source="hindu", at=ist(11),
                     topics={"defence": 6.0}),
    )
    # Today, the steel article is fetched again with its figure corrected.
    revised = room.article("US raises tariffs on steel armour plate", source="reuters",
                           at=ist(12), published=ist(11, day=24), topics={"trade": 8.0},
                           story="steel",
                           body=STEEL.replace("to 25%", "to 30%"),
                           key="reuters.example.com/steel")
    room.add(dataclasses.replace(revised, refetch=True))


def test_new_and_developing_stories_say_what_changed(room: Newsroom) -> None:
    fill(room)
    digest = build_digest(room.store, Settings(default_timezone="Asia/Kolkata"), day=DAY,
                          now=T0)
    got = stories(digest)
    rafale = got["France, India seal fighter jet pact"]  # today's first report leads
    assert (rafale.status, rafale.changes, rafale.updated) == (
        "developing", ["+2 sources"], False)
    drill = got["Navy drill in the Bay of Bengal"]
    assert (drill.status, drill.changes, drill.source_count) == ("new", [], 2)
    assert got["Navy chief visits Tokyo"].status == "new"
    steel = got["US raises tariffs on steel armour plate"]
    assert (steel.status, steel.updated) == ("developing", True)
    assert steel.changes == ["figure corrected: 25% → 30%"]
    assert "Army tests new rifle" not in got  # nothing new about it today
    # The revised article was dated yesterday: it is listed, but not counted as today's.
    assert digest.totals.articles == 5
    assert [(s.title, s.source_count, s.status) for s in digest.top] == [
        ("France, India seal fighter jet pact", 2, "developing"),
        ("Navy drill in the Bay of Bengal", 2, "new")]


def test_the_marks_reach_every_format(room: Newsroom) -> None:
    fill(room)
    digest = build_digest(room.store, Settings(default_timezone="Asia/Kolkata"), day=DAY,
                          now=T0)
    text = render(digest, "text")
    assert "MOST REPORTED" in text
    assert "* France, India seal fighter jet pact (2 sources, developing)" in text
    assert "[DEVELOPING, UPDATED] US raises tariffs on steel armour plate" in text
    assert "Since the last digest: figure corrected: 25% → 30%" in text
    assert "[NEW] Navy chief visits Tokyo" in text
    md = render(digest, "markdown")
    assert "**Developing** · ht" in md
    assert re.search(r"since the last digest: \\?\+2 sources", md)  # "+" may be escaped
    html = render(digest, "html")
    assert 'id="top"' in html and "Since the last digest: +2 sources" in html
    data = digest.to_dict()
    assert data["top"][0]["status"] == "developing"
    assert isinstance(data["top"][0]["dated_at"], str)


def test_a_first_day_has_only_new_stories(room: Newsroom) -> None:
    fill(room)
    digest = build_digest(room.store, Settings(default_timezone="Asia/Kolkata"),
                          day=date(2026, 11, 24), now=T0)
    assert {s.title: s.status for s in stories(digest).values()} == {
        "India signs Rafale Marine deal": "new",
        "US raises tariffs on steel armour plate": "new",
        "Army tests new rifle": "new"}
    assert all(not s.changes for s in stories(digest).values())
    assert digest.top == []  # nothing had two sources yet
