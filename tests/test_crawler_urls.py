"""URL canonicalisation: every variant of one article's address folds to one key."""

from __future__ import annotations

import pytest

from crawler.urls import InvalidURL, canonical_url, url_key

VARIANTS = [
    "https://www.example.com/india/story-123.html",
    "http://example.com/india/story-123.html",
    "https://example.com/india/story-123.html/",
    "https://example.com/india/story-123.html#comments",
    "https://example.com/india/story-123.html?utm_source=rss&utm_medium=feed",
    "https://example.com/india/story-123.html?fbclid=abc&gclid=def",
    "https://m.example.com/india/story-123.html",
    "https://amp.example.com/india/story-123.html",
    "https://example.com/india/amp/story-123.html",
    "https://example.com/amp/india/story-123.html",
    "https://example.com/india/story-123.amp.html",
    "https://EXAMPLE.com:443/india/story-123.html",
    "https://example.com/india/story-123.html?outputType=amp",
]


@pytest.mark.parametrize("url", VARIANTS)
def test_variants_fold_to_one_key(url: str) -> None:
    assert url_key(url) == "example.com/india/story-123.html"


def test_canonical_keeps_scheme_and_host_but_drops_tracking() -> None:
    assert canonical_url("HTTP://WWW.Example.com:80/a/b/?utm_campaign=x&b=2&a=1#top") == (
        "http://www.example.com/a/b?a=1&b=2")


def test_content_parameters_are_kept() -> None:
    assert url_key("https://example.com/article?id=42&utm_source=x") == "example.com/article?id=42"
    assert url_key("https://example.com/a?id=1") != url_key("https://example.com/a?id=2")


def test_times_of_india_amp_article() -> None:
    assert url_key("https://timesofindia.indiatimes.com/india/x/amp_articleshow/1.cms") == (
        "timesofindia.indiatimes.com/india/x/articleshow/1.cms")


def test_relative_urls_resolve_against_base() -> None:
    assert canonical_url("../b?utm_source=x", "https://example.com/a/c") == (
        "https://example.com/b")


@pytest.mark.parametrize("bad", ["mailto:x@example.com", "javascript:alert(1)", "/relative",
                                 "ftp://example.com/x", "https://", "http://example.com:99999/"])
def test_non_http_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidURL, match="not an absolute http"):
        url_key(bad)
