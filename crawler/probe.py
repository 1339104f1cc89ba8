"""``newsmon sources check``: try each source live, from the user's own network, and say what
works and what to change.

Per source and start URL: DNS, the HTTP status, the redirects (and to which hosts), the
robots.txt verdict for our user agent, the entries found and the newest entry's date; then up
to three sample articles (newest first) fetched and extracted (title, published time and its
source, body words, body source) with bot walls recognised by
:func:`crawler.extraction.walls.detect_wall`. A verdict sums it up:

- ``broken``: nothing comes out (no DNS, no connection, an HTTP error, not a feed, no entries);
- ``blocked``: the start URL is refused (401/403/429/451, a bot wall, robots.txt);
- ``feed only``: entries come, but no sample page gives an article (refused, walled, empty);
- ``stale``: it works, but its newest entry is older than ``scheduler.stale_floor``;
- ``works``.

Each verdict comes with the change to try. Nothing is written to the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.schema import Settings, Source
from crawler.probe_entries import Entry, feed_entries, listing_entries, sitemap_entries
from crawler.probe_http import Fetched, RobotsReader, fetch

SAMPLES = 3
WORKS, FEED_ONLY, BLOCKED, BROKEN, STALE = "works", "feed only", "blocked", "broken", "stale"
_REFUSED = (401, 402, 403, 410, 429, 451)


@dataclass
class Sample:
    """One article page fetched and extracted."""

    url: str
    status: int | None = None
    robots: str = ""
    title: str | None = None
    published_at: datetime | None = None
    published_source: str | None = None
    body_words: int = 0
    body_source: str = "none"  # "page", "feed summary" or "none"
    wall: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.body_source == "page"


@dataclass
class StartCheck:
    """One start URL (feed, sitemap or listing page)."""

    url: str
    dns: str = "ok"
    status: int | None = None
    redirects: list[str] = field(default_factory=list)
    redirect_hosts: list[str] = field(default_factory=list)
    robots: str = ""
    wall: str | None = None
    entries: int = 0
    newest: datetime | None = None
    error: str | None = None


@dataclass
class SourceCheck:
    source: str
    kind: str
    enabled: bool
    starts: list[StartCheck]
    samples: list[Sample]
    verdict: str
    change: str

    @property
    def newest(self) -> datetime | None:
        dates = [s.newest for s in self.starts if s.newest is not None]
        return max(dates) if dates else None

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "newest": plain(self.newest)}


class Prober:
    """Probes sources with one user agent, one robots.txt reading per host."""

    def __init__(self, settings: Settings, samples: int = SAMPLES) -> None:
        self.settings = settings
        self.samples = samples
        self.user_agent = settings.effective_user_agent

    def _headers(self, source: Source) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip"}
        headers.update(source.headers)
        if source.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in source.cookies.items())
        return headers

    def check(self, source: Source) -> SourceCheck:
        headers = self._headers(source)
        timeout = (source.timeout or self.settings.crawl.download_timeout).total_seconds()
        cap = self.settings.crawl.max_response_bytes

        def get(url: str) -> Fetched:
            return fetch(url, headers, timeout, cap)

        robots = RobotsReader(headers.get("User-Agent", self.user_agent), headers, timeout, cap)
        obey = self.settings.crawl.obey_robots
        starts: list[StartCheck] = []
        entries: list[Entry] = []
        for url in source.urls:
            start, found = self._start(source, url, get, robots, obey)
            starts.append(start)
            entries.extend(found)
        entries.sort(key=lambda e: e.published_at or datetime.min.replace(tzinfo=UTC),
                     reverse=True)
        samples = ([self._sample(source, e, get, robots, obey) for e in entries[:self.samples]]
                   if source.fetch_articles else [])
        verdict, change = self._verdict(source, starts, entries, samples)
        return SourceCheck(source.name, source.kind.value, source.enabled, starts, samples,
                           verdict, change)

    def _start(self, source: Source, url: str, get: Any, robots: RobotsReader,
               obey: bool) -> tuple[StartCheck, list[Entry]]:
        from crawler.extraction.walls import detect_wall

        start = StartCheck(url)
        verdict = robots.verdict(url)
        start.robots = verdict.detail if obey else f"{verdict.detail} (not obeyed)"
        if obey and not verdict.allowed:
            # Not fetched, as the crawl would not fetch it.
            start.error = start.robots
            return start, []
        got = get(url)
        start.status, start.redirects, start.redirect_hosts = (got.status, got.redirects,
                                                               got.hosts)
        if got.error:
            start.error = got.error
            if got.error.startswith("DNS"):
                start.dns = got.error
            return start, []
        if got.body[:1000].lstrip()[:1] == b"<" and b"<html" in got.body[:2000].lower():
            start.wall = detect_wall(got.body)
        if not got.ok:
            start.error = start.error or f"HTTP {got.status}"
            return start, []
        if start.wall:
            return start, []
        base = got.final_url or url
        if source.kind.value in ("rss", "atom"):
            found, why = feed_entries(got.body, base)
        elif source.kind.value in ("sitemap", "news_sitemap"):
            found, why = sitemap_entries(got.body, base, source.timezone, get)
        else:
            found, why = listing_entries(got.body, base, source)
        if why:
            start.error = start.error or why
        start.entries = len(found)
        dates = [e.published_at for e in found if e.published_at is not None]
        start.newest = max(dates) if dates else None
        return start, found

    def _sample(self, source: Source, entry: Entry, get: Any, robots: RobotsReader,
                obey: bool) -> Sample:
        from crawler.extraction import extract_article
        from crawler.extraction.walls import detect_wall

        sample = Sample(entry.url)
        verdict = robots.verdict(entry.url)
        sample.robots = verdict.detail
        fallback = "feed summary" if entry.summary else "none"
        if obey and not verdict.allowed:
            sample.error, sample.body_source = verdict.detail, fallback
            sample.title, sample.published_at = entry.title, entry.published_at
            sample.published_source = "feed" if entry.published_at else None
            return sample
        got = get(entry.url)
        sample.status = got.status
        if got.error or not got.ok:
            sample.error = got.error or f"HTTP {got.status}"
        html = got.body
        if html:
            sample.wall = detect_wall(html)
        if sample.error or sample.wall:
            sample.body_source = fallback
            sample.title, sample.published_at = entry.title, entry.published_at
            sample.published_source = "feed" if entry.published_at else None
            return sample
        article = extract_article(html, got.final_url or entry.url,
                                  fetched_at=datetime.now(UTC), site_tz=source.timezone,
                                  # 'links' is for listing pages, not articles.
                                  selectors={k: v for k, v in source.selectors.items()
                                             if k != "links"} or None)
        sample.wall = detect_wall(html, title=article.title, body=article.body)
        sample.title = article.title or entry.title
        sample.published_at = article.published_at or entry.published_at
        sample.published_source = (article.published_source if article.published_at
                                   else ("feed" if entry.published_at else None))
        sample.body_words = len(article.body.split())
        if sample.wall:
            sample.body_source, sample.body_words = fallback, 0
        elif sample.body_words:
            sample.body_source = "page"
        else:
            sample.body_source = fallback
            sample.error = article.not_article or "no article text found on the page"
        return sample

    def _verdict(self, source: Source, starts: list[StartCheck], entries: list[Entry],
                 samples: list[Sample]) -> tuple[str, str]:
        first = starts[0]
        moved = next((s for s in starts if s.redirect_hosts), None)
        if not entries:
            refused = next((s for s in starts if s.status in _REFUSED or s.wall
                            or (s.error or "").startswith("disallowed")), None)
            if refused is not None:
                if (refused.error or "").startswith("disallowed"):
                    return BLOCKED, (f"robots.txt forbids {refused.url}: use a URL it allows, "
                                     "or disable the source")
                if refused.status == 429:
                    return BLOCKED, (f"{refused.url} answered 429 (rate limited): crawl it "
                                     "less often (schedule.interval) or later")
                if refused.status in _REFUSED:
                    return BLOCKED, (f"{refused.url} answered {refused.status}: try the "
                                     "source's headers or cookies, or another feed of the site")
                return BLOCKED, (f"{refused.url} is a bot wall ({refused.wall}): try "
                                 "another feed of the site, or its sitemap")
            if any(s.dns != "ok" for s in starts):
                return BROKEN, f"{first.url}: {first.dns}; check the host name in the URL"
            bad = next((s for s in starts if s.error), first)
            if bad.error and bad.error.startswith("HTTP"):
                return BROKEN, (f"{bad.url} answered {bad.error}: find the feed's current URL "
                                "on the site")
            if bad.error:
                return BROKEN, f"{bad.url}: {bad.error}; check the URL and the source's kind"
            return BROKEN, (f"{bad.url} lists no entries: check that it is the feed you meant, "
                            "or disable the source")
        if moved is not None:
            hint = (f"; {moved.url} redirects to {', '.join(moved.redirect_hosts)}: use the "
                    f"final URL {moved.redirects[-1]}")
        else:
            hint = ""
        floor = self.settings.scheduler.stale_floor
        newest = max((e.published_at for e in entries if e.published_at), default=None)
        if samples and not any(s.ok for s in samples):
            why = samples[0].wall or samples[0].error or "no text"
            return FEED_ONLY, (f"article pages give no article ({why}): newsmon keeps the feed "
                               f"entries; try the source's headers or cookies{hint}")
        if newest is not None and datetime.now(UTC) - newest > floor:
            return STALE, (f"its newest entry is from {newest:%Y-%m-%d}: check that the site "
                           f"still publishes here, or find its current feed{hint}")
        return WORKS, (f"none needed{hint}" if not hint else hint.lstrip("; "))


def check_sources(settings: Settings, names: list[str] | None = None,
                  samples: int = SAMPLES, quiet: dict[str, str] | None = None
                  ) -> list[SourceCheck]:
    """Probe the named sources (all, in configuration order, if none); KeyError for an
    unknown name. ``quiet``: per source, why its run history makes it stale
    (:func:`storage.staleness.history_staleness`); a source that works live is stale then."""
    chosen = [settings.source(n) for n in names] if names else list(settings.sources)
    prober = Prober(settings, samples)
    checks = []
    for source in chosen:
        check = prober.check(source)
        why = (quiet or {}).get(source.name)
        if why and check.verdict == WORKS:
            check.verdict = STALE
            check.change = (f"the site answers, but newsmon stored {why}: check that the "
                            "site still publishes here, or find its current feed")
        checks.append(check)
    return checks


def summary_row(check: SourceCheck) -> dict[str, Any]:
    """One row of the table: the first start URL's answer, the samples in one cell."""
    first = check.starts[0]
    http = first.dns if first.dns != "ok" else (
        str(first.status) if first.status is not None else (first.error or "?"))
    if first.redirect_hosts:
        http += f" via {', '.join(first.redirect_hosts)}"
    if first.wall:
        http += f" (bot wall: {first.wall})"
    ok = sum(1 for s in check.samples if s.ok)
    articles = f"{ok}/{len(check.samples)} extracted" if check.samples else "-"
    if check.samples:
        words = [s.body_words for s in check.samples if s.ok]
        if words:
            articles += f", {min(words)}-{max(words)} words"
        walls = sum(1 for s in check.samples if s.wall)
        if walls:
            articles += f", {walls} walled"
    return {"source": check.source + ("" if check.enabled else " (disabled)"),
            "verdict": check.verdict, "http": http,
            "robots": "; ".join(dict.fromkeys(s.robots for s in check.starts)),
            "entries": sum(s.entries for s in check.starts), "newest": check.newest,
            "articles": articles, "change": check.change}
