"""GoogleNewsSpider: a Google News RSS search (kind ``google_news``), opt-in.

news.google.com's robots.txt disallows ``/rss/search`` for every crawler, so the kind needs
``obey_robots: false`` on its source (:class:`config.schema.Source` refuses it otherwise).
Its item links are opaque ``news.google.com/rss/articles/CBMi…`` tokens that answer a plain
client with a script page, never the publisher's article: the entries are all there is
(nothing else is fetched). Each item is stored with its publisher from ``<source url="…">``
and its title without Google's `` - Publisher`` suffix, so that story filing can put it
beside the publisher's own copy when that is crawled too; the description (the headline and
the publisher's name again, or a list of other outlets' headlines) is kept only when it says
more than that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from crawler.spiders.base import Hint
from crawler.spiders.feed import FeedSpider, _text


def strip_publisher(title: str | None, publisher: str | None) -> str | None:
    """``title`` without a trailing ``" - <publisher>"`` (Google's form), if it has one."""
    if not title or not publisher:
        return title
    for dash in (" - ", " – ", " — "):
        tail = f"{dash}{publisher}"
        if title.endswith(tail) and len(title) > len(tail):
            return title[: -len(tail)].rstrip()
    return title


class GoogleNewsSpider(FeedSpider):
    kinds: ClassVar[tuple[str, ...]] = ("google_news",)
    fetches_pages: ClassVar[bool] = False

    def _hint(self, entry: Any, feed_url: str, now: datetime) -> Hint | None:
        hint = super()._hint(entry, feed_url, now)
        if hint is None:
            return None
        source = entry.get("source") or {}
        publisher = _text(source.get("title")) if source.get("title") else None
        hint.publisher = publisher
        hint.publisher_url = source.get("href") or None
        hint.title = strip_publisher(hint.title, publisher)
        if hint.summary is not None:
            rest = hint.summary
            for said in (hint.title, publisher):
                if said:
                    rest = rest.replace(said, " ", 1)
            if not _text(rest):
                hint.summary = None
        return hint


__all__ = ["GoogleNewsSpider", "strip_publisher"]
