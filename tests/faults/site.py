"""Pages and feeds the fault suite serves: well-formed articles and RSS to break on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from faults.server import Behaviour, FaultServer, respond

# Paragraphs long enough that every article clears the 200-character body minimum.
_PARAGRAPHS = (
    "The defence ministry approved the purchase of {n} additional coastal surveillance radars "
    "on Tuesday, officials said, extending a network that already covers most of the western "
    "seaboard and the island territories.",
    "The contract, worth an estimated {n}00 crore rupees, goes to a domestic manufacturer and "
    "includes maintenance for ten years; deliveries are to begin within eighteen months of "
    "signature, according to the ministry's statement.",
    "Naval planners have argued for years that gaps in low-level radar coverage leave small "
    "boats undetected near the coast, and the new stations are meant to close them.",
)

RSS_HEAD = ('<?xml version="1.0" encoding="{encoding}"?>\n'
            '<rss version="2.0"><channel><title>{title}</title>'
            '<link>{link}</link><description>Test feed</description>\n')
RSS_TAIL = "</channel></rss>\n"


def article_html(title: str, n: int = 1, *, head_extra: str = "", body_text: str | None = None,
                 published: str = "2026-11-20T10:00:00+05:30") -> str:
    """A plain news article page: <title>, <h1>, a publication time and three paragraphs."""
    paras = body_text if body_text is not None else "".join(
        f"<p>{escape(p.format(n=n))}</p>\n" for p in _PARAGRAPHS)
    return (
        "<!doctype html>\n<html lang=\"en\"><head>" + head_extra
        + f"<title>{escape(title)}</title>"
        + f'<meta property="article:published_time" content="{published}">'
        + "</head><body><header><nav><a href=\"/\">Home</a></nav></header>"
        + f"<article><h1>{escape(title)}</h1><time datetime=\"{published}\"></time>\n"
        + paras + "</article><footer>Copyright Test Wire</footer></body></html>\n"
    )


def rss_item(link: str, title: str, pub_date: str = "Fri, 20 Nov 2026 10:00:00 +0530",
             description: str = "") -> str:
    return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<guid>{escape(link)}</guid><pubDate>{pub_date}</pubDate>"
            f"<description>{escape(description)}</description></item>\n")


def rss(items: list[str], *, title: str = "Test Wire", link: str = "http://127.0.0.1/",
        encoding: str = "utf-8") -> str:
    return RSS_HEAD.format(encoding=encoding, title=escape(title), link=escape(link)) + "".join(
        items) + RSS_TAIL


@dataclass(frozen=True, slots=True)
class HealthySource:
    """A well-behaved RSS source on the fault server: its feed URL and articles."""

    name: str
    feed_url: str
    titles: tuple[str, ...]
    urls: tuple[str, ...]


def add_healthy(server: FaultServer, prefix: str = "/healthy", count: int = 3,
                name: str = "healthy-wire") -> HealthySource:
    """Route a feed of ``count`` well-formed articles under ``prefix``."""
    titles, urls, items = [], [], []
    for i in range(1, count + 1):
        title = f"Ministry clears coastal radar order number {i} for the western seaboard"
        url = server.route(f"{prefix}/news/coastal-radar-order-{i}-approved-10{i:04d}.html",
                           respond(200, article_html(title, i),
                                   "text/html; charset=utf-8"))
        titles.append(title)
        urls.append(url)
        items.append(rss_item(url, title))
    feed = server.route(f"{prefix}/feed.xml", respond(
        200, rss(items, link=server.url(prefix + "/")), "application/rss+xml; charset=utf-8"))
    return HealthySource(name, feed, tuple(titles), tuple(urls))


def feed_of_articles(server: FaultServer, prefix: str, count: int = 2,
                     topic: str = "border road project") -> tuple[Behaviour, list[str]]:
    """Route ``count`` articles under ``prefix``; return a behaviour serving their feed (to
    route or to put in a sequence) and their titles."""
    titles, items = [], []
    for i in range(1, count + 1):
        title = f"Army engineers finish {topic} stage {i} ahead of winter"
        url = server.route(f"{prefix}/news/{topic.replace(' ', '-')}-stage-{i}-20{i:04d}.html",
                           respond(200, article_html(title, i), "text/html; charset=utf-8"))
        titles.append(title)
        items.append(rss_item(url, title))
    return respond(200, rss(items, link=server.url(prefix + "/")),
                   "application/rss+xml; charset=utf-8"), titles


def laughs_doctype(levels: int = 9) -> str:
    """A billion-laughs DOCTYPE: ``&lol9;`` expands to 10**levels copies of "lol"."""
    decls = ['<!ENTITY lol "lol">']
    for i in range(1, levels + 1):
        ref = "&lol" + (str(i - 1) if i > 1 else "") + ";"
        decls.append(f'<!ENTITY lol{i} "{ref * 10}">')
    return "<!DOCTYPE lolz [" + "".join(decls) + "]>"
