"""Fuzzing with hypothesis: the time parser, the URL canonicaliser and the extractor on random and
mutated input. No exception escapes, and no time comes out later than the contract allows
(a day past the fetch, for time-zone slack; see crawler/timeparse)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extraction import extract_article
from crawler.timeparse import parse as parse_time
from crawler.urls import InvalidURL, canonical_url, url_key
from faults.site import article_html

SLACK = timedelta(days=1)
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Zurich", "Asia/Tokyo",
         "Australia/Lord_Howe", "Pacific/Kiritimati", "Etc/GMT+12"]
# Formats real sites print (docs/FIELD-NOTES), to mutate.
DATES = [
    "Published on Jun 16, 2024 09:49 AM IST", "Updated - November 17, 2021 04:44 am IST",
    "April 17, 2024 01:21 am | Updated 01:30 pm IST", "Updated: Jun 3, 2025, 19:06 IST",
    "Apr 29, 2026, 04:07 PM IST", "Aug. 24, 2023", "6:17 a.m. EST",
    "Tue, 24 Nov 2026 23:02:00 +0530", "2026-11-24T17:32:00Z", "2 hours ago", "yesterday",
    "Posted On: 24 NOV 2026 6:15PM", "24.11.2026 18:15", "11/24/2026", "vor 2 Stunden",
]
URLS = [
    "https://www.example.com/india-news/amp/story-101732415.html?utm_source=rss&b=2&a=1#top",
    "http://m.example.co.in:80/a//b/?fbclid=x&outputType=amp",
    "https://amp.example.com/story.amp.html", "HTTPS://EXAMPLE.COM./Path/?q=%7E&q=a",
    "http://[::1]:8080/x", "https://user:pw@example.com:443/p;params?x=1",
    "https://example.com/%E2%82%AC/caf%C3%A9?€=1", "http://example.com/a b/c",
]

mutations = st.lists(st.tuples(st.integers(0, 500), st.sampled_from(["insert", "delete",
                                                                      "replace", "dup"]),
                               st.text(min_size=1, max_size=3)), max_size=6)


def mutate(base: str, edits: list[tuple[int, str, str]]) -> str:
    """``base`` with a few characters inserted, deleted, replaced or a slice duplicated."""
    s = base
    for pos, op, chars in edits:
        i = pos % (len(s) + 1)
        if op == "insert":
            s = s[:i] + chars + s[i:]
        elif op == "delete":
            s = s[:i] + s[i + len(chars):]
        elif op == "replace":
            s = s[:i] + chars + s[i + len(chars):]
        else:
            s = s[:i] + s[i:i + 8] + s[i:]
    return s


nows = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31),
                    timezones=st.just(UTC))
texts = st.one_of(st.text(max_size=200),
                  st.builds(mutate, st.sampled_from(DATES), mutations),
                  st.from_regex(r"[0-9]{1,4}[-/. :][0-9]{1,2}[-/. :][0-9]{1,4}( [0-9:]{3,8})?"
                                r"( ?[AaPp]\.?[Mm]\.?)?( [A-Z]{2,4}| ?[+-][0-9]{4})?",
                                fullmatch=True))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=texts, now=nows, tz=st.sampled_from(ZONES))
def time_parser_property(text: str, now: datetime, tz: str) -> None:
    result = parse_time(text, now, tz)
    if result is not None:
        assert result.dt.tzinfo is not None
        assert result.dt <= now + SLACK, (text, now, tz, result)
        if result.modified is not None:
            assert result.modified <= now + SLACK, (text, now, tz, result)


def test_time_parser_never_raises_nor_returns_the_future(record: Callable[..., None]
                                                         ) -> None:
    record("fuzz", "time parser: 400 random strings, mutated real-site formats and "
           "date-shaped noise, at random 'now' (1990–2090) in 8 zones including UTC−12 and "
           "UTC+14", "no exception; no result more than a day after 'now' (the parser's "
           "documented zone slack)")
    time_parser_property()


url_texts = st.one_of(st.text(max_size=120), st.builds(mutate, st.sampled_from(URLS), mutations),
                      st.builds(lambda h, p, q: f"https://{h}/{p}?{q}",
                                st.text(max_size=20), st.text(max_size=30),
                                st.text(max_size=30)))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(url=url_texts)
def url_property(url: str) -> None:
    try:
        canon = canonical_url(url)
        key = url_key(url)
    except InvalidURL:
        return
    assert canonical_url(canon) == canon, (url, canon)
    assert url_key(canon) == key, (url, canon, key)


def test_url_canonicaliser_never_raises_and_is_stable(record: Callable[..., None]) -> None:
    record("fuzz", "URL canonicaliser: 500 random strings, mutated real URLs (IPv6, "
           "userinfo, ports, AMP, tracking parameters, non-ASCII) and random host/path/query",
           "only InvalidURL for what is not an http(s) URL; otherwise canonical_url is "
           "idempotent and url_key is the same for a URL and its canonical form")
    url_property()


_PAGE = article_html("Navy commissions its third survey vessel at Kolkata", 1,
                     published="2026-11-20T10:00:00+05:30")
html_texts = st.one_of(
    st.text(max_size=400),
    st.builds(mutate, st.just(_PAGE), st.lists(st.tuples(
        st.integers(0, 3000), st.sampled_from(["insert", "delete", "replace", "dup"]),
        st.sampled_from(["<", ">", "</p>", "<div>", "<!--", "&", "&#x0;", "\x00", "<script>",
                         "]]>", "\ufeff", "<meta charset=x>", "9999", "2099-01-01",
                         "<time datetime='3000-01-01'>"])), max_size=12)),
    st.builds(lambda dt: _PAGE.replace("2026-11-20T10:00:00+05:30", dt),
              st.text(max_size=40)),
)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(html=html_texts, fetched=nows, tz=st.sampled_from(ZONES))
def extractor_property(html: str, fetched: datetime, tz: str) -> None:
    art = extract_article(html, "https://example.com/news/story-100200.html",
                          fetched_at=fetched, site_tz=tz)
    for when in (art.published_at, art.modified_at):
        assert when is None or when <= fetched + SLACK, (when, fetched)


def test_extractor_never_raises_nor_dates_the_future(record: Callable[..., None]) -> None:
    record("fuzz", "extractor: 120 random strings, an article page with tags, comments, "
           "NULs, BOMs and far-future dates spliced in, and random text as its publication "
           "time", "no exception; no publication or modification time more than a day after "
           "the fetch")
    extractor_property()
