"""newsmon extract: run the article extractor on one page and print the result as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, fail, settings_from


def _parse_iso(value: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO-8601 time such as 2026-11-25T09:30:00+05:30", 2)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("extract")
def extract_command(
    file_or_url: Annotated[str, typer.Argument(help="An HTML file, '-' for stdin, or a URL.")],
    url: Annotated[str | None, typer.Option(help="The page's URL, when reading a file.")] = None,
    fetched_at: Annotated[str | None, typer.Option(
        "--fetched-at", help="When the page was fetched (ISO-8601; default: now). Relative "
        "times such as '2 hours ago' count back from it.")] = None,
    source: Annotated[str | None, typer.Option(
        help="Use this configured source's time zone, selectors, headers and cookies.")] = None,
    config: ConfigOption = None,
) -> None:
    """Extract one article and print it as JSON: the tool for writing selectors.

    Example: newsmon extract saved.html --url https://example.com/story --fetched-at
    2026-11-25T10:00:00+05:30 --source thehindu-national
    """
    settings = settings_from(config)
    tz, selectors = settings.default_timezone, None
    headers = {"User-Agent": settings.effective_user_agent}
    if source is not None:
        try:
            src = settings.source(source)
        except KeyError:
            fail(f"--source: no source named {source!r} in the sources file", 2)
        tz, selectors = src.timezone, dict(src.selectors) or None
        headers.update(src.headers)
        if src.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in src.cookies.items())
    when = _parse_iso(fetched_at, "--fetched-at") if fetched_at else datetime.now(UTC)
    if file_or_url.startswith(("http://", "https://")):
        import urllib.request

        page_url = url or file_or_url
        request = urllib.request.Request(file_or_url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                html: str | bytes = resp.read(settings.crawl.max_response_bytes)
        except OSError as exc:
            fail(f"cannot fetch {file_or_url}: {exc}")
        if not fetched_at:
            when = datetime.now(UTC)
    else:
        if file_or_url == "-":
            html = typer.get_binary_stream("stdin").read()
        else:
            try:
                html = Path(file_or_url).read_bytes()
            except OSError as exc:
                fail(f"cannot read {file_or_url}: {exc.strerror}", 2)
        page_url = url or Path(file_or_url).resolve().as_uri()
    from crawler.extraction import extract_article

    article = extract_article(html, page_url, fetched_at=when, site_tz=tz, selectors=selectors)
    typer.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=2, default=str))
