"""digest.render: Markdown, HTML, text and JSON; escaping; user templates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from newsfactory import T0, Newsroom, open_newsroom

from config import Settings
from digest import Digest, TemplateError, build_digest, render
from digest.render import md_escape, safe_url

DAY = date(2026, 11, 25)
IST = ZoneInfo("Asia/Kolkata")
HOSTILE_TITLE = '<script>document.title="pwned"</script> Army <b>orders</b> & tanks'
HOSTILE_IMG = '<img src=x onerror="document.body.dataset.pwned=1"> Trade [deal](javascript:x)'


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def hostile_digest(room: Newsroom) -> Digest:
    at = datetime(2026, 11, 25, 9, 12, tzinfo=IST)
    room.add(
        room.article(HOSTILE_TITLE, source="hindu", at=at, topics={"defence": 9},
                     story="x", highlights=['He said "<iframe src=//evil>" & left']),
        room.article("Second report", source="pib", at=at, topics={"defence": 9}, story="x",
                     url="javascript:alert(1)"),
        room.article(HOSTILE_IMG, source="ht", at=at, topics={"trade": 8},
                     body="Tariffs <svg onload=alert(1)> fall. Markets rise."),
    )
    return build_digest(room.store, Settings(), day=DAY, now=T0)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]
        assert not any(k.startswith("on") for k, _ in attrs), (tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_everything_scraped(room: Newsroom) -> None:
    html = render(hostile_digest(room), "html")
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.text)
    assert HOSTILE_TITLE in text
    assert HOSTILE_IMG in text
    assert 'He said "<iframe src=//evil>" & left' in text
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "div", "h1",
                                "h2", "h3", "p", "span", "a", "ul", "ol", "li", "strong"}
    assert all(h.startswith("https://") for h in parser.hrefs)
    assert "javascript:" not in " ".join(parser.hrefs)
    assert "Also reported by 1 source:" in text


def test_markdown_escapes_markup_and_drops_unsafe_links(room: Newsroom) -> None:
    md = render(hostile_digest(room), "markdown")
    assert ("### [\\<script\\>document.title=\"pwned\"\\</script\\> Army \\<b\\>orders\\</b\\> "
            "& tanks](https://hindu.example.com/news/1)") in md
    assert "Also reported by 1 source: pib\n" in md  # its javascript: link is dropped
    assert "\\[deal\\](javascript:x)" in md
    assert "- He said \"\\<iframe src=//evil\\>\" & left" in md
    assert "Tariffs \\<svg onload=alert(1)\\> fall." in md
    assert not re.search(r"(?<!\\)<", md)  # every '<' is escaped


def test_markdown_and_text_layout(room: Newsroom) -> None:
    at = datetime(2026, 11, 25, 9, 12, tzinfo=IST)
    room.add(
        room.article("India signs Rafale Marine deal", source="hindu", at=at,
                     topics={"defence": 9}, story="r", highlights=["26 jets", "From 2029"]),
        room.article("Jet pact sealed", source="ht", at=at, topics={"defence": 8}, story="r"),
        room.article("Steel tariffs rise", source="reuters", at=at, topics={"trade": 8},
                     body="Duties rose. Mills protested. Talks continue."),
    )
    digest = build_digest(room.store, Settings(), day=DAY, now=T0)
    assert render(digest, "markdown") == """\
# Digest — Wednesday 25 November 2026

3 articles · 2 stories · 3 sources

**Most reported:** [India signs Rafale Marine deal](https://hindu.example.com/news/1) \
(2 sources, new)

## Defence

### [India signs Rafale Marine deal](https://hindu.example.com/news/1)

**New** · hindu · 09:12 IST · 2 sources

- 26 jets
- From 2029

Also reported by 1 source: [ht](https://ht.example.com/news/2)

## Trade

### [Steel tariffs rise](https://reuters.example.com/news/3)

**New** · reuters · 09:12 IST

Duties rose. Mills protested.

"""
    assert render(digest, "text") == """\
Digest — Wednesday 25 November 2026
===================================

3 articles, 2 stories, 3 sources.

MOST REPORTED
-------------

* India signs Rafale Marine deal (2 sources, new)

DEFENCE
-------

* [NEW] India signs Rafale Marine deal
  hindu, 09:12 IST, 2 sources
  - 26 jets
  - From 2029
  https://hindu.example.com/news/1
  Also reported by 1 source:
    ht: https://ht.example.com/news/2

TRADE
-----

* [NEW] Steel tariffs rise
  reuters, 09:12 IST
  Duties rose. Mills protested.
  https://reuters.example.com/news/3

"""
    data = json.loads(render(digest, "json"))
    assert data["day"] == "2026-11-25"
    assert data["totals"] == {"articles": 3, "stories": 2, "sources": 3, "off_topic": 0,
                              "runs": 0, "failed_runs": 0,
                              "blocked_pages": 0}
    story = data["sections"][0]["stories"][0]
    assert story["also"] == [{"source": "ht", "title": "Jet pact sealed",
                              "url": "https://ht.example.com/news/2", "local_time": "09:12 IST"}]
    assert story["dated_at"] == "2026-11-25T03:42:00+00:00"


def test_a_user_template_replaces_the_packaged_one(room: Newsroom, tmp_path: Path) -> None:
    room.one("Tank order", topics={"defence": 9})
    digest = build_digest(room.store, Settings(), day=DAY, now=T0)
    (tmp_path / "digest.md.j2").write_text(
        "{{ digest.title }}: {% for s in digest.sections %}{{ s.stories | length }}"
        "{% endfor %}\n")
    # (trim_blocks: the newline after a block tag goes.)
    assert render(digest, "markdown", template_dir=tmp_path) == (
        "Digest — Wednesday 25 November 2026: 1")
    # The others still come from the package.
    assert render(digest, "html", template_dir=tmp_path).startswith("<!DOCTYPE html>")
    (tmp_path / "digest.txt.j2").write_text("{% for x in %}\n")
    with pytest.raises(TemplateError) as exc:
        render(digest, "text", template_dir=tmp_path)
    assert str(exc.value).startswith(f"digest template {tmp_path / 'digest.txt.j2'}, line 1: ")
    (tmp_path / "digest.txt.j2").write_text("{{ digest.no_such_field }}\n")
    with pytest.raises(TemplateError) as exc:
        render(digest, "text", template_dir=tmp_path)
    assert str(exc.value) == ("digest template digest.txt.j2: 'digest.build.Digest "
                              "object' has no attribute 'no_such_field'")


@pytest.mark.parametrize(("url", "safe"), [
    ("https://example.com/a b?q=(1)", "https://example.com/a%20b?q=%281%29"),
    ("http://example.com/x?a=1&b=2#f", "http://example.com/x?a=1&b=2#f"),
    ("javascript:alert(1)", ""),
    ("JAVASCRIPT://example.com/%0aalert(1)", ""),
    ("data:text/html,<script>", ""),
    ("//example.com/x", ""),
    ("https://example.com/\"><script>", "https://example.com/%22%3E%3Cscript%3E"),
])
def test_safe_url(url: str, safe: str) -> None:
    assert safe_url(url) == safe


def test_md_escape() -> None:
    assert md_escape("a*b_c [d](e) <f> `g` #h |i| ~j~ \\ ") == (
        "a\\*b\\_c \\[d\\](e) \\<f\\> \\`g\\` \\#h \\|i\\| \\~j\\~ \\\\")
    assert md_escape("air-independent propulsion (AIP)!") == "air-independent propulsion (AIP)!"
    assert md_escape("two\nlines") == "two lines"
