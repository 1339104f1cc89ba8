"""Tests for crawler.extraction (article extraction) and crawler.cleaning (junk removal)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from crawler.cleaning import clean_paragraphs, is_junk_line
from crawler.extraction import DateCandidate, ExtractedArticle, extract_article
from crawler.extraction.body import BodyOptions, extract_body
from crawler.extraction.document import parse_html

SAMPLE_DATA = Path(__file__).parent / "sample_data"
REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(
    os.environ.get(
        "NEWSMON_BENCH_DIR", REPO_ROOT.parent / "shared" / "bench" / "article-extraction"
    )
)
FETCHED_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def load(name: str) -> bytes:
    return (SAMPLE_DATA / name).read_bytes()


def extract(name: str, url: str, **kwargs: object) -> ExtractedArticle:
    return extract_article(load(name), url, fetched_at=FETCHED_AT, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------ highlights page

HIGHLIGHTS_URL = "https://www.indiadefencedaily.example/news/india-us-defence-ties-deepen-1234567"

HIGHLIGHTS_BODY = [
    "India's defence engagement with the United States continues to deepen, even as the two "
    "sides navigate fluctuations in trade talks, Defence Secretary Rajesh Kumar Singh has said, "
    "pointing to a steady stream of joint exercises and industrial partnerships.",
    "Speaking at a think-tank event in New Delhi on Monday, Singh said the defence relationship "
    "had developed an institutional momentum of its own, anchored in the ten-year framework "
    "agreement signed by the two governments last year.",
    "He said talks on co-producing jet engines and Stryker armoured vehicles were progressing, "
    "and that Indian companies were increasingly part of American supply chains for aircraft "
    "components and naval systems.",
    "The remarks come as negotiators from both countries continue to work on a bilateral trade "
    "agreement, with tariffs on steel, aluminium and agricultural products still unresolved "
    "after several rounds of discussion.",
    "Singh added that the defence ministry would host a delegation from the Pentagon next month "
    "to review progress on maritime domain awareness and the servicing of US Navy ships at "
    "Indian shipyards.",
]
HIGHLIGHTS = [
    "Defence Secretary says engagement with the US continues to deepen",
    "Trade talks have seen fluctuations but defence ties remain steady",
    "Co-production of jet engines and armoured vehicles on the agenda",
]
PAGE_JUNK = [
    ".png)",
    "2 hours ago",
    "English (US)",
    "हिन्दी",
    "1.2K shares",
    "Read more",
    "Also Read",
    "Subscribe to our newsletter",
    "Follow us",
    "Copyright",
    "Facebook",
    "WhatsApp",
    "Highlights",
    "Photo: PTI",
    "Trending",
]


def test_highlights_page_fields() -> None:
    art = extract("highlights_page.html", HIGHLIGHTS_URL + "?utm_source=feed")
    assert art.url == HIGHLIGHTS_URL + "?utm_source=feed"
    assert art.canonical_url == HIGHLIGHTS_URL
    assert art.title == (
        "India-US defence ties deepen despite trade talk fluctuations: Defence Secretary"
    )
    assert art.highlights == HIGHLIGHTS
    assert art.authors == ["Manjeet Negi"]
    assert art.language == "en"
    assert art.image_url == (
        "https://www.indiadefencedaily.example/images/2026/11/singh-pentagon.jpg"
    )
    assert art.section == "Defence"
    assert art.tags == [
        "India US defence",
        "Rajesh Kumar Singh",
        "trade talks",
        "defence cooperation",
    ]
    assert art.summary is not None and art.summary.startswith("Defence Secretary Rajesh Kumar")


def test_highlights_page_body_is_clean() -> None:
    art = extract("highlights_page.html", HIGHLIGHTS_URL)
    assert art.body == "\n\n".join(HIGHLIGHTS_BODY)
    for junk in PAGE_JUNK:
        assert junk not in art.body, junk
    for bullet in HIGHLIGHTS:
        assert bullet not in art.body
    assert "24" not in art.body.split()


def test_highlights_page_relative_date_is_the_only_evidence() -> None:
    art = extract("highlights_page.html", HIGHLIGHTS_URL)
    assert art.published_at == FETCHED_AT - timedelta(hours=2)
    assert art.published_raw is not None and "2 hours ago" in art.published_raw
    assert art.published_precision == "hour"
    assert art.published_source == "text"
    assert art.modified_at is None
    raws = [c.raw for c in art.date_candidates]
    assert "24" not in raws
    assert all(c.parsed is not None for c in art.date_candidates)


def test_relative_date_counts_back_from_fetched_at_not_wall_clock() -> None:
    fetched = datetime(2020, 1, 1, 0, 30, tzinfo=UTC)
    art = extract_article(load("highlights_page.html"), HIGHLIGHTS_URL, fetched_at=fetched)
    assert art.published_at == datetime(2019, 12, 31, 22, 30, tzinfo=UTC)


def test_line_filter_alone_keeps_junk_out_of_highlights_page() -> None:
    # Without the structural pre-clean the line filter is the last line of defence.
    result = extract_body(
        parse_html(load("highlights_page.html")),
        HIGHLIGHTS_URL,
        BodyOptions(structural_clean=False),
    )
    for junk in (".png)", "2 hours ago", "English (US)", "1.2K shares", "Read more"):
        assert junk not in result.body, junk
    assert HIGHLIGHTS_BODY[0] in result.body


# ------------------------------------------------------------ other outlets


def test_us_defence_jsonld_news_article() -> None:
    url = "https://www.defenseledger.example/land/2026/11/24/army-awards-squad-radios/"
    art = extract("us_defence_jsonld.html", url)
    assert art.title == "Army awards $1.2 billion contract for next-generation squad radios"
    assert art.canonical_url == (
        "https://www.defenseledger.example/land/2026/11/24/"
        "army-awards-12-billion-contract-for-next-generation-squad-radios/"
    )
    assert art.authors == ["Jen Judson", "Stephen Losey"]
    assert art.published_at == datetime(2026, 11, 24, 21, 45, 12, tzinfo=UTC)
    assert art.published_raw == "2026-11-24T16:45:12-05:00"
    assert art.published_source == "jsonld"
    assert art.published_precision == "second"
    assert art.modified_at == datetime(2026, 11, 25, 13, 10, tzinfo=UTC)
    assert art.language == "en"
    assert art.image_url == "https://cdn.defenseledger.example/img/2026/11/squad-radio-1200.jpg"
    assert art.section == "Land"
    assert art.tags == ["Army", "Communications", "Contracts"]
    assert art.highlights == []
    assert art.body.startswith("WASHINGTON — The U.S. Army has awarded a $1.2 billion contract")
    assert art.body.endswith("at the National Training Center in California.")
    assert art.body.count("\n\n") == 4
    for junk in ("Advertisement", "Share", "Marine Corps tests", "All rights reserved"):
        assert junk not in art.body
    origins = {(c.source, c.origin) for c in art.date_candidates}
    assert ("meta", "meta:article:published_time") in origins
    assert ("time", "time[datetime]") in origins


def test_opengraph_only_page() -> None:
    art = extract("og_only.html", "https://tradebrief.example/?p=4411")
    assert (
        art.canonical_url == "https://tradebrief.example/2026/11/eu-india-trade-pact-tariff-talks"
    )
    assert art.title == "EU and India close in on trade pact as tariff talks resume"
    assert art.published_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert art.published_raw == "2026-11-23T09:30:00+05:30"
    assert art.published_source == "meta"
    assert art.modified_at == datetime(2026, 11, 23, 8, 35, tzinfo=UTC)
    # article:author is a Facebook URL there and must not become a name.
    assert art.authors == ["Priya Menon", "Arjun Rao"]
    assert art.language == "en"
    assert art.image_url == "https://tradebrief.example/wp-content/uploads/2026/11/eu-india.jpg"
    assert art.section == "Trade"
    assert art.tags == ["EU", "India", "Free trade agreement"]
    assert art.summary == "Negotiators said a deal on most goods chapters was within reach."
    assert art.body.startswith("Negotiators from the European Union and India said on Monday")
    assert "leaving investment protection to a separate agreement." in art.body
    for junk in ("Read more", "24 Comments", "Great news for exporters", "3 days ago"):
        assert junk not in art.body


def test_hindu_style_updated_byline() -> None:
    art = extract(
        "hindu_style.html",
        "https://www.heraldpost.example/news/national/drdo-flight-tests-missile/article37531234.ece",
        site_tz="Asia/Kolkata",
    )
    assert art.title == (
        "DRDO successfully flight-tests new surface-to-air missile off Odisha coast"
    )
    assert art.published_at == datetime(2021, 11, 16, 23, 14, tzinfo=UTC)
    assert art.published_raw is not None
    assert "November 17, 2021 04:44 am IST" in art.published_raw
    # The page prints only its "Updated" time: it stands in for the publication time, and
    # the record says so (issue 14).
    assert art.published_source == "updated"
    assert art.published_precision == "minute"
    assert art.authors == ["Special Correspondent"]
    assert art.language == "en"
    assert art.canonical_url == (
        "https://www.heraldpost.example/news/national/drdo-flight-tests-missile/article37531234.ece"
    )
    assert art.body.startswith("The Defence Research and Development Organisation on Tuesday")
    assert art.body.endswith("air defence capability of the armed forces.")
    for junk in ("Also read", "Agni-P", "THG PUBLISHING", "Updated -"):
        assert junk not in art.body
    assert "24" not in art.body.split()


def test_pib_press_release() -> None:
    art = extract(
        "pib_press_release.html",
        "https://pib.gov.in/PressReleasePage.aspx?PRID=2081234",
        site_tz="Asia/Kolkata",
        selectors={"title": "h2.release-title"},
    )
    assert art.title == "Indian Navy and US Navy begin bilateral exercise off Visakhapatnam"
    assert art.published_at == datetime(2026, 11, 24, 12, 45, tzinfo=UTC)
    assert art.published_raw is not None
    assert "24 NOV 2026 6:15PM" in art.published_raw
    assert art.published_source == "text"
    assert art.published_precision == "minute"
    assert art.language == "en"
    assert art.canonical_url is None
    assert art.image_url is None
    assert art.body.startswith("The Indian Navy and the United States Navy began the annual")
    assert art.body.endswith("free, open and inclusive Indo-Pacific, the Ministry of Defence said.")
    for junk in ("***", "VK/SR/Savvy", "हिन्दी", "Release ID"):
        assert junk not in art.body


def _page(byline: str, paragraph: str) -> str:
    return (
        "<html lang='en'><head><title>Navy exercise</title></head><body><article>"
        f"<h1>Navy exercise begins</h1><div class='byline'>{byline}</div>"
        f"<p>{paragraph}</p><p>{paragraph}</p></article></body></html>"
    )


def test_published_and_updated_in_one_byline() -> None:
    html = _page(
        "Published: Nov 24, 2026, 09:15 am IST | Updated: Nov 24, 2026, 11:02 pm IST",
        "The Indian Navy began a two-week exercise in the Bay of Bengal with ships from "
        "four partner navies taking part in anti-submarine drills.",
    )
    art = extract_article(html, "https://example.in/a", fetched_at=FETCHED_AT)
    assert art.published_at == datetime(2026, 11, 24, 3, 45, tzinfo=UTC)
    assert art.modified_at == datetime(2026, 11, 24, 17, 32, tzinfo=UTC)
    assert art.published_source == "text"


def test_date_inside_a_sentence_is_not_a_publication_date() -> None:
    html = _page(
        "By Staff Reporter",
        # Short enough to be a label by length alone; it is a sentence all the same.
        "The exercise began on 24 November 2026 off Visakhapatnam.",
    )
    art = extract_article(html, "https://example.in/a", fetched_at=FETCHED_AT)
    assert art.published_at is None
    assert art.date_candidates == []
    assert art.authors == ["Staff Reporter"]


# ------------------------------------------------------------ selectors

SELECTORS_URL = "https://www.portalnews.example/defence/lch-deal"
PORTAL_SELECTORS = {
    "title": ".headline-text",
    "body": "div.article-content",
    "time": '//div[@class="article-info"]/span[@class="published"]/@data-published',
    "authors": ".writer-name::text",
    "image": '(//div[@class="hero"]/img)[1]/@data-src',
    "highlights": "ul.summary-points",
}


def test_selectors_override_automatic_fields() -> None:
    art = extract("selectors_page.html", SELECTORS_URL, selectors=PORTAL_SELECTORS)
    assert art.title == ("Cabinet clears ₹45,000 crore plan to buy 156 light combat helicopters")
    assert art.authors == ["Rahul Singh", "Neha Kaushik"]
    assert art.published_at == datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    assert art.published_source == "selector"
    assert art.image_url == "https://www.portalnews.example/media/2026/11/lch-prachand.jpg"
    assert art.highlights == [
        "Cabinet Committee on Security clears purchase of 156 helicopters",
        "Deliveries to begin three years after the contract is signed",
    ]
    assert art.body == (
        "The Cabinet Committee on Security on Friday cleared a plan to buy 156 light combat "
        "helicopters from Hindustan Aeronautics Limited at a cost of about ₹45,000 crore, "
        "officials said.\n\n"
        "Of the helicopters, 90 will go to the Army and 66 to the Air Force, which will use "
        "them for high-altitude operations along the northern borders."
    )


def test_without_selectors_the_portal_page_is_read_wrongly() -> None:
    # Shows why the source needs selectors: the stray sidebar <time> wins otherwise (its card
    # has no link, so nothing marks it as another article's).
    art = extract("selectors_page.html", SELECTORS_URL)
    assert art.title == "Portal News Network - Latest News"
    assert art.published_at == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert art.published_source == "time"


def test_time_selector_beats_jsonld_and_xpath_title() -> None:
    art = extract(
        "us_defence_jsonld.html",
        "https://www.defenseledger.example/x",
        selectors={
            "time": "aside.related time::attr(datetime)",
            "title": "//aside//a",
            "authors": "//div[@class='byline']/a[2]",
        },
    )
    assert art.published_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert art.published_source == "selector"
    assert art.title == "Marine Corps tests new tactical network kit"
    assert art.authors == ["Stephen Losey"]
    # The JSON-LD modification date is still reported.
    assert art.modified_at == datetime(2026, 11, 25, 13, 10, tzinfo=UTC)


def test_selector_matching_nothing_falls_back_and_bad_selector_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    art = extract(
        "us_defence_jsonld.html",
        "https://www.defenseledger.example/x",
        selectors={"title": "h1.no-such-class", "time": "//*[", "authors": ""},
    )
    assert art.title == "Army awards $1.2 billion contract for next-generation squad radios"
    assert art.published_source == "jsonld"
    assert art.authors == ["Jen Judson", "Stephen Losey"]
    assert "invalid selector" in caplog.text


def test_body_selector_matching_nothing_gives_empty_body() -> None:
    # The source's layout changed: better no body (dropped and counted) than a wrong one.
    art = extract(
        "selectors_page.html", SELECTORS_URL, selectors={"body": "div.layout-that-went-away"}
    )
    assert art.body == ""


# ------------------------------------------------------------ edge cases


def test_page_without_article_body_gives_empty_body() -> None:
    art = extract("no_article.html", "https://www.indiadefencedaily.example/defence")
    assert art.body == ""
    assert art.title == "Defence"


@pytest.mark.parametrize("html", ["", b"", "<html></html>", b"\x00\x01 not html"])
def test_empty_or_garbage_input_does_not_raise(html: str | bytes) -> None:
    art = extract_article(html, "https://example.com/", fetched_at=FETCHED_AT)
    assert art.body == ""
    assert art.published_at is None
    assert art.highlights == []


def test_bytes_are_decoded_with_declared_charset() -> None:
    html = (
        '<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 r\u00e9forme</title></head>'
        "<body><h1>Caf\u00e9 r\u00e9forme</h1></body></html>"
    ).encode("iso-8859-1")
    art = extract_article(html, "https://example.fr/a", fetched_at=FETCHED_AT)
    assert art.title == "Caf\u00e9 r\u00e9forme"


def test_naive_fetched_at_is_taken_as_utc() -> None:
    art = extract_article(
        load("highlights_page.html"), HIGHLIGHTS_URL, fetched_at=datetime(2026, 11, 25, 10, 0)
    )
    assert art.published_at == FETCHED_AT - timedelta(hours=2)


def test_to_dict_is_json_serialisable() -> None:
    art = extract("us_defence_jsonld.html", "https://www.defenseledger.example/x")
    data = json.loads(json.dumps(art.to_dict()))
    assert data["published_at"] == "2026-11-24T21:45:12+00:00"
    assert data["date_candidates"][0] == {
        "raw": "2026-11-24T16:45:12-05:00",
        "source": "jsonld",
        "origin": "jsonld:datePublished",
        "kind": "published",
        "parsed": "2026-11-24T21:45:12+00:00",
        "precision": "second",
        "modified": None,
        "rejected": None,
        "local_date": "2026-11-24",
        "rule": "iso8601",
    }
    assert data["published_date"] == "2026-11-24"
    assert isinstance(art.date_candidates[0], DateCandidate)


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    html = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<html><head><title>T &xxe;</title></head><body><p>&xxe;</p></body></html>"
    )
    art = extract_article(html, "https://example.com/", fetched_at=FETCHED_AT)
    assert "TOPSECRET" not in json.dumps(art.to_dict())


# ------------------------------------------------------------ junk line filter


@pytest.mark.parametrize(
    "line",
    [
        ".png)",
        "![Rajesh Kumar Singh](https://cdn.example/singh.png)",
        "English (US) ·",
        "हिन्दी · English",
        "24",
        "1.2K shares",
        "24 Comments",
        "Read more",
        "Read More »",
        "Also Read: GE jet engine deal enters final stage",
        "Also read | Agni-P missile test-fired successfully",
        "Subscribe to our newsletter",
        "Follow us on Twitter and Facebook",
        "Click here to download the app",
        "Advertisement",
        "ADVERTISEMENT",
        "2 hours ago",
        "5 min read",
        "Copyright © 2026 India Defence Daily. All rights reserved.",
        "© 2026 Defense Ledger",
        "***",
    ],
)
def test_junk_lines_are_removed(line: str) -> None:
    assert clean_paragraphs([line]) == []


@pytest.mark.parametrize(
    "line",
    [
        "24 soldiers were injured in the attack, officials said.",
        "Read more about the procurement rules in the ministry's 40-page statement.",
        "Copyright law was amended in 2021 to cover software exports.",
        "English remains the working language of the joint exercise.",
        "The deal was signed 2 hours ago in New Delhi.",
        "Subscribers to the defence journal received the report first.",
        "India, US sign pact",
    ],
)
def test_real_sentences_are_kept(line: str) -> None:
    assert not is_junk_line(line)
    assert clean_paragraphs([line]) == [line]


def test_inline_image_debris_is_scrubbed_but_sentence_kept() -> None:
    para = "The frigate ![INS Tamal](https://x/tamal.jpg) was commissioned in Russia.jpg)"
    assert clean_paragraphs([para]) == ["The frigate was commissioned in Russia"]


# ------------------------------------------------------------ benchmark sample


def _bench_module() -> ModuleType:
    path = REPO_ROOT / "benchmarks" / "extraction_bench.py"
    spec = importlib.util.spec_from_file_location("extraction_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("extraction_bench", module)
    spec.loader.exec_module(module)
    return module


def test_benchmark_sample_matches_ground_truth() -> None:
    if not (BENCH_DIR / "ground-truth.json").exists():
        pytest.skip(f"benchmark data not found at {BENCH_DIR} (set NEWSMON_BENCH_DIR)")
    bench = _bench_module()
    truth = json.loads((BENCH_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    # Every 18th page by id: a fixed, unpicked sample of 11 pages.
    sample = sorted(truth)[::18]
    scores: dict[str, float] = {}
    for item_id in sample:
        with gzip.open(BENCH_DIR / "html" / f"{item_id}.html.gz", "rb") as fh:
            html = fh.read()
        art = extract_article(html, truth[item_id]["url"], fetched_at=FETCHED_AT)
        scores[item_id] = bench.page_f1(truth[item_id]["articleBody"], art.body)
    low = {k: round(v, 3) for k, v in scores.items() if v < 0.8}
    assert not low, low
    assert statistics.mean(scores.values()) > 0.95


def test_benchmark_metric_matches_upstream_definition() -> None:
    bench = _bench_module()
    # 4-token shingles; page counts normalised to sum to one.
    assert bench.shingle_match("a b c d e", "a b c d") == (0.5, 0.0, 0.5)
    assert bench.shingle_match("", "") == (0.0, 0.0, 0.0)
    # Texts shorter than four tokens form a single short shingle.
    assert bench.shingle_match("a b", "a b") == (1.0, 0.0, 0.0)
    s = bench.scores([(1.0, 0.0, 0.0), (0.5, 0.0, 0.5), (0.0, 0.0, 1.0)])
    # Precision skips the page that predicted nothing; recall counts it.
    assert s.precision == pytest.approx(1.0)
    assert s.recall == pytest.approx(0.5)
    assert s.f1 == pytest.approx(2 / 3)


def test_word_count_counts_unspaced_scripts() -> None:
    from crawler.extraction.body import word_count

    assert word_count("India and the US signed a pact") == 7
    # Japanese runs are many words, not one (about one per two characters).
    assert word_count("防衛省は二日、新型護衛艦の建造計画を発表した。") == 11
    assert word_count("DRDO の新型ミサイル") == 1 + 4


def test_the_headline_not_the_blog_or_site_name() -> None:
    fetched = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    body = "<p>" + "The regiment took over the new radars on Monday, officials said. " * 6 + "</p>"
    blog = ("<html><head><title>Radar regiment raised | Frontier Notes</title></head><body>"
            "<header><h1>Frontier Notes</h1></header><div class='post'>"
            f"<h2 class='entry-title'>Radar regiment raised</h2>{body}</div></body></html>")
    assert extract_article(blog, "https://b.example/p/1", fetched_at=fetched).title == (
        "Radar regiment raised")
    site = ("<html><head><meta property='og:title' content='Radar regiment raised in Ladakh - "
            "Frontier Post'><meta property='og:site_name' content='Frontier Post'></head>"
            f"<body><div>{body}</div></body></html>")
    assert extract_article(site, "https://f.example/a", fetched_at=fetched).title == (
        "Radar regiment raised in Ladakh")


@pytest.mark.parametrize(("heading", "meta"), [
    # A kicker in the <h1> beside the headline.
    ("<h1><span class='kicker'>Shipbuilding</span> Navy orders six more corvettes</h1>",
     "<meta property='og:title' content='Navy orders six more corvettes'>"),
    # A comments heading that quotes the headline, and no <h1>.
    ("<h3 class='comments-title'>5 comments on “Navy orders six more corvettes”</h3>",
     "<title>Navy orders six more corvettes | Harbour Blog</title>"),
])
def test_the_headline_without_the_kicker_or_comments_heading_around_it(
        heading: str, meta: str) -> None:
    body = "<p>" + "The navy signed for six more corvettes on Monday, officials said. " * 6
    html = (f"<html><head>{meta}</head><body><div class='post'>{body}</p>{heading}"
            "</div></body></html>")
    art = extract_article(html, "https://h.example/c", fetched_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert art.title == "Navy orders six more corvettes"


def test_a_character_reference_left_in_the_headline_is_decoded() -> None:
    jsonld = json.dumps({"@type": "NewsArticle", "headline": "Steel &#038; aluminium duties rise"})
    body = "<p>" + "The ministry raised the duties on steel and aluminium imports again. " * 6
    html = (f"<html><head><script type='application/ld+json'>{jsonld}</script></head><body>"
            f"<div>{body}</p></div></body></html>")
    art = extract_article(html, "https://t.example/d", fetched_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert art.title == "Steel & aluminium duties rise"


def test_a_page_of_short_lines_is_not_emptied_where_trafilatura_finds_its_text() -> None:
    items = "".join(f"<li>Item {i}: pack the {w} in a dry bag before the trip</li>"
                    for i, w in enumerate(["tent", "stove", "map", "torch", "rope", "socks"]))
    html = ("<html><head><title>Packing list for the ridge walk</title></head><body>"
            "<article><h1>Packing list for the ridge walk</h1>"
            f"<p>Checklist</p><ul>{items}</ul></article></body></html>")
    art = extract_article(html, "https://walks.example/list",
                          fetched_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert "pack the rope in a dry bag" in art.body


@pytest.mark.parametrize("control", ["\x01", "\x08", "\x0e", "\x1b", "\ufffe", "\uffff"])
def test_one_control_character_does_not_empty_the_body(control: str) -> None:
    paragraphs = "".join(
        f"<p>The frigate fired its missiles in a test off the coast, officials said{control} "
        f"on day {i}, and the navy called the trial a success for the programme.</p>"
        for i in range(4))
    html = f"<html><body><article><h1>Frigate test-fires missiles</h1>{paragraphs}</article>"
    art = extract_article(html + "</body></html>", "https://n.example/a",
                          fetched_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert "called the trial a success" in art.body and control not in art.body


def test_a_utf8_page_with_a_few_bad_bytes_stays_utf8() -> None:
    from scrapy.http import HtmlResponse

    from crawler.spiders.encoding import response_text

    text = "<html><head><meta charset='utf-8'></head><body>" + (
        "Die Bundeswehr übernimmt drei Fregatten für die Marine. " * 40) + "</body></html>"
    body = text.encode("utf-8").replace(b"drei", b"dr\xffei", 1)
    decoded = response_text(HtmlResponse(url="https://n.example/a", body=body))
    assert "übernimmt" in decoded and "Ã¼" not in decoded and "\ufffd" in decoded
    legacy = ("Café crème für die Marine. " * 40).encode("cp1252")
    assert response_text(HtmlResponse(url="https://n.example/b", body=legacy)).startswith(
        "Café crème")


@pytest.mark.parametrize(("byline", "names"), [
    ("von Heiko", ["Heiko"]),
    ("Veröffentlicht von Chris Jung", ["Chris Jung"]),
    ("Author Daniel Lemire", ["Daniel Lemire"]),
    ("Posted by Jane Doe | Updated 2 hours ago", ["Jane Doe"]),
    ("Par Loïc Le Clerc", ["Loïc Le Clerc"]),
    ("Por Jacobo Betancur", ["Jacobo Betancur"]),
    ("Roland Brockmann und Sebastian Drescher", ["Roland Brockmann", "Sebastian Drescher"]),
    ("Di Maio Luigi", ["Di Maio Luigi"]),
    ("Asha Rao, PTI", ["Asha Rao", "PTI"]),
])
def test_byline_prefixes_go_and_names_stay(byline: str, names: list[str]) -> None:
    html = (f"<html><body><article><h1>Navy signs deal</h1><p class='byline'>{byline}</p>"
            "<p>" + "The navy signed the deal on Monday, officials said. " * 8 + "</p>"
            "</article></body></html>")
    art = extract_article(html, "https://n.example/a", fetched_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert art.authors == names
