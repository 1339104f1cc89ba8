"""Parse untrusted XML (feeds, sitemaps) without entity expansion, network access or huge trees."""

from __future__ import annotations

import re

from lxml import etree

# An internal DTD that declares entities is how billion-laughs and XXE payloads arrive;
# no real feed or sitemap needs one.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class UnsafeXML(ValueError):
    """The document declares entities; it is refused rather than parsed."""

    def __init__(self, url: str) -> None:
        super().__init__(f"{url}: XML declares entities (possible XXE or billion-laughs); refused")


def check_no_entities(body: bytes, url: str) -> None:
    """Raise :class:`UnsafeXML` if ``body`` declares entities in its first 64 KiB."""
    if _ENTITY_DECL.search(body[:65536]):
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
