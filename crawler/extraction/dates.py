"""Publication dates: collect every date string in a page, parse each, pick the winner.

Every string goes through :func:`crawler.timeparse.parse` (relative times count
back from ``now``, the fetch time). Evidence priority for ``published``:
per-source selector > JSON-LD > meta tags > ``<time datetime>`` > short visible
text near the title/byline. Within JSON-LD and meta the most precise value wins
(ties: first in the page); for ``<time>`` and visible text the position decides.
When a page has no publication date at all, its best "updated" date is used.
Only short text nodes that contain a digit or a relative-time word are ever fed
to the parser, so a lone count such as "24" cannot become a date. A ``<time>`` or a
visible text inside a block about other articles (trending, latest, most read, "also
read" teasers, comments, tickers: :mod:`crawler.extraction.regions`) is never this
article's time: it is listed as a rejected candidate with the reason.

The candidate list holds every JSON-LD, meta, ``<time>`` and selector string
(parsed or not). Visible text is scanned only when none of those parsed, and
only the text strings the parser could read are listed (at most five).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from crawler.extraction.document import clean_text, element_text, select
from crawler.extraction.metadata import PageMeta
from crawler.extraction.model import SOURCE_PRIORITY, DateCandidate
from crawler.extraction.regions import Texts, elsewhere, heading_of
from crawler.timeparse import parse as parse_time

logger = logging.getLogger(__name__)

PUBLISHED, MODIFIED = "published", "modified"

_META_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "og:published_time",
    "published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dc.date.created",
    "dcterms.created",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "article.published",
    "cxenseparse:recs:publishtime",
    "originalpublicationdate",
    "date",
)
_META_MODIFIED = (
    "article:modified_time",
    "og:updated_time",
    "article:updated_time",
    "og:article:modified_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
    "revised",
    "article.updated",
)
_PRECISION_RANK = {"second": 0, "minute": 1, "hour": 2, "day": 3, "week": 4, "month": 5}
# Date labels are short; a longer text is a sentence that merely mentions a date.
_MAX_TEXT_LEN = 100
_MAX_TEXT_WORDS = 16
_SENTENCE_RE = re.compile(r"^(?:\S+\s+){7,}\S+[.!?]$")
_MAX_TEXT_TRIES = 60
_MAX_TEXT_HITS = 5
_MAX_REJECTED = 10  # rejected texts listed (for `newsmon extract`), at most
_DATEISH_RE = re.compile(r"\d|\bago\b|\byesterday\b|\btoday\b|\bjust now\b", re.IGNORECASE)
_NUMBERS_ONLY_RE = re.compile(r"[\d\s.,:+%()#-]*[kKmM]?")
# ... except all-digit dates, which look like counts to the filter above ("03.11.2021").
_NUMERIC_DATE_RE = re.compile(r"(?<!\d)(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|"
                              r"\d{4}[./-]\d{1,2}[./-]\d{1,2})(?!\d)")
# A page's own clock ("Aktuelle Zeit: 14.10.2020, 12:18"), not a publication time.
_SITE_CLOCK_RE = re.compile(r"aktuelle[sn]?\s+(?:zeit|datum)|current\s+(?:date|time)|"
                            r"heure\s+actuelle|hora\s+actual|it\s+is\s+(?:now|currently)",
                            re.IGNORECASE)
# Words that make a bare clock or "today" a date label when no date class says so.
_LABEL_RE = re.compile(r"\b(?:published|posted|updated|modified|veröffentlicht|aktualisiert|"
                       r"erstellt|stand|publié|mis à jour|publicado|actualizado|pubblicato|"
                       r"aggiornato|gepubliceerd|bijgewerkt|опубликовано|обновлено)\b",
                       re.IGNORECASE)
# Parser rules that name only a clock or a day word: weak without a label.
_WEAK_RULES = frozenset({"clock", "day_word"})
_UPDATED_RE = re.compile(r"^\W*(last\s+)?(updated|modified|edited)\b", re.IGNORECASE)
_HINT_RE = re.compile(
    r"date|time|publish|posted|updated|byline|dateline|timestamp|meta|stamp", re.IGNORECASE
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "option"})


class _Collector:
    def __init__(self, now: datetime, site_tz: str) -> None:
        self.now = now
        self.site_tz = site_tz
        self.candidates: list[DateCandidate] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, raw: str | None, source: str, origin: str, kind: str,
            rejected: str | None = None) -> DateCandidate | None:
        """Parse and record a candidate (unreadable and rejected ones too); None for
        empty/duplicate input."""
        text = clean_text(raw)
        if not text or (source, origin, text) in self._seen:
            return None
        self._seen.add((source, origin, text))
        cand = self.parse(text, source, origin, kind, rejected)
        self.candidates.append(cand)
        return cand

    def parse(self, text: str, source: str, origin: str, kind: str,
              rejected: str | None = None) -> DateCandidate:
        """Parse one string without recording it."""
        try:
            result = parse_time(text, self.now, self.site_tz)
        except Exception:  # a parser bug must not cost us the article
            logger.exception("time parser failed on %r", text)
            result = None
        if result is None:
            cand = DateCandidate(text, source, origin, kind, rejected=rejected)
        else:
            precision = getattr(result.precision, "value", result.precision)
            cand = DateCandidate(
                text, source, origin, kind, result.dt, str(precision), result.modified,
                rejected, result.local_date,
                result.rule + (" (no year)" if result.yearless else ""),
            )
        return cand


def _value_of(item: HtmlElement | str) -> str:
    if isinstance(item, str):
        return item
    for attr in ("datetime", "content", "data-datetime", "data-date", "title"):
        value: str | None = item.get(attr)
        if value and _DATEISH_RE.search(value):
            return value
    return element_text(item)


def _from_selector(tree: HtmlElement, selector: str, out: _Collector) -> None:
    for item in select(tree, selector):
        out.add(_value_of(item), "selector", f"selector:{selector}", PUBLISHED)


# A full date in a URL's path: /2019/10/22/, /2019-10-22-…, /20191022/ (years 1990-2099).
_URL_DATE_RE = re.compile(
    r"/((?:19|20)\d\d)(?:([/_-])(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])"
    r"|(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]))(?=[/_.-]|$)")


def _from_url(url: str, out: _Collector) -> None:
    """The date a publisher wrote into the article's address when it made it; it never
    changes with later updates (htmldate reads it first, too)."""
    match = _URL_DATE_RE.search(urlsplit(url).path)
    if match is None:
        return
    y, m, d = match[1], match[3] or match[5], match[4] or match[6]
    try:
        day = date(int(y), int(m), int(d))
    except ValueError:
        return
    if day > out.now.date():
        return
    out.add(day.isoformat(), "url", "url:path", PUBLISHED)


def _from_jsonld(page: PageMeta, out: _Collector) -> None:
    """Dates of the JSON-LD article objects; of the page objects (WebPage in a @graph) only
    where no article object has one."""
    for objects, origin in ((page.jsonld, "jsonld"), (page.jsonld_pages, "jsonld:WebPage")):
        if origin != "jsonld" and any(c.source == "jsonld" and c.parsed is not None
                                      for c in out.candidates):
            break
        for obj in objects:
            for key, kind in (("datePublished", PUBLISHED), ("dateModified", MODIFIED)):
                value = obj.get(key)
                if isinstance(value, list):
                    value = value[0] if value else None
                if isinstance(value, str | int | float):
                    out.add(str(value), "jsonld", f"{origin}:{key}", kind)


def _from_meta(tree: HtmlElement, page: PageMeta, out: _Collector) -> None:
    for keys, kind in ((_META_PUBLISHED, PUBLISHED), (_META_MODIFIED, MODIFIED)):
        for key in keys:
            for value in page.all(key):
                out.add(value, "meta", f"meta:{key}", kind)
    for el in tree.xpath("//body//*[@itemprop='datePublished' or @itemprop='dateModified']"):
        kind = PUBLISHED if el.get("itemprop") == "datePublished" else MODIFIED
        out.add(_value_of(el), "meta", f"itemprop:{el.get('itemprop')}", kind)


def _time_kind(el: HtmlElement) -> str:
    hints = f"{el.get('class', '')} {el.get('itemprop', '')} {el.get('id', '')}".lower()
    parent = el.getparent()
    if parent is not None:
        hints += f" {parent.get('class', '')}".lower()
    return MODIFIED if re.search(r"updat|modif", hints) else PUBLISHED


def _from_time(tree: HtmlElement, out: _Collector) -> None:
    heading = heading_of(tree)
    elements = [el for el in tree.iter("time") if el.get("datetime")]
    # <time pubdate> and times inside the article come before stray ones in sidebars.
    elements.sort(
        key=lambda el: (
            el.get("pubdate") is None,
            not el.xpath("ancestor::article or ancestor::main"),
        )
    )
    texts = Texts()
    for el in elements:
        out.add(el.get("datetime"), "time", "time[datetime]", _time_kind(el),
                elsewhere(el, heading, texts(el), texts))


def _hinted(el: HtmlElement) -> bool:
    node: HtmlElement | None = el
    for _ in range(3):
        if node is None:
            break
        attrs = f"{node.get('class', '')} {node.get('id', '')} {node.get('itemprop', '')}"
        if _HINT_RE.search(attrs):
            return True
        node = node.getparent()
    return False


def _describe(el: HtmlElement) -> str:
    cls = (el.get("class") or "").split()
    return f"{el.tag}.{cls[0]}" if cls else str(el.tag)


_INLINE_TAGS = frozenset(
    {"span", "a", "b", "strong", "em", "i", "small", "time", "font", "abbr", "label", "u"}
)
_TEXT_NODES = "//body//text()[normalize-space()]"


def _owner(node: Any) -> HtmlElement | None:
    """The element whose text a text node is part of (lxml hands tails to the sibling)."""
    parent: HtmlElement | None = node.getparent()
    if parent is not None and node.is_tail:
        parent = parent.getparent()
    return parent


def _block_of(el: HtmlElement, text_of: Texts) -> HtmlElement:
    """Climb out of inline wrappers while the text stays short ("Updated - <span>date</span>")."""
    node = el
    while node.tag in _INLINE_TAGS:
        parent = node.getparent()
        if parent is None or len(text_of(parent)) > _MAX_TEXT_LEN:
            break
        node = parent
    return node


def _text_candidates(
    tree: HtmlElement,
) -> list[tuple[list[str], HtmlElement, str | None]]:
    """Short date-like texts near the title: hinted ones (class "date", "byline"…) first,
    then by distance from the <h1>; texts in blocks about other articles last, with the
    reason they are rejected. Each entry holds the text of the element that owns the
    date-like text node and, if different, of its enclosing block."""
    nodes = tree.xpath(_TEXT_NODES)
    h1 = heading_of(tree)
    anchor = (
        int(h1.xpath("count(preceding::text()[normalize-space()][ancestor::body])"))
        if h1 is not None
        else 0
    )
    found: list[tuple[int, int, list[str], HtmlElement, str | None]] = []
    seen: set[str] = set()
    text_of = Texts()
    for pos, node in enumerate(nodes):
        if not _DATEISH_RE.search(node):
            continue
        owner = _owner(node)
        if owner is None or owner.tag in _SKIP_TAGS:
            continue
        texts: list[str] = []
        for el in (owner, _block_of(owner, text_of)):
            text = text_of(el)
            if (
                text
                and len(text) <= _MAX_TEXT_LEN
                and len(text.split()) <= _MAX_TEXT_WORDS
                and not _SENTENCE_RE.match(text)
                and text not in seen
                and _DATEISH_RE.search(text)
                and (not _NUMBERS_ONLY_RE.fullmatch(text) or _NUMERIC_DATE_RE.search(text))
            ):
                seen.add(text)
                texts.append(text)
        if texts:
            why = elsewhere(owner, h1, texts[0], text_of)
            tier = 2 if why else 0 if _hinted(owner) else 1
            found.append((tier, abs(pos - anchor), texts, owner, why))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(texts, el, why) for _tier, _dist, texts, el, why in found]


def _rank(cand: DateCandidate | None) -> int:
    if cand is None or cand.parsed is None:
        return 99
    return _PRECISION_RANK.get(cand.precision or "", 9)


def _from_text(tree: HtmlElement, out: _Collector) -> None:
    hits = rejected = 0
    for tries, (texts, el, why) in enumerate(_text_candidates(tree)):
        if why is not None:  # listed only where it reads as a time
            cand = out.parse(texts[0], "text", f"text:{_describe(el)}", _text_kind(texts[0]),
                             why) if rejected < _MAX_REJECTED else None
            if cand is not None and cand.parsed is not None:
                out.candidates.append(cand)
                rejected += 1
            continue
        if tries >= _MAX_TEXT_TRIES or hits >= _MAX_TEXT_HITS:
            break
        tried = [
            out.parse(text, "text", f"text:{_describe(el)}", _text_kind(text)) for text in texts
        ]
        # The owner's own text unless the enclosing block reads more precisely.
        best = min(tried, key=_rank)
        if best.parsed is None:
            continue
        why = _weak_text(best, el)
        if why is not None:
            if rejected < _MAX_REJECTED:
                out.candidates.append(dataclasses.replace(best, rejected=why))
                rejected += 1
            continue
        out.candidates.append(best)
        hits += 1


def _weak_text(cand: DateCandidate, el: HtmlElement) -> str | None:
    """Why a visible text that parsed is still not a publication time, or None."""
    if _SITE_CLOCK_RE.search(cand.raw):
        return "the site's current date and time, not a publication time"
    labelled = _hinted(el) or bool(_LABEL_RE.search(cand.raw))
    if (cand.rule or "") in _WEAK_RULES and not labelled:
        return "a bare clock time or day word outside a date label"
    if (cand.rule or "").endswith("(no year)") and not labelled:
        return "a date without a year outside the byline"
    return None


def _text_kind(text: str) -> str:
    return MODIFIED if _UPDATED_RE.match(text) else PUBLISHED


def collect_candidates(
    tree: HtmlElement,
    page: PageMeta,
    *,
    now: datetime,
    site_tz: str,
    selector: str | None = None,
    url: str | None = None,
) -> list[DateCandidate]:
    """Every date string of the page with its origin and parsed value (None if unreadable)."""
    out = _Collector(now, site_tz)
    if url:
        _from_url(url, out)
    if selector:
        _from_selector(tree, selector, out)
    _from_jsonld(page, out)
    _from_meta(tree, page, out)
    _from_time(tree, out)
    if not any(c.parsed for c in out.candidates
               if c.source not in ("selector", "url") and not c.rejected):
        _from_text(tree, out)
    return out.candidates


def _most_precise(group: list[DateCandidate]) -> DateCandidate:
    return min(group, key=lambda c: _PRECISION_RANK.get(c.precision or "", 9))


def _best(candidates: Iterable[DateCandidate], kind: str) -> DateCandidate | None:
    parsed = [c for c in candidates
              if c.parsed is not None and c.kind == kind and c.rejected is None]
    for source in SOURCE_PRIORITY:
        group = [c for c in parsed if c.source == source]
        if group:
            return _most_precise(group) if source in ("jsonld", "meta") else group[0]
    return None


def choose(candidates: list[DateCandidate]) -> tuple[DateCandidate | None, datetime | None]:
    """The winning publication candidate and the modification time (both may be None)."""
    selected = [c for c in candidates if c.source == "selector" and c.parsed is not None]
    in_url = [c for c in candidates if c.source == "url" and c.parsed is not None]
    # An "updated" time stands in for the publication time only when nothing else exists;
    # the caller records it as such (``published.kind`` is then "modified").
    modified = _best(candidates, MODIFIED)
    published = selected[0] if selected else _best(candidates, PUBLISHED) or modified
    if not selected and in_url and (published is None
                                    or published.local_date != in_url[0].local_date):
        # The page's own dates disagree with the day in its address (an update, a sidebar,
        # a time zone): the address is the publication day.
        published = in_url[0]
    modified_at = modified.parsed if modified is not None else None
    if modified_at is None and published is not None:
        modified_at = published.modified
    return published, modified_at
