"""The article's own time among other articles' times (trending strips, latest lists, "also
read" teasers, comments): pages in tests/sample_data/own_time with the times expected of them,
written before the code. A time in a list of links to other articles is never the article's."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction import extract_article

HERE = Path(__file__).resolve().parent / "sample_data" / "own_time"
EXPECTED: dict[str, Any] = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED["pages"]))
def test_the_article_gets_its_own_time_or_none(name: str) -> None:
    want = EXPECTED["pages"][name]
    art = extract_article((HERE / name).read_bytes(), f"https://news.example/{name}",
                          fetched_at=datetime.fromisoformat(EXPECTED["fetched_at"]),
                          site_tz=EXPECTED["site_tz"])
    got = art.published_at.isoformat() if art.published_at else None
    assert got == want["published"], (name, art.published_raw, art.published_source,
                                      [c.to_dict() for c in art.date_candidates])
    if "modified" in want:
        assert art.modified_at is not None and art.modified_at.isoformat() == want["modified"]
    if want.get("published_from_updated"):
        # The record says the published time is an estimate from an "updated" label.
        assert art.published_source is not None and "updated" in art.published_source


def test_rejected_candidates_say_why() -> None:
    art = extract_article((HERE / "trending_strip_before_byline.html").read_bytes(),
                          "https://news.example/a", site_tz="Asia/Kolkata",
                          fetched_at=datetime.fromisoformat(EXPECTED["fetched_at"]))
    rejected = [c for c in art.date_candidates if c.rejected]
    assert {c.raw for c in rejected} >= {"5 hours ago", "1 day ago", "3 hours ago"}
    assert all("links to other" in (c.rejected or "") for c in rejected)
