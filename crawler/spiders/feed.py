"""FeedSpider: RSS 2.0, RSS 1.0 (RDF) and Atom feeds, read with feedparser after a safety check."""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urljoin

import feedparser
from scrapy.http import Response

from crawler.middlewares import generated_at
from crawler.spiders.base import Hint, SourceSpider, UnreadableStart, origin_of, time_hint
from crawler.xmlsafe import check_no_entities

_TAG = re.compile(r"<[^>]+>")
# Script and style content is code, not text: it goes with its tags.
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
                         re.IGNORECASE | re.DOTALL)
_WS = re.compile(r"\s+")
# Where one paragraph of an entry's full text ends and the next begins.
_BREAK = re.compile(r"<(?:/(?:p|div|h[1-6]|li|blockquote|figure|section)|br\s*/?)\s*>",
                    re.IGNORECASE)
_FUTURE_SLACK = timedelta(days=1)


def _text(markup: str | None) -> str | None:
    """Feed titles and summaries often carry HTML; keep the text."""
    if not markup:
        return None
    text = _WS.sub(" ", html.unescape(_TAG.sub(" ", _CODE.sub(" ", markup)))).strip()
    return text or None


def _full_text(entry: Any) -> str | None:
    """The entry's full text (RSS ``content:encoded``, Atom ``content``) as paragraphs, the
    longest when it has several."""
    texts = []
    for content in entry.get("content", []):
        value = content.get("value") or ""
        if "html" not in (content.get("type") or "html"):
            paragraphs = [value]
        else:
            paragraphs = _BREAK.split(_CODE.sub(" ", value))
        kept = [t for t in (_text(p) for p in paragraphs) if t]
        if kept:
            texts.append("\n\n".join(kept))
    return max(texts, key=len) if texts else None


class NotAFeed(UnreadableStart):
    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: not a feed ({detail})")


class FeedSpider(SourceSpider):
    kinds: ClassVar[tuple[str, ...]] = ("rss", "atom")

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:
        check_no_entities(response.body, response.url)
        parsed = feedparser.parse(response.body, response_headers={
            k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
            for k, v in response.headers.items()
        })
        if not parsed.entries:
            version = parsed.get("version") or ""
            if not version:
                if not response.body.strip():
                    raise NotAFeed(response.url, "the response was empty")
                if _HTML_START.match(response.body[:4096]):
                    raise NotAFeed(response.url, "got an HTML page")
                detail = "no RSS or Atom found in the document"
                if parsed.get("bozo"):
                    detail += f": {parsed.get('bozo_exception')}"
                raise NotAFeed(response.url, detail)
            self.count("empty_feeds")
            return
        now = generated_at(response)
        hints = [self._hint(entry, response.url, now) for entry in parsed.entries]
        async for out in self.follow_articles([h for h in hints if h is not None],
                                              origin_of(response)):
            yield out

    def _hint(self, entry: Any, feed_url: str, now: datetime) -> Hint | None:
        link = entry.get("link")
        if not link:
            for alt in entry.get("links", []):
                if alt.get("rel") == "alternate" and alt.get("href"):
                    link = alt["href"]
                    break
        if not link:
            self.count("entries_without_link")
            return None
        link = urljoin(feed_url, link.strip())
        # Look before reading "updated": feedparser maps it to "published" with a warning.
        keys = set(entry.keys())
        raw = next((entry[k] for k in ("published", "updated", "created") if k in keys), None)
        when = time_hint(raw, now, self.source.timezone, "feed")
        if not when and entry.get("published_parsed"):
            # feedparser read a date our parser declined (rare formats); it is UTC. Like our
            # parser, take nothing more than a day ahead: a feed dated 2099 is a broken feed.
            # A date feedparser cannot turn into a datetime ("0000-00-00" gives year -1) is
            # no date; it must not cost the feed its other entries.
            try:
                published = datetime.fromtimestamp(calendar.timegm(entry["published_parsed"]),
                                                   UTC)
            except (ValueError, OverflowError, OSError):
                published = None
            if (published is not None and published <= now + _FUTURE_SLACK
                    and _agrees(published, str(raw))):
                when = {"published_at": published, "published_raw": raw,
                        "published_precision": "second", "published_source": "feed"}
        modified = None
        if "updated" in keys and "published" in keys:
            mod = time_hint(entry["updated"], now, self.source.timezone, "feed")
            modified = mod.get("published_at")
        authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")]
        if not authors and entry.get("author"):
            authors = [entry["author"]]
        tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
        image = None
        for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
            if media.get("url"):
                image = media["url"]
                break
        return Hint(
            url=link, title=_text(entry.get("title")), summary=_text(entry.get("summary")),
            body=_full_text(entry),
            authors=[_text(a) or a for a in authors], tags=tags, image_url=image,
            modified_at=modified, **when,
        )


def _agrees(parsed: datetime, raw: str) -> bool:
    """Whether feedparser's reading of ``raw`` shows the year and day printed in it.

    feedparser normalises impossible dates ("2026-13-45" becomes 2027-01-01) instead of
    refusing them; a date that does not show its own year and day is a wrong value, and a
    wrong value is worse than none.
    """
    numbers = {int(n) for n in re.findall(r"\d+", raw)}
    return parsed.year in numbers and parsed.day in numbers
