from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.dedup.features import (
    BANDS,
    SIGNATURE_BYTES,
    Signature,
    StoryFeatures,
    band_hashes,
    is_near_duplicate,
    jaccard_estimate,
    same_story,
    shingles,
    signature,
    story_similarity,
    title_tokens,
)

ARTICLE = """\
The Defence Acquisition Council on Thursday cleared proposals worth Rs 67,000 crore, including
the purchase of long-range drones for the Navy and upgrades to the Air Force's transport fleet,
officials said. The council, chaired by the defence minister, approved the acquisition of
surveillance drones under the buy-Indian category, which requires at least half of the content
to be made in the country. The Navy has been leasing two unarmed drones since 2020 and has
pressed for a larger fleet to watch the Indian Ocean, where Chinese research vessels and
submarines have become frequent visitors. The council also cleared the upgrade of the Air
Force's ageing transport aircraft with new avionics and engines, a programme to be carried out
by the state-run aerospace company at its Kanpur division. Officials said the upgrade would
extend the service life of the aircraft by about fifteen years and save foreign exchange.
A third proposal covers night-sight devices for infantry rifles, to be bought from domestic
firms over three years. The approvals are the first step in a procurement process that often
takes years: the services must now issue requests for proposals, evaluate bids, hold field
trials and negotiate prices before contracts are signed. The ministry has tried to shorten the
cycle by setting deadlines for each stage, but audit reports have repeatedly found that most
large purchases overrun them. Industry groups welcomed the decision and said domestic firms had
the capacity to deliver the drones on time if orders were placed this financial year.
"""

UNRELATED = """\
Heavy rain lashed several districts of Kerala on Wednesday, flooding low-lying areas and
forcing the closure of schools in four districts, as the weather office issued an orange alert
for the next three days. Rivers in Idukki and Pathanamthitta rose above the danger mark and the
shutters of two dams were opened to release water, district officials said. Traffic on the
Kochi-Madurai highway was disrupted after a landslide near Adimali, and fire and rescue teams
evacuated more than two hundred families to relief camps set up in government schools. The
state disaster management authority asked fishermen not to venture into the sea until Sunday,
warning of strong winds and high waves along the coast. Farmers in Kuttanad said paddy fields
that were ready for harvest had been submerged, and they feared heavy losses if the water did
not recede within a week. The chief minister chaired a review meeting and directed collectors
to keep emergency teams on standby in hilly areas prone to landslides.
"""


def _edit(text: str, every: int) -> str:
    """Change every ``every``-th word (5% for 20), keeping the rest."""
    words = text.split()
    return " ".join(w + "zz" if i % every == every - 1 else w for i, w in enumerate(words))


def test_signature_round_trips_through_bytes() -> None:
    sig = signature(ARTICLE)
    assert sig is not None
    data = sig.to_bytes()
    assert len(data) == SIGNATURE_BYTES == 512
    assert Signature.from_bytes(data) == sig
    assert jaccard_estimate(Signature.from_bytes(data), sig) == 1.0


def test_signature_of_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        Signature.from_bytes(b"\x00" * 511)
    assert str(err.value) == "a signature is 512 bytes, not 511"


def test_band_hashes_are_pinned() -> None:
    # Fixed values guard the pinned seed, scheme, shingle hash and band hash: if this fails,
    # stored signatures and bands no longer match new ones.
    sig = signature(ARTICLE)
    assert sig is not None
    assert sig.values[:4].tolist() == [8339632, 13480856, 87533825, 61705215]
    bands = band_hashes(sig)
    assert len(bands) == BANDS
    assert all(-(2**63) <= b < 2**63 for b in bands)
    assert bands[:3] == [-6152285792754971010, -6801891162943210683,
                         -4174759318717500651]
    assert band_hashes(sig) == bands


def test_shingles_are_lowercase_word_triples() -> None:
    assert shingles("The Navy, the navy!") == {b"the navy the", b"navy the navy"}


def test_five_percent_edit_is_a_near_duplicate() -> None:
    original = signature(ARTICLE)
    copy = signature("NEW DELHI (PTI) " + _edit(ARTICLE, 20))
    assert original is not None and copy is not None
    assert jaccard_estimate(original, copy) == 0.6875  # true Jaccard 0.742
    assert is_near_duplicate(original, copy)
    assert set(enumerate(band_hashes(original))) & set(enumerate(band_hashes(copy)))


def test_unrelated_article_is_not() -> None:
    a, b = signature(ARTICLE), signature(UNRELATED)
    assert a is not None and b is not None
    assert jaccard_estimate(a, b) == 0.0
    assert not is_near_duplicate(a, b)
    assert not set(enumerate(band_hashes(a))) & set(enumerate(band_hashes(b)))


def test_short_texts_give_no_signature() -> None:
    words = re.findall(r"\w+", ARTICLE)
    short = " ".join(words[:49])
    assert signature(short) is None
    assert signature(" ".join(words[:50])) is not None
    assert not is_near_duplicate(signature(short), signature(short))
    assert jaccard_estimate(None, signature(ARTICLE)) == 0.0


# --- same story -------------------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_title_tokens() -> None:
    assert title_tokens("India's Navy to get 31 Drones, says the Ministry") == frozenset(
        {"navy", "get", "31", "drone", "ministry"})
    assert title_tokens("US, China hold talks in Washington on tariffs") == frozenset(
        {"hold", "talk", "tariff"})


def test_same_event_different_text_is_same_story() -> None:
    a = StoryFeatures.build("DAC clears Rs 67,000 crore proposals including Navy drones",
                            ["organisation:dac", "country:in", "organisation:indian-navy"], T0)
    b = StoryFeatures.build("Defence council approves drones for Navy, transport upgrade",
                            ["organisation:dac", "organisation:indian-navy"],
                            T0 + timedelta(hours=5))
    # title words: {clear, rs, 67, 000, crore, proposal, including, navy, drone} and
    # {defence, council, approve, drone, navy, transport, upgrade}; DAC is an entity.
    assert story_similarity(a, b) == pytest.approx(0.6 * 2 * 2 / 16 + 0.4 * 2 / 3)
    assert same_story(a, b)


def test_entities_alone_do_not_make_a_story() -> None:
    a = StoryFeatures.build("India, US close in on trade framework", ["country:in", "country:us"],
                            T0)
    b = StoryFeatures.build("India, US hold naval exercise off Goa", ["country:in", "country:us"],
                            T0)
    assert not same_story(a, b)


def test_time_window_and_near_duplicates() -> None:
    sig = signature(ARTICLE)
    a = StoryFeatures.build("Council clears drones", [], T0, sig)
    b = StoryFeatures.build("Something else entirely", [], T0 + timedelta(hours=47),
                            sig.to_bytes() if sig else None)
    late = StoryFeatures.build("Council clears drones", [], T0 + timedelta(hours=49), sig)
    assert story_similarity(a, b) == 1.0
    assert same_story(a, b)
    assert story_similarity(a, late) == 0.0
    assert not same_story(a, late)
    unknown = StoryFeatures.build("Council clears drones", [], None)
    assert same_story(a, unknown)


def test_labelled_set_is_what_the_generator_builds() -> None:
    root = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "stories"
    spec = importlib.util.spec_from_file_location("make_dataset", root / "make_dataset.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = [json.loads(line) for line in
              (root / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
    assert module.build() == stored
    assert len(stored) >= 200
    assert sum(1 for a in stored if a["copy_of"] is None) == 58  # hand-written articles
