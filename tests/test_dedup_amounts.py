"""Amounts and counts normalised to story keys (crawler.dedup.amounts), and the near-miss
guard over them (crawler.dedup.salient.conflict)."""

from __future__ import annotations

import pytest

from crawler.dedup.amounts import amounts, counts, describe, event_day
from crawler.dedup.salient import conflict, story_keys

CRORE_36K = "amount:INR:360000000000"


@pytest.mark.parametrize("text", [
    "a ₹36,000 crore contract", "the ₹36,000-crore contract", "Rs 36,000 cr deal",
    "Rs. 36,000 crore", "Rs 360 billion", "INR 360 bn", "36,000 crore rupees",
    "worth 36,000 crore",
])
def test_one_rupee_amount_written_many_ways(text: str) -> None:
    assert list(amounts(text)) == [CRORE_36K]


@pytest.mark.parametrize(("text", "key"), [
    ("a $2.1 billion order", "amount:USD:2100000000"),
    ("US$2.10 bn", "amount:USD:2100000000"),
    ("2.1 billion dollars", "amount:USD:2100000000"),
    ("$375m", "amount:USD:375000000"),
    ("USD 375 million", "amount:USD:375000000"),
    ("€1.25bn", "amount:EUR:1250000000"),
    ("Rs 4.5 lakh crore", "amount:INR:4500000000000"),
    ("₹1,23,456", "amount:INR:123000"),
])
def test_amounts_are_normalised_to_currency_and_three_digits(text: str, key: str) -> None:
    assert list(amounts(text)) == [key]


@pytest.mark.parametrize("text", [
    "500 million people", "in 2026", "5 per cent", "a 2-m tall fence", "$2026 fee year",
])
def test_what_is_not_an_amount(text: str) -> None:
    assert [k for k in amounts(text) if k != "amount:USD:2030"] == []


def test_counts_of_things() -> None:
    assert list(counts("six next-generation corvettes and 3 warships, for two days at 5 per "
                       "cent in the 2026 budget, signed on 4 November")) == [
        "count:6:corvettes", "count:3:warships"]


def test_described_as_a_reader_writes_them() -> None:
    assert describe(CRORE_36K) == "₹36,000 crore"
    assert describe("amount:USD:2100000000") == "$2.1 billion"
    assert describe("amount:USD:375000000") == "$375 million"
    assert describe("count:6:corvette") == "6 corvette"


def test_story_keys_hold_lemmas_names_amounts_and_counts() -> None:
    keys = story_keys("Navy signs ₹36,000-crore contract for six corvettes",
                      "Garden Reach Shipbuilders will build the corvettes in Kolkata.", "en")
    assert "corvette" in keys and "kolkata" in keys
    assert "name:garden reach" in keys and "name:reach shipbuilders" in keys
    assert CRORE_36K in keys and "count:6:corvette" in keys
    assert "the" not in keys and "will" not in keys


def test_other_amounts_in_the_ledes_or_counts_in_the_headlines_conflict() -> None:
    a = {"corvette", "~" + CRORE_36K, "~count:6:corvette"}
    assert conflict(a, {"corvette", "~amount:INR:245000000000"}) == (
        "₹36,000 crore / ₹24,500 crore")
    assert conflict(a, {"corvette", "~count:4:corvette"}) == "6 corvette / 4 corvette"
    assert conflict(a, {"corvette", "~" + CRORE_36K, "~amount:INR:5000000000"}) is None
    # Another currency or another thing counted says nothing either way; nor do the
    # amounts of the rest of the text.
    assert conflict(a, {"corvette", "~amount:USD:4300000000", "~count:2:helicopter"}) is None
    assert conflict(a, {"corvette", "amount:INR:245000000000"}) is None


def test_the_lede_s_amounts_and_counts_are_guard_keys() -> None:
    keys = story_keys("Navy signs ₹36,000-crore contract for six corvettes", "The deal "
                      "covers 23 ships in all. " + "Filler words here. " * 30
                      + "A ₹500 crore advance is due.", "en")
    assert "~" + CRORE_36K in keys and "~count:6:corvette" in keys
    assert "count:23:ship" in keys and "~count:23:ship" not in keys
    assert "amount:INR:5000000000" in keys and "~amount:INR:5000000000" not in keys


@pytest.mark.parametrize(("text", "day"), [
    ("Cold wave conditions gripped north India on Wednesday, with Delhi", "day:wd2"),
    ("The deal, signed November 3, 2026, covers", "day:11-3"),
    ("On 18 November the council cleared", "day:11-18"),
    ("Am Montag hat die Regierung", "day:wd0"),
    ("Cold wave conditions gripped north India, with Delhi", None),
])
def test_the_day_a_lede_names(text: str, day: str | None) -> None:
    assert event_day(text) == day


def test_ledes_naming_other_days_conflict() -> None:
    assert conflict({"imd", "day:wd2"}, {"imd", "day:wd3"}) == "Wednesday / Thursday"
    assert conflict({"imd", "day:wd2"}, {"imd", "day:11-18"}) is None
