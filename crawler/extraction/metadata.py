"""Page metadata: JSON-LD article objects, meta tags (OpenGraph, twitter, Dublin Core…), links.

:class:`PageMeta` is built once per page by :func:`read_page_meta` and never
raises: broken JSON-LD blocks are skipped (logged at debug level).
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from crawler.extraction.document import clean_text, element_text

logger = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "backgroundnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "scholarlyarticle",
        "techarticle",
        "socialmediaposting",
    }
)


@dataclass
class PageMeta:
    """Raw metadata of a page; ``meta`` maps lower-cased name/property/itemprop to values."""

    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    # JSON-LD objects about the page itself (WebPage, ItemPage), @graph included: their dates
    # count where no article object gives one.
    jsonld_pages: list[dict[str, Any]] = field(default_factory=list)
    canonical: str | None = None
    html_lang: str | None = None

    def first(self, *keys: str) -> str | None:
        for key in keys:
            for value in self.meta.get(key, []):
                if value:
                    return value
        return None

    def all(self, key: str) -> list[str]:
        return [v for v in self.meta.get(key, []) if v]

    def article_value(self, key: str) -> Any:
        """First non-empty value of ``key`` among the JSON-LD article objects."""
        for obj in self.jsonld:
            value = obj.get(key)
            if value not in (None, "", [], {}):
                return value
        return None


def _iter_jsonld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _iter_jsonld_objects(item)
    elif isinstance(data, dict):
        yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _iter_jsonld_objects(graph)
        main = data.get("mainEntity")
        if isinstance(main, dict | list):
            yield from _iter_jsonld_objects(main)


def jsonld_types(obj: dict[str, Any]) -> set[str]:
    """The lower-cased schema.org types of a JSON-LD object."""
    return _types(obj)


def _types(obj: dict[str, Any]) -> set[str]:
    raw = obj.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values if v}


PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "contactpage", "profilepage",
                        "collectionpage", "searchresultspage", "faqpage", "checkoutpage",
                        "realestatelisting"})


def _read_jsonld(tree: HtmlElement) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The article objects and the page objects of the page's JSON-LD."""
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        text = (script.text or "").strip()
        if not text:
            continue
        try:
            data = json.loads(text, strict=False)
        except ValueError:
            # Some CMSs leave trailing commas or HTML comments; one retry, then give up.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", text.strip("<!->")), strict=False)
            except ValueError as exc:
                logger.debug("skipping unparseable JSON-LD: %s", exc)
                continue
        for obj in _iter_jsonld_objects(data):
            types = _types(obj)
            if types & ARTICLE_TYPES:
                articles.append(obj)
            elif types & PAGE_TYPES:
                pages.append(obj)
    return articles, pages


def read_page_meta(tree: HtmlElement, url: str) -> PageMeta:
    page = PageMeta()
    for el in tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        value = el.get("content")
        if key and value is not None:
            page.meta.setdefault(key.strip().lower(), []).append(clean_text(value))
    for el in tree.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        href = (el.get("href") or "").strip()
        if "canonical" in rel and href and page.canonical is None:
            page.canonical = urljoin(url, href)
    page.jsonld, page.jsonld_pages = _read_jsonld(tree)
    lang = tree.get("lang") or tree.get("xml:lang")
    page.html_lang = lang.strip() if lang else None
    return page


# ------------------------------------------------------------------- fields


# Some CMSs (PIB among them) write the language name instead of a code.
_LANGUAGE_NAMES = {
    "english": "en",
    "hindi": "hi",
    "marathi": "mr",
    "bengali": "bn",
    "tamil": "ta",
    "telugu": "te",
    "urdu": "ur",
    "french": "fr",
    "german": "de",
    "spanish": "es",
}


def normalise_language(value: str | None) -> str | None:
    """Normalise "en-US" / "en_IN" / "English" to "en"; None for implausible values."""
    if not value:
        return None
    primary = re.split(r"[-_\s,;]", value.strip(), maxsplit=1)[0].lower()
    primary = _LANGUAGE_NAMES.get(primary, primary)
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def language(page: PageMeta) -> str | None:
    for value in (
        page.html_lang,
        page.first("content-language", "language", "dc.language", "og:locale"),
        as_text(page.article_value("inLanguage")),
    ):
        lang = normalise_language(value)
        if lang:
            return lang
    return None


# A character reference left in a value: JSON-LD sits in a <script>, which HTML does not
# decode, and some sites encode a meta value twice ("Olive &#038; Herb").
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")


def unentity(text: str) -> str:
    """``text`` with the character references a page left in it decoded."""
    return html.unescape(text) if _ENTITY_RE.search(text) else text


def as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return clean_text(unentity(value)) or None
    if isinstance(value, dict):
        for key in ("name", "url", "@id", "alternateName"):
            if isinstance(value.get(key), str):
                return clean_text(value[key]) or None
    if isinstance(value, list) and value:
        return as_text(value[0])
    return None


def canonical_url(page: PageMeta, url: str) -> str | None:
    if page.canonical:
        return page.canonical
    og = page.first("og:url")
    return urljoin(url, og) if og else None


def summary(page: PageMeta) -> str | None:
    return page.first("description", "og:description", "twitter:description") or as_text(
        page.article_value("description")
    )


def image_url(page: PageMeta, url: str) -> str | None:
    found = page.first(
        "og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"
    )
    if not found:
        image = page.article_value("image")
        found = as_text(image if not isinstance(image, dict) else image.get("url"))
    return urljoin(url, found) if found else None


def section(page: PageMeta) -> str | None:
    return page.first("article:section", "section", "parsely-section") or as_text(
        page.article_value("articleSection")
    )


def _split_list(value: str) -> list[str]:
    return [clean_text(v) for v in re.split(r"[,;|]", value) if clean_text(v)]


def tags(page: PageMeta) -> list[str]:
    found: list[str] = list(page.all("article:tag"))
    if not found:
        for key in ("news_keywords", "parsely-tags"):
            for value in page.all(key):
                found.extend(_split_list(value))
    if not found:
        keywords = page.article_value("keywords")
        if isinstance(keywords, str):
            found = _split_list(keywords)
        elif isinstance(keywords, list):
            found = [clean_text(str(k)) for k in keywords if clean_text(str(k))]
    if not found:
        for value in page.all("keywords"):
            found.extend(_split_list(value))
    return _dedupe(found)


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out


# Byline prefixes in English, German, French, Spanish, Italian, Portuguese and Dutch.
_BY_RE = re.compile(
    r"^(?:(?:written|story|report(?:ed)?|posted|edited|text|photos?)\s+by[:\s]+|by[:\s]+"
    r"|(?:veröffentlicht|geschrieben|verfasst|erstellt|ein\s+beitrag)\s+von[:\s]+|von[:\s]+"
    r"|(?:autor(?:in)?|author|auteur|autore|auteurs?|redakteur(?:in)?)\s*[:\s]\s*"
    r"|(?:publié|écrit|rédigé)\s+par[:\s]+|par[:\s]+"
    r"|(?:publicado|escrito|redactado)\s+por[:\s]+|por[:\s]+|(?-i:di)\s+|door[:\s]+)",
    re.IGNORECASE,
)
_AUTHOR_SPLIT_RE = re.compile(r"\s+(?:and|&|und|et|y|e|en)\s+|\s*[|;]\s*", re.IGNORECASE)


def normalise_authors(names: list[str]) -> list[str]:
    """Strip "By", split "A and B", drop URLs and empty names, keep order, dedupe."""
    out: list[str] = []
    for name in names:
        for part in _AUTHOR_SPLIT_RE.split(_BY_RE.sub("", clean_text(name))):
            part = part.strip(" ,.-–—:")
            if part and "://" not in part and not part.startswith("@") and len(part) <= 80:
                out.append(part)
    return _dedupe(out)


def _jsonld_authors(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return names


def _outlet_names(page: PageMeta) -> set[str]:
    """The site's own names: a byline "By A, The Daily" credits the outlet, not a person."""
    names = [*page.all("og:site_name"), *page.all("application-name")]
    publisher = page.article_value("publisher")
    names.extend(_jsonld_authors(publisher) if publisher else [])
    return {clean_text(n).casefold() for n in names if n}


def authors(page: PageMeta, tree: HtmlElement) -> list[str]:
    outlets = _outlet_names(page)
    return [a for a in _authors(page, tree) if a.casefold() not in outlets]


def _authors(page: PageMeta, tree: HtmlElement) -> list[str]:
    found = normalise_authors(_jsonld_authors(page.article_value("author")))
    if found:
        return found
    for key in (
        "author",
        "article:author",
        "parsely-author",
        "dc.creator",
        "sailthru.author",
        "byl",
    ):
        values = page.all(key)
        if values:
            names: list[str] = []
            for value in values:
                names.extend(v for v in value.split(",") if v.strip())
            found = normalise_authors(names)
            if found:
                return found
    return _visible_byline(tree)


_BYLINE_XPATH = (
    "//body//*[@itemprop='author' or @rel='author' or contains(@class, 'byline')"
    " or contains(@class, 'author-name') or contains(@class, 'person-name')"
    " or contains(@class, 'writer-name')]"
)
_BYLINE_CUT_RE = re.compile(
    r"\s*(?:[|•·]|\s[-–—]\s|\b(?:updated|published|posted|last modified|aktualisiert|"
    r"veröffentlicht|am\s+\d|le\s+\d|mis à jour|publié|actualizado|publicado|"
    r"aggiornato|pubblicato)\b).*$", re.IGNORECASE
)
_NAME_SPLIT_RE = re.compile(r"\s*,\s*")


def _visible_byline(tree: HtmlElement) -> list[str]:
    """Names from the first short byline element: "By A and B | New Delhi" -> [A, B]."""
    for el in tree.xpath(_BYLINE_XPATH):
        name_el = el.find(".//*[@itemprop='name']")
        text = element_text(name_el if name_el is not None else el)
        if not text or len(text) > 120:
            continue
        text = _BYLINE_CUT_RE.sub("", _BY_RE.sub("", text))
        names = [
            n
            for n in normalise_authors(_NAME_SPLIT_RE.split(text))
            if not re.search(r"\d", n) and len(n.split()) <= 5
        ]
        if names:
            return names
    return []
