"""``detect_wall``: is a fetched page a bot wall, a challenge, a consent wall or an error page?

Such a page answers 200 (or 403/503) in place of the article: Cloudflare's "Just a moment…"
and "Attention Required!", Akamai's "Access Denied … Reference #18.…", "Enable JavaScript and
cookies to continue", "Checking your browser", captcha pages (reCAPTCHA, hCaptcha, Turnstile,
DataDome, PerimeterX), consent walls ("Before you continue", a page that is mostly cookie
text), and short error pages. :func:`detect_wall` returns a reason (what it is and the words
that gave it away) or None. A pure function: nothing is fetched.

It looks at the page, never at words alone: a marker counts only on a page with little else
on it, so that an article which mentions "cookies" or "access denied", embeds a captcha in
its comment form or is served through Cloudflare is not taken for a wall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml.html import HtmlElement

from crawler.extraction.document import parse_html

# A challenge or error page has a few dozen words; even a news brief has more.
SHORT_PAGE_WORDS = 100
# A page titled like a wall is one if it has fewer words than this (consent walls run long).
TITLE_WALL_WORDS = 500
# Consent/boilerplate text making up at least this share of a page's words makes it a wall.
BOILERPLATE_SHARE = 0.6

_TITLE_WALLS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^just a moment\s*(\.\.\.|…)?$"), "Cloudflare challenge"),
    (re.compile(r"^attention required!?(\s*\|\s*cloudflare)?$"), "Cloudflare block page"),
    (re.compile(r"^please wait\s*(\.\.\.|…)?\s*\|\s*cloudflare$"), "Cloudflare challenge"),
    (re.compile(r"^(one more step|security check)\b"), "challenge page"),
    (re.compile(r"^before you continue\b"), "consent wall"),
    (re.compile(r"^pardon our interruption\b"), "Imperva bot wall"),
    (re.compile(r"^ddos-guard$"), "DDoS-Guard challenge"),
    (re.compile(r"^(are you a robot|robot check|captcha)\b"), "captcha page"),
)
# Markers in the HTML (scripts, ids, form actions) that only challenge pages carry.
_CHALLENGE_MARKERS: tuple[tuple[str, str], ...] = (
    ("_cf_chl_opt", "Cloudflare challenge"),
    ("/cdn-cgi/challenge-platform/", "Cloudflare challenge"),
    ("cf-browser-verification", "Cloudflare challenge"),
    ("challenge-error-text", "Cloudflare challenge"),
    ("cf-error-details", "Cloudflare block page"),
    ("errors.edgesuite.net", "Akamai access denied"),
    ("captcha-delivery.com", "DataDome captcha"),
    ("_incapsula_resource", "Imperva bot wall"),
    ("incapsula incident id", "Imperva bot wall"),
    ("px-captcha", "PerimeterX captcha"),
)
# Phrases in the visible text of walls; decisive only on a short page.
_TEXT_WALLS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"enable javascript and cookies to continue"), "JavaScript/cookie challenge"),
    (re.compile(r"checking (if the site connection is secure|your browser)"),
     "browser check"),
    (re.compile(r"verify(ing)? you are (a )?human"), "human-verification challenge"),
    (re.compile(r"needs to review the security of your connection"), "Cloudflare challenge"),
    (re.compile(r"sorry, you have been blocked"), "Cloudflare block page"),
    (re.compile(r"please enable (js|javascript) and disable any ad blocker"), "DataDome captcha"),
    (re.compile(r"press (&|and) hold to confirm you are"), "PerimeterX captcha"),
    (re.compile(r"access to this page has been denied"), "bot wall"),
    (re.compile(r"(please )?(complete|solve) the (security check|captcha)"), "captcha page"),
    (re.compile(r"i'?m not a robot"), "captcha page"),
    (re.compile(r"request unsuccessful\. incapsula"), "Imperva bot wall"),
    (re.compile(r"unusual traffic from your (computer|network)"), "rate-limit wall"),
)
_CAPTCHA_MARKUP = ("g-recaptcha", "h-captcha", "cf-turnstile", "recaptcha/api.js",
                   "hcaptcha.com/1/api.js", "challenges.cloudflare.com/turnstile")
_AKAMAI_REFERENCE = re.compile(r"reference\s*#\s*\d{1,3}\.[0-9a-f]{6,}\.\d+\.[0-9a-f]+")
_ERROR_TITLE = re.compile(
    r"^(access denied|forbidden|403 forbidden|401 unauthorized|404( not found)?|"
    r"page not found|not found|error( \d{3,4})?|\d{3} (bad gateway|service unavailable|"
    r"internal server error|gateway time-?out)|service unavailable|bad gateway|"
    r"too many requests|request rejected|web page blocked)\b"
)
# Words that make a block of text consent/challenge boilerplate.
_CONSENT_STRONG = re.compile(
    r"we use cookies|use of cookies|cookie (policy|settings|preferences|consent|notice)|"
    r"accept all|reject all|allow all|accept cookies|manage (preferences|options|cookies)|"
    r"personali[sz]ed (ads|content)|legitimate interest|store and/or access information|"
    r"our (\d+ )?partners|privacy (policy|settings|choices)|consent"
)
# A consent wall has buttons: short blocks that say only this.
_CONSENT_BUTTON = re.compile(
    r"^(accept|reject|allow|agree|i accept|i agree|accept all|reject all|allow all|"
    r"accept all cookies|reject all cookies|accept cookies|accept and close|agree and close|"
    r"agree and proceed|manage options|manage preferences|manage settings|more options|"
    r"cookie settings|customi[sz]e|do not consent|consent|got it)[.!]?$"
)
_WORD = re.compile(r"\w+")
_BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "button", "a", "span",
               "td", "section", "form", "label", "dd", "dt", "blockquote", "article"}


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _visible_blocks(tree: HtmlElement) -> list[str]:
    """The page's visible text, one string per innermost block (scripts and styles left
    out)."""
    blocks: list[str] = []
    body = tree.find(".//body")
    root = body if body is not None else tree
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("script", "style", "template", "head", "title"):
            continue
        own = [el.text or ""] + [c.tail or "" for c in el]
        # Text of children that are not blocks belongs to this block.
        text = " ".join(" ".join(own).split())
        if text:
            blocks.append(text)
    return blocks


def _clean_tree(tree: HtmlElement) -> None:
    for el in list(tree.iter("script", "style", "template")):
        parent = el.getparent()
        if parent is not None:
            tail = el.tail
            parent.remove(el)
            if tail:  # keep the text after the removed element
                prev = parent[-1] if len(parent) else None
                if prev is not None:
                    prev.tail = (prev.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail


def _title(tree: HtmlElement) -> str:
    el = tree.find(".//title")
    if el is None:
        return ""
    return " ".join((el.text_content() or "").split())


def _first(patterns: Iterable[tuple[re.Pattern[str], str]], text: str
           ) -> tuple[str, str] | None:
    for pattern, what in patterns:
        m = pattern.search(text)
        if m:
            return what, m.group(0)
    return None


def detect_wall(html: str | bytes, *, title: str | None = None, body: str | None = None
                ) -> str | None:
    """Return why ``html`` is a wall, challenge, consent or error page (e.g. ``"Cloudflare
    challenge: title 'Just a moment...'"``), or None if it looks like a real page.

    ``title`` and ``body``: what extraction made of the page, if known; a wall's title
    counts as the page's. Never raises on malformed HTML.
    """
    raw = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    low_raw = raw[:200_000].lower()
    tree = parse_html(raw)
    page_title = _title(tree)
    _clean_tree(tree)
    blocks = _visible_blocks(tree)
    text = " ".join(blocks)
    low_text = text.lower()
    words = _words(text)
    short = words < SHORT_PAGE_WORDS and _words(body or "") < SHORT_PAGE_WORDS

    # Cloudflare also puts /cdn-cgi/ scripts (email protection, bot detection) into the
    # articles it serves, and a consent wall runs to a few hundred words: every rule asks
    # for a page with little text of its own.
    if words < TITLE_WALL_WORDS:
        for candidate in dict.fromkeys(t for t in (page_title, title or "") if t):
            hit = _first(_TITLE_WALLS, candidate.lower())
            if hit:
                return f"{hit[0]}: title {candidate!r}"
    for marker, what in _CHALLENGE_MARKERS:
        if short and marker in low_raw:
            return f"{what}: page carries {marker!r}"
    ref = _AKAMAI_REFERENCE.search(low_text)
    if ref and "access denied" in low_text and short:
        return f"Akamai access denied: {ref.group(0)!r}"
    if short:
        hit = _first(_TEXT_WALLS, low_text)
        if hit:
            return f"{hit[0]}: {hit[1]!r}"
        captcha = next((m for m in _CAPTCHA_MARKUP if m in low_raw), None)
        if captcha is not None:
            return f"captcha page: page carries {captcha!r}"
        for candidate in dict.fromkeys(t for t in (page_title, title or "") if t):
            m = _ERROR_TITLE.match(candidate.lower())
            if m and words < SHORT_PAGE_WORDS // 2:
                return f"error page: title {candidate!r}"
    share = _boilerplate_share(blocks)
    buttons = any(_CONSENT_BUTTON.match(b.lower()) for b in blocks if _words(b) <= 4)
    if words and share >= BOILERPLATE_SHARE and buttons:
        return f"consent wall: cookie/consent text is {share:.0%} of the page's {words} words"
    return None


def _boilerplate_share(blocks: list[str]) -> float:
    """The share of the page's words that are in blocks of consent or challenge text."""
    total = sum(_words(b) for b in blocks)
    if not total:
        return 0.0
    walls = sum(_words(b) for b in blocks
                if _CONSENT_STRONG.search(b.lower()) or _first(_TEXT_WALLS, b.lower()))
    return walls / total


__all__ = ["BOILERPLATE_SHARE", "SHORT_PAGE_WORDS", "detect_wall"]
