"""Amounts and counts normalised to story keys (crawler.dedup.amounts), and the near-miss
guard over them (crawler.dedup.salient.conflict)."""

from __future__ import annotations

import pytest

from crawler.dedup.amounts import amounts, counts, describe, event_day, percents
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


@pytest.mark.parametrize(("text", "keys"), [
    ("a safeguard duty of 12% on flat steel", ["pct:12"]),
    ("starting at twelve per cent, then 11.5 per cent", ["pct:12", "pct:11.5"]),
    ("GDP grew 7.4 percent, up from 6.70 pc", ["pct:7.4", "pct:6.7"]),
    ("Zölle von 25 Prozent; une hausse de 3,5 % ; un 10 por ciento", ["pct:25", "pct:3.5",
                                                                         "pct:10"]),
    ("a 2026 budget, 36,000 crore and six corvettes", []),
])
def test_percentages_are_read_as_the_number_they_state(text: str, keys: list[str]) -> None:
    assert list(percents(text)) == keys


def test_headlines_stating_other_percentages_conflict() -> None:
    """Two countries' steel duties on one day: a 12% duty and a 25% duty are other events.
    Only the headline's percentages count: a lede cites the other rates of one event."""
    india = story_keys("Trade watchdog recommends 12% safeguard duty on flat steel",
                       "The authority recommended a 12% duty on flat steel imports on "
                       "Friday; shares rose 4%.", "en")
    same = story_keys("Steel shares up four per cent as 12 per cent duty backed",
                      "Steel shares gained four per cent on Friday after the authority "
                      "backed a safeguard duty of twelve per cent on flat steel.", "en")
    other = story_keys("Ministry sets 25% safeguard duty on flat steel imports",
                       "The ministry imposed a 25% duty on flat steel imports on Friday.",
                       "en")
    assert "~pct:12" in india and "pct:12" not in india  # a guard key only
    assert "~pct:4" not in india  # the lede's
    assert conflict(india, same) is None
    assert conflict(india, other) == "12% / 25%"
    assert conflict(same, other) == "12% / 25%"
    # A headline that states no percentage says nothing either way.
    assert conflict(india, story_keys("Steel duty recommended", "The authority set a 30% "
                                      "duty on Friday.", "en")) is None
    assert describe("pct:11.5") == "11.5%"
