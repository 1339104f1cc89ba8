"""Parse untrusted XML (feeds, sitemaps) without entity expansion, network access or huge trees."""

from __future__ import annotations

import re

from lxml import etree

# An internal DTD that declares entities is how billion-laughs and XXE payloads arrive;
# no real feed or sitemap needs one.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_SPACE = re.compile(rb"\s*")
_UTF16 = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"<\x00", "utf-16-le"),
          (b"\x00<", "utf-16-be"))


class UnsafeXML(ValueError):
    """The document declares entities; it is refused rather than parsed."""

    def __init__(self, url: str) -> None:
        super().__init__(f"{url}: XML declares entities (possible XXE or billion-laughs); refused")


def _prolog(body: bytes) -> bytes:
    """Everything before the root element: the XML declaration, processing instructions,
    comments and the DOCTYPE with its internal subset, however long they are."""
    for bom, codec in _UTF16:
        if body.startswith(bom):  # re-encoded so that the byte patterns below apply
            body = body.decode(codec, errors="replace").encode("utf-8")
            break
    i = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    n = len(body)
    while i < n:
        m = _SPACE.match(body, i)
        i = m.end() if m else i
        if body.startswith(b"<?", i):
            end = body.find(b"?>", i + 2)
            i = n if end < 0 else end + 2
        elif body.startswith(b"<!--", i):
            end = body.find(b"-->", i + 4)
            i = n if end < 0 else end + 3
        elif body.startswith(b"<!", i):  # DOCTYPE: up to '>' or, with a subset, ']' then '>'
            bracket, close = body.find(b"[", i), body.find(b">", i)
            if 0 <= bracket < close or (bracket >= 0 > close):
                end = body.find(b"]", bracket)
                end = body.find(b">", end) if end >= 0 else -1
            else:
                end = close
            i = n if end < 0 else end + 1
        else:
            break
    return body[:i]


def check_no_entities(body: bytes, url: str) -> None:
    """Raise :class:`UnsafeXML` if ``body`` declares entities before its root element."""
    if _ENTITY_DECL.search(_prolog(body)):
        raise UnsafeXML(url)


def parse_xml(body: bytes, url: str) -> etree._Element | None:
    """Parse ``body`` leniently and safely; return the root element or None if unreadable."""
    check_no_entities(body, url)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=True,
        remove_comments=True, load_dtd=False,
    )
    try:
        root = etree.fromstring(body.strip(), parser=parser)
    except etree.XMLSyntaxError:
        return None
    return root
