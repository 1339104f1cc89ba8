"""URL canonicalisation: one identity for every variant of an article's address.

``canonical_url`` cleans a URL for display and storage (tracking parameters, fragments,
default ports and trailing slashes removed, AMP paths folded, parameters sorted).
``url_key`` goes further for identity: it also folds the scheme and the ``www.``, ``m.``
and ``amp.`` host variants, so every variant of one article gives the same key.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# Query parameters that only track the click, never select content.
_TRACKING_EXACT = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ncid", "ito", "s_cid",
    "sr_share", "spm", "taid", "soc_src", "soc_trk", "share", "smid", "cid_source", "ocid",
    "__twitter_impression", "ref", "amp",
})
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_")
_HOST_VARIANT = re.compile(r"^(?:www\d*|m|mobile|amp)\.")
_AMP_PATH = (
    (re.compile(r"/amp/?$"), ""),           # /story/amp, /story/amp/
    (re.compile(r"^/amp(?=/)"), ""),        # /amp/story
    (re.compile(r"/amp(?=/)"), ""),         # /india-news/amp/story
    (re.compile(r"\.amp(?=\.html?$)"), ""),  # story.amp.html
    (re.compile(r"\.amp$"), ""),            # story.amp
    (re.compile(r"/amp_articleshow/"), "/articleshow/"),  # Times Internet sites
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """Raised for a value that is not an absolute http(s) URL."""

    def __init__(self, url: str) -> None:
        super().__init__(f"not an absolute http(s) URL: {url!r}")
        self.url = url


def _is_tracking(name: str, value: str) -> bool:
    low = name.lower()
    if low == "outputtype":  # Arc XP sites: ?outputType=amp is the AMP copy
        return value.lower() == "amp"
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str:
    """Return the cleaned form of ``url`` (resolved against ``base`` if relative)."""
    if base:
        url = urljoin(base, url.strip())
    try:
        parts = urlsplit(safe_url_string(url.strip()))
    except ValueError:  # w3lib refuses impossible ports and hosts
        raise InvalidURL(url) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidURL(url)
    host = parts.hostname.lower().rstrip(".")
    if not host:  # "http://./"
        raise InvalidURL(url)
    if ":" in host:  # an IPv6 literal: urlsplit took its brackets off
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise InvalidURL(url) from None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    for pattern, repl in _AMP_PATH:
        path = pattern.sub(repl, path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k, v)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def url_key(url: str, base: str | None = None) -> str:
    """Return the identity of ``url``: its canonical form without scheme or host variant."""
    clean = urlsplit(canonical_url(url, base))
    host = _HOST_VARIANT.sub("", clean.netloc)
    return f"{host}{clean.path}" + (f"?{clean.query}" if clean.query else "")
