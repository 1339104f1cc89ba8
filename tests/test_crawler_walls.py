"""crawler.extraction.walls: bot walls, challenges, consent walls and error pages, and real
articles that only mention such words."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest

from crawler.extraction import extract_article
from crawler.extraction.walls import detect_wall

WALLS = Path(__file__).parent / "sample_data" / "walls"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def article_html(title: str, *, head_extra: str = "", body_text: str = "") -> str:
    """A news article page as a site serves it: navigation, headline, time, paragraphs."""
    return ("<!doctype html><html lang='en'><head>" + head_extra
            + f"<title>{escape(title)} | Test Wire</title></head><body><header><nav>"
            "<a href='/'>Home</a> <a href='/india'>India</a></nav></header><article>"
            f"<h1>{escape(title)}</h1><time datetime='2026-11-20T10:00:00+05:30'>20 Nov"
            f"</time>{body_text}</article><footer>Copyright Test Wire</footer></body></html>")


@pytest.mark.parametrize(("page", "expected"), [
    ("cloudflare_just_a_moment.html", "Cloudflare challenge: title 'Just a moment...'"),
    ("cloudflare_attention_required.html",
     "Cloudflare block page: title 'Attention Required! | Cloudflare'"),
    ("akamai_access_denied.html",
     "Akamai access denied: 'reference #18.9c3e1402.1732532100.2b3c4d5e'"),
    ("checking_your_browser.html", "DDoS-Guard challenge: title 'DDoS-Guard'"),
    ("datadome_captcha.html", "DataDome captcha: page carries 'captcha-delivery.com'"),
    ("recaptcha_page.html", "challenge page: title 'Security check'"),
    ("google_consent.html", "consent wall: title 'Before you continue to Google'"),
    ("error_404.html", "error page: title 'Page not found | Test Wire'"),
])
def test_walls_served_by_vendors_are_recognised(page: str, expected: str) -> None:
    assert detect_wall((WALLS / page).read_text()) == expected


def test_a_publisher_consent_wall_is_recognised_by_its_share_of_cookie_text() -> None:
    html = (WALLS / "publisher_consent_wall.html").read_text()
    reason = detect_wall(html)
    assert reason is not None and reason.startswith("consent wall: cookie/consent text is ")


def test_extracted_title_and_body_are_judged_with_the_page() -> None:
    html = (WALLS / "akamai_access_denied.html").read_text()
    art = extract_article(html, "https://www.example-defence.gov/News/1/", fetched_at=NOW)
    assert detect_wall(html, title=art.title, body=art.body) is not None


@pytest.mark.parametrize(("html", "expected"), [
    ("<html><head><title>x</title></head><body><p>Checking your browser before accessing "
     "example.com.</p></body></html>", "browser check: 'checking your browser'"),
    ("<html><body><noscript>Enable JavaScript and cookies to continue</noscript><p>One "
     "moment please</p></body></html>",
     "JavaScript/cookie challenge: 'enable javascript and cookies to continue'"),
    ("<html><head><title>Robot Check</title></head><body><p>Type the characters you see in "
     "this image.</p></body></html>", "captcha page: title 'Robot Check'"),
    ("<html><body><div class='h-captcha' data-sitekey='x'></div><p>Please wait</p>"
     "</body></html>", "captcha page: page carries 'h-captcha'"),
])
def test_short_walls_by_their_text_or_markup(html: str, expected: str) -> None:
    assert detect_wall(html) == expected


# -- real articles that mention the words -------------------------------------------------------

_ARTICLE_TEXT = (
    "The state's food safety regulator on Tuesday ordered a recall of three brands of "
    "chocolate chip cookies after tests found undeclared peanut traces, officials said.",
    "Inspectors said journalists were access denied at the plant gate for most of the "
    "morning, and the company's spokesperson declined to comment on the findings.",
    "The regulator said shops must remove the affected batches within forty-eight hours; "
    "consumers who bought them can return the packets for a full refund at any outlet.",
    "Consumer groups said the recall showed the need for tighter labelling rules, and asked "
    "the ministry to publish the test results in full before the end of the month.",
    "Industry representatives said they would cooperate with the inquiry and review their "
    "suppliers, and that no illness linked to the products had been reported so far.",
)


def _article(extra_head: str = "", before: str = "", after: str = "",
             paragraphs: tuple[str, ...] = _ARTICLE_TEXT) -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return article_html("Regulator orders recall of cookies over peanut traces",
                        head_extra=extra_head, body_text=before + body + after)


def test_an_article_about_cookies_and_access_denied_is_not_a_wall() -> None:
    assert detect_wall(_article()) is None


def test_an_article_served_through_cloudflare_is_not_a_wall() -> None:
    html = _article(
        extra_head='<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>',
        after='<p>Write to <a href="/cdn-cgi/l/email-protection#abc">[email&#160;protected]'
              '</a></p><script data-cfasync="false" src="/cdn-cgi/scripts/5c5dd728/'
              'cloudflare-static/email-decode.min.js"></script>')
    assert detect_wall(html) is None


def test_an_article_with_a_cookie_banner_is_not_a_wall() -> None:
    banner = ('<div id="cookie-banner"><p>We use cookies to improve your experience. See our '
              'cookie policy.</p><button>Accept all</button><button>Reject all</button></div>')
    assert detect_wall(_article(before=banner)) is None


def test_an_article_with_a_captcha_in_its_comment_form_is_not_a_wall() -> None:
    form = ('<form id="comments"><textarea></textarea><div class="g-recaptcha" '
            'data-sitekey="x"></div><button>Post comment</button></form>'
            '<script src="https://www.google.com/recaptcha/api.js"></script>')
    assert detect_wall(_article(after=form)) is None


def test_an_article_about_cookie_consent_law_is_not_a_wall() -> None:
    law = (
        "The data protection authority fined a publisher for making readers accept all "
        "cookies before they could read, saying consent must be as easy to refuse as to give.",
        "The ruling follows complaints that consent banners hid the option to reject all "
        "tracking, and the authority said it would review other sites in the coming months.",
        "The publisher said it disagreed with the decision and would appeal, arguing that "
        "advertising paid for its newsroom of more than two hundred journalists.",
        "Lawyers said the decision could change how news sites across the region design "
        "their sign-up pages, and that several had already simplified their banners.",
        "The authority's chair told reporters the fine was set at a level meant to deter, "
        "and that repeat offenders would face larger penalties under the new rules.",
    )
    assert detect_wall(_article(paragraphs=law)) is None


def test_an_article_titled_like_an_error_is_not_one() -> None:
    html = article_html("Access denied: refugees stranded at the border for a third week",
                        body_text="".join(f"<p>{p}</p>" for p in _ARTICLE_TEXT))
    assert detect_wall(html) is None


def test_empty_and_broken_pages_do_not_raise() -> None:
    assert detect_wall("") is None
    assert detect_wall(b"\xff\xfe<<<") is None
