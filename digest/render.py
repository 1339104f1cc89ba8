"""Render a :class:`~digest.build.Digest` as Markdown, HTML, JSON or plain text.

Contract: :func:`render` returns the whole document as a string. Markdown, HTML and text come
from Jinja2 templates (``digest.md.j2``, ``digest.html.j2``, ``digest.txt.j2``); a template of
the same name in ``template_dir`` replaces the packaged one. Everything scraped is escaped for
its format: HTML autoescaping, Markdown backslash escapes, and links only for http(s) URLs
(anything else — ``javascript:`` included — is dropped). Raises :class:`TemplateError` (with
the template's name and line) when a user's template cannot be loaded or rendered.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import jinja2

    from digest.build import Digest

TEMPLATES = Path(__file__).with_name("templates")


class DigestFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"
    TEXT = "text"


TEMPLATE_NAMES = {
    DigestFormat.MARKDOWN: "digest.md.j2",
    DigestFormat.HTML: "digest.html.j2",
    DigestFormat.TEXT: "digest.txt.j2",
}
EXTENSIONS = {DigestFormat.MARKDOWN: "md", DigestFormat.HTML: "html", DigestFormat.JSON: "json",
              DigestFormat.TEXT: "txt"}


class TemplateError(Exception):
    """A digest template could not be loaded or rendered; the message names it."""


# Parentheses and "!" are markup only after "]" or before "[" (links, images), which are
# escaped: "(AIP)" stays as it is.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+|~])")


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text: markup characters backslash-escaped, one line."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(value: object) -> str:
    """``value`` if it is an http(s) URL (with spaces, quotes and brackets percent-encoded),
    else the empty string: a scraped link must never become ``javascript:`` or ``data:``."""
    url = str(value or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe=":/?#@!$&*+,;=%-._~")


def counted(count: int, noun: str) -> str:
    """``1 story``, ``2 stories``, ``3 sources``."""
    if count == 1:
        return f"{count} {noun}"
    plural = noun[:-1] + "ies" if re.search(r"[^aeiou]y$", noun) else noun + "s"
    return f"{count} {plural}"


def _environment(fmt: DigestFormat, template_dir: str | Path | None) -> jinja2.Environment:
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=fmt is DigestFormat.HTML,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["safe_url"] = safe_url
    env.filters["n"] = counted
    return env


def render(digest: Digest, fmt: DigestFormat | str, *,
           template_dir: str | Path | None = None) -> str:
    """The digest as one document in ``fmt``; see the module docstring."""
    import jinja2  # here, not above: the CLI's --help imports this module for DigestFormat

    fmt = DigestFormat(fmt)
    if fmt is DigestFormat.JSON:
        return json.dumps(digest.to_dict(), ensure_ascii=False, indent=2) + "\n"
    name = TEMPLATE_NAMES[fmt]
    try:
        template = _environment(fmt, template_dir).get_template(name)
        return template.render(digest=digest, totals=digest.totals)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"digest template {exc.filename or exc.name or name}, line "
                            f"{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"digest template {name}: {exc}") from None
