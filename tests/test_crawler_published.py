"""choose_published: the most trusted publication time, refined by agreeing precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.extraction.published import Evidence, choose_published

IST_MIDNIGHT = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)  # 24 Nov 2026 00:00 IST


def ev(at: datetime, precision: str, source: str, raw: str = "raw") -> Evidence:
    return Evidence(at, raw, precision, source)


def test_nothing_gives_none() -> None:
    assert choose_published([]) is None


def test_structured_beats_visible_text() -> None:
    meta = ev(datetime(2026, 11, 24, 4, 32, tzinfo=UTC), "minute", "meta")
    text = ev(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "minute", "text")
    assert choose_published([text, meta]) == meta


def test_a_precise_feed_time_refines_a_day_only_jsonld_date() -> None:
    day = ev(IST_MIDNIGHT, "day", "jsonld", "2026-11-24")
    feed = ev(datetime(2026, 11, 24, 4, 32, tzinfo=UTC), "second", "feed",
              "Tue, 24 Nov 2026 10:02:00 +0530")
    assert choose_published([day, feed]) == feed


def test_a_precise_time_on_another_day_never_overrides() -> None:
    day = ev(IST_MIDNIGHT, "day", "jsonld")
    other_day = ev(IST_MIDNIGHT + timedelta(days=1, hours=2), "second", "feed")
    assert choose_published([day, other_day]) == day


def test_a_selector_wins_even_against_precise_metadata() -> None:
    selector = ev(datetime(2026, 11, 24, 12, 45, tzinfo=UTC), "minute", "selector")
    jsonld = ev(datetime(2026, 11, 24, 12, 45, 30, tzinfo=UTC), "second", "jsonld")
    far = ev(datetime(2026, 11, 20, tzinfo=UTC), "second", "jsonld")
    assert choose_published([jsonld, selector]) == jsonld  # agrees within the minute
    assert choose_published([far, selector]) == selector


def test_listing_label_is_the_last_resort() -> None:
    listing = ev(datetime(2026, 11, 25, 7, 0, tzinfo=UTC), "hour", "listing", "3 hours ago")
    text = ev(datetime(2026, 11, 25, 6, 50, tzinfo=UTC), "minute", "text")
    assert choose_published([listing]) == listing
    assert choose_published([listing, text]) == text
