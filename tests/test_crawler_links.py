"""crawler.spiders.links: article links on listing pages, linear in the page, capped; and the
Age of a cached response (crawler.middlewares.page_age)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from crawler.middlewares import MAX_AGE, page_age
from crawler.spiders.links import CARD_LEVELS, find_links

BASE = "http://example.com/defence/"


def _flat(n: int, times: dict[int, str] | None = None) -> Selector:
    """``n`` article links in one <ul>: the shape that made card lookup quadratic."""
    times = times or {}
    rows = "".join(
        f'<li><a href="/news/convoy-route-{i}-reopened-after-landslide-{i:06d}.html">Convoy '
        f"route {i} reopened after the landslide</a>"
        + (f"<span>{times[i]}</span>" if i in times else "") + "</li>" for i in range(n))
    return Selector(text=f"<html><body><main><ul>{rows}</ul></main></body></html>")


class Cards:
    """A card_time that counts the elements handed to it (what a label search reads)."""

    def __init__(self) -> None:
        self.calls = 0
        self.elements = 0

    def __call__(self, card: Any) -> dict[str, Any]:
        self.calls += 1
        self.elements += sum(1 for _ in card.iter())
        text = " ".join(card.xpath(".//span/text()"))
        return {"published_raw": text} if text else {}


@pytest.mark.parametrize("n", [10_000, 20_000])
def test_label_search_reads_each_element_a_bounded_number_of_times(n: int) -> None:
    sel = _flat(n)
    cards = Cards()
    found = find_links(sel, BASE, None, n, cards)
    assert len(found.links) == n and found.over_cap == 0
    page_elements = sum(1 for _ in sel.root.iter())
    # Each <li> is one link's own card; the <ul> holding them all is nobody's card.
    assert cards.calls == found.scanned <= CARD_LEVELS * n
    assert cards.elements <= 2 * page_elements


def test_a_time_label_is_taken_from_the_links_own_card_only() -> None:
    found = find_links(_flat(4, {0: "2 hours ago"}), BASE, None, 10, Cards())
    assert [link.time for link in found.links] == [
        {"published_raw": "2 hours ago"}, {}, {}, {}]
    assert found.links[1].title == "Convoy route 1 reopened after the landslide"


def test_links_past_the_cap_are_counted_not_examined() -> None:
    found = find_links(_flat(50_000), BASE, None, 2000, Cards())
    assert len(found.links) == 2000
    assert found.links[-1].url.endswith("/news/convoy-route-1999-reopened-after-landslide-"
                                         "001999.html")
    assert found.over_cap == 48_000


def test_configured_selector_keeps_the_first_link_of_each_card() -> None:
    sel = Selector(text=(
        "<html><body>" + "".join(
            f'<div class="teaser"><a href="/a/{i}"><img src="x.png"></a>'
            f'<h3><a href="/a/{i}">Title {i}</a></h3><time datetime="2026-11-2{i}T10:00:00Z">'
            "</time></div>" for i in range(3)) + "</body></html>"))
    found = find_links(sel, BASE, "div.teaser", 10,
                       lambda card: {"raw": card.xpath(".//time/@datetime")[0]})
    assert [link.url for link in found.links] == [f"http://example.com/a/{i}" for i in range(3)]
    assert [link.time["raw"] for link in found.links] == [
        f"2026-11-2{i}T10:00:00Z" for i in range(3)]


def _response(*ages: str) -> HtmlResponse:
    return HtmlResponse("http://example.com/a", body=b"<html></html>",
                        headers={"Age": list(ages)} if ages else {})


@pytest.mark.parametrize(("ages", "expected"), [
    ((), timedelta(0)),
    (("7200",), timedelta(hours=2)),
    ((" 60 ",), timedelta(minutes=1)),
    (("0",), timedelta(0)),
    (("-5",), timedelta(0)),
    (("2 hours",), timedelta(0)),
    (("1.5",), timedelta(0)),
    (("60", "120"), timedelta(0)),  # two Age headers: which is right is unknown
    (("999999999999",), MAX_AGE),
])
def test_page_age_reads_delta_seconds_and_ignores_junk(ages: tuple[str, ...],
                                                       expected: timedelta) -> None:
    assert page_age(_response(*ages)) == expected
