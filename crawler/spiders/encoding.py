"""The text of a page whose charset label may be wrong or missing.

Scrapy decodes by the HTTP header, then the ``<meta>`` charset, then a statistical guess, and
keeps a label even when the bytes contradict it: UTF-8 pages labelled ISO-8859-1 come out as
"CafÃ©", windows-1252 pages labelled UTF-8 as "Caf�", and an unlabelled windows-1252 page
may be guessed as a Baltic code page. :func:`response_text` trusts the bytes first: text that
is valid UTF-8 is UTF-8 (legacy encodings almost never are by chance); otherwise the first
label that decodes without error wins, then a multi-byte guess (Shift-JIS, GBK, ...), then
windows-1252, which is what unlabelled Western pages almost always are. A page that is UTF-8
but for a few invalid bytes (a broken copy-paste, a truncated character) stays UTF-8, the bad
bytes replaced by U+FFFD, instead of being re-guessed whole as a legacy code page.
"""

from __future__ import annotations

import codecs

from scrapy.http import TextResponse
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

_MULTIBYTE = frozenset({"cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030", "gbk",
                        "gb2312", "big5", "big5hkscs", "cp949", "euc_kr", "cp936", "cp950"})


def _strict(body: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return body.decode(resolve_encoding(encoding) or encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes  # Scrapy's own detector
    except ImportError:  # pragma: no cover - a Scrapy dependency
        return None
    match = from_bytes(body[:65536]).best()
    return match.encoding if match is not None else None


# At most this share of a page's non-ASCII bytes may be invalid UTF-8 for the page to be read
# as UTF-8 with replacement (in a windows-1252 page nearly every one is).
_MAX_INVALID_SHARE = 0.05


def _mostly_utf8(body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - body.decode("utf-8", errors="ignore").count("\ufffd")
    non_ascii = sum(1 for b in body if b > 0x7F)
    if non_ascii and invalid <= _MAX_INVALID_SHARE * non_ascii:
        return text
    return None


def _codec(name: str) -> str:
    try:
        return codecs.lookup(resolve_encoding(name) or name).name
    except LookupError:
        return name


def response_text(response: TextResponse) -> str:
    """``response``'s text, decoded by what its bytes are rather than what they claim."""
    body = response.body
    if body.isascii() or read_bom(body)[0] is not None:
        return response.text
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    nearly = _mostly_utf8(body)
    if nearly is not None:
        return nearly
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    for declared in (http_content_type_encoding(content_type),
                     html_body_declared_encoding(body)):
        text = _strict(body, declared)
        if text is not None:
            return text
    guess = _guess(body)
    if guess and _codec(guess) in _MULTIBYTE:
        text = _strict(body, guess)
        if text is not None:
            return text
    for fallback in ("cp1252", guess):
        text = _strict(body, fallback)
        if text is not None:
            return text
    return response.text


__all__ = ["response_text"]
