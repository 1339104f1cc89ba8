"""Junk removal for article text: a structural pre-clean of the HTML tree and a line filter.

Contracts:

- :func:`strip_page_furniture` removes, in place, elements that are never article
  text (navigation, asides, footers, figure captions, share/comment/newsletter
  widgets, forms, ad slots). It never removes an element that holds a sizeable
  amount of paragraph text, so a badly named wrapper cannot swallow the article.
- :func:`is_junk_line` is conservative: it only flags short lines that match a
  known junk pattern as a whole (counts, "Read more", "Also read | …", language
  pickers, "2 hours ago", "5 min read", copyright lines…). A real sentence is
  never flagged.
- :func:`clean_paragraphs` applies both the inline debris scrub (markdown image
  syntax, ``.png)`` tails) and the line filter to a list of paragraphs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

# Tags that never carry article text.
_DROP_TAGS: tuple[str, ...] = (
    "nav",
    "aside",
    "footer",
    "form",
    "button",
    "select",
    "figcaption",
    "noscript",
    "iframe",
    "svg",
    "dialog",
)
_DROP_ROLES = frozenset(
    {"navigation", "complementary", "contentinfo", "banner", "search", "dialog", "menu"}
)
# Class/id tokens (matched as whole hyphen/underscore-separated words) of widgets.
_JUNK_WORDS = frozenset(
    {
        "share",
        "sharing",
        "social",
        "sharebar",
        "newsletter",
        "subscribe",
        "subscription",
        "comments",
        "comment",
        "advert",
        "advertisement",
        "ad",
        "ads",
        "adslot",
        "promo",
        "breadcrumb",
        "breadcrumbs",
        "caption",
        "credit",
        "related",
        "recommended",
        "readmore",
        "read",
        "trending",
        "lang",
        "language",
        "languages",
        "sidebar",
        "outbrain",
        "taboola",
        "sr",
    }
)
_WORD_SPLIT_RE = re.compile(r"[\s_\-]+")
# Multi-word junk words need their neighbours to count ("read-more", "also-read").
_JUNK_PAIRS = frozenset(
    {
        ("read", "more"),
        ("also", "read"),
        ("read", "also"),
        ("social", "share"),
        ("lang", "picker"),
        ("language", "picker"),
        ("language", "switcher"),
        ("sr", "only"),
    }
)
_SINGLE_ONLY = _JUNK_WORDS - {"read", "lang", "sr"}
# An element holding this much paragraph text is content, whatever its class says.
_MAX_PARAGRAPH_CHARS = 400


def _class_words(el: HtmlElement) -> list[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return [w for w in _WORD_SPLIT_RE.split(raw) if w]


def _is_junk_widget(el: HtmlElement) -> bool:
    words = _class_words(el)
    if not words:
        return False
    if any(w in _SINGLE_ONLY for w in words):
        return True
    return any(pair in _JUNK_PAIRS for pair in zip(words, words[1:], strict=False))


def _paragraph_chars(el: HtmlElement) -> int:
    return sum(len(p.text_content()) for p in el.iter("p"))


def strip_page_furniture(tree: HtmlElement) -> int:
    """Remove non-article elements in place; return how many were removed."""
    doomed: list[HtmlElement] = []
    body = tree.find("body")
    scope = body if body is not None else tree
    for el in scope.iter():
        if not isinstance(el.tag, str) or el is scope:
            continue
        tag = el.tag.lower()
        if tag in ("article", "main", "body", "html"):
            continue
        if (
            tag in _DROP_TAGS
            or (el.get("role") or "").lower() in _DROP_ROLES
            or el.get("hidden") is not None
            or _is_junk_widget(el)
        ) and _paragraph_chars(el) < _MAX_PARAGRAPH_CHARS:
            doomed.append(el)
    removed = 0
    for el in doomed:
        parent = el.getparent()
        if parent is None or not _attached(el, tree):
            continue
        el.drop_tree()
        removed += 1
    return removed


def _attached(el: HtmlElement, root: HtmlElement) -> bool:
    node: HtmlElement | None = el
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


# ---------------------------------------------------------------- line filter

_LANGUAGE_NAMES = (
    "english|hindi|हिन्दी|हिंदी|मराठी|বাংলা|తెలుగు|தமிழ்|ಕನ್ನಡ|മലയാളം|ગુજરાતી|ਪੰਜਾਬੀ|"
    "ଓଡ଼ିଆ|اردو|অসমীয়া|español|espanol|français|francais|deutsch|italiano|português|"
    "portugues|русский|українська|polski|nederlands|türkçe|العربية|עברית|中文|简体中文|"
    "繁體中文|日本語|한국어|bahasa indonesia|tiếng việt|ไทย"
)
_LANG_TOKEN_RE = re.compile(rf"(?:{_LANGUAGE_NAMES})(?:\s*\([^)]{{1,20}}\))?", re.IGNORECASE)
_SEPARATORS_ONLY_RE = re.compile(r"^[\s·•|/,;:\-–—]*$")

_JUNK_LINE_RES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # counters: "24", "1.2K", "1.2K shares", "24 Comments", "Comments (3)"
        r"^[\d.,]+\s*[km]?$",
        r"^[\d.,]+\s*[km]?\s+(shares?|comments?|views?|likes?|reactions?|reads?)$",
        r"^(shares?|comments?|views?|likes?)\s*[:(]?\s*[\d.,]*\s*[km]?\)?$",
        # link teasers
        r"^(read more|read full story|continue reading|see more|show more|load more)"
        r"\s*[.:|»›>→…]*$",
        r"^(also read|read also|also see|also watch|must read|read more|recommended)"
        r"\s*[:|\-–—»]\s*.{0,200}$",
        r"^also read\b.{0,200}$",
        # boxes and prompts
        r"^(subscribe|sign up|signup)\b.{0,80}\b(newsletter|updates|alerts)\b.{0,60}$",
        r"^(subscribe to|subscribe now|subscribe$).{0,60}$",
        r"^follow us on\b.{0,100}$",
        r"^click here\b.{0,100}$",
        r"^(advertisement|advertisment|sponsored|ad|promoted|story continues below"
        r"(?: this)? ad(?:vertisement)?|continue reading below)\s*[-–—:]?\s*"
        r"(continue reading below)?$",
        r"^(share|share this( article| story)?|share on \w+|tweet|whatsapp|facebook|"
        r"twitter|linkedin|telegram|email|e-mail|print|copy link|copied!?)$",
        r"^(leave a comment|post a comment|add a comment|view comments|join the conversation)"
        r"\.?$",
        # time labels standing alone
        r"^(updated|published|posted)?\s*:?\s*(\d+|an?|one)\s+"
        r"(secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?|months?|years?)\s+ago$",
        r"^(just now|yesterday|today)$",
        r"^(\d+)\s*(mins?|minutes?)\s+read$",
        r"^reading time\s*:?\s*\d+\s*(mins?|minutes?)$",
        # separators ("***") and PIB-style sign-off initials ("VK/SR/Savvy")
        r"^\W+$",
        r"^(?-i:[A-Z]{1,4}(?:/[A-Za-z.]{1,10}){1,5})$",
        # copyright
        r"^(©|\(c\)|copyright\s*(©|\(c\)|\d{4})).{0,160}$",
        r"^all rights reserved\.?$",
    )
)
_MAX_JUNK_LINE = 220

_MD_IMAGE_RE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_FILE_DEBRIS_RE = re.compile(r"(?:\S*\.(?:png|jpe?g|gif|webp|svg|avif)(?:\?\S*)?\))", re.IGNORECASE)


def _is_language_picker(line: str) -> bool:
    if not _LANG_TOKEN_RE.search(line):
        return False
    return bool(_SEPARATORS_ONLY_RE.match(_LANG_TOKEN_RE.sub("", line)))


def is_junk_line(line: str) -> bool:
    """True when the whole (stripped) line is a known piece of page furniture."""
    text = line.strip().strip("\u200b\ufeff")
    if not text:
        return True
    if len(text) > _MAX_JUNK_LINE:
        return False
    if _is_language_picker(text):
        return True
    return any(rx.match(text) for rx in _JUNK_LINE_RES)


def _debris_replacement(match: re.Match[str]) -> str:
    # "…/photo.png)" or ".png)" is all debris; in "Russia.jpg)" only the tail is.
    token = match.group(0)
    if "/" in token or token.startswith("."):
        return ""
    return token[: token.rfind(".")]


def scrub_debris(text: str) -> str:
    """Remove markdown image syntax and dangling ``name.png)`` tails from a line."""
    text = _MD_IMAGE_RE.sub("", text)
    text = _FILE_DEBRIS_RE.sub(_debris_replacement, text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def clean_paragraphs(paragraphs: Iterable[str], *, line_filter: bool = True) -> list[str]:
    """Scrub debris from each paragraph and (optionally) drop junk lines."""
    out: list[str] = []
    for para in paragraphs:
        lines = [scrub_debris(line) for line in para.split("\n")]
        kept = [ln for ln in lines if ln and not (line_filter and is_junk_line(ln))]
        if kept:
            out.append("\n".join(kept))
    return out
