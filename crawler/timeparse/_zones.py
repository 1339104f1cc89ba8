"""Time-zone names as news sites print them, resolved against the site's own zone."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.timeparse._vocab import alternation

# Explicit abbreviations name a fixed offset even when the printed one is wrong for the
# season ("EST" in July is still -05:00); only the generic names below follow DST.
_FIXED_MINUTES: Final[dict[str, int]] = {
    "GMT": 0, "UTC": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60, "IST": 330,
    "CET": 60, "CEST": 120, "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150,
    "JST": 540, "KST": 540, "SGT": 480, "HKT": 480, "PHT": 480, "MYT": 480, "WIB": 420,
    "ICT": 420, "PKT": 300, "NPT": 345, "AFT": 270, "IRST": 210, "GST": 240, "IDT": 180,
    "AEST": 600, "AEDT": 660, "ACST": 570, "ACDT": 630, "AWST": 480, "NZST": 720, "NZDT": 780,
    "SAST": 120, "EAT": 180, "WAT": 60, "CAT": 120,
}
_FIXED: Final[dict[str, tzinfo]] = {
    name: UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
    for name, minutes in _FIXED_MINUTES.items()
}

# Generic names mean whatever the clocks there showed on that date.
_DST_ZONE_NAMES: Final[dict[str, str]] = {
    "ET": "America/New_York", "Eastern Time": "America/New_York", "Eastern": "America/New_York",
    "CT": "America/Chicago", "Central Time": "America/Chicago",
    "MT": "America/Denver", "Mountain Time": "America/Denver",
    "PT": "America/Los_Angeles", "Pacific Time": "America/Los_Angeles",
    "Pacific": "America/Los_Angeles",
    "UK": "Europe/London", "UK time": "Europe/London",
}

# The same letters mean another zone on some sites: IST is Israel or Irish Standard Time,
# CST China Standard Time, BST Bangladesh, AST Arabia.
_BY_SITE: Final[dict[str, tuple[tuple[frozenset[str], int], ...]]] = {
    "IST": (
        (frozenset({"Asia/Jerusalem", "Asia/Tel_Aviv", "Israel"}), 120),
        (frozenset({"Europe/Dublin", "Eire"}), 60),
    ),
    "CST": ((frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Taipei",
                        "Asia/Macau", "PRC", "ROC"}), 480),),
    "BST": ((frozenset({"Asia/Dhaka"}), 360),),
    "AST": ((frozenset({"Asia/Riyadh", "Asia/Baghdad", "Asia/Kuwait", "Asia/Qatar",
                        "Asia/Bahrain", "Asia/Aden"}), 180),),
}

_DST_ZONES: Final[dict[str, tzinfo]] = {
    name: ZoneInfo(key) for name, key in _DST_ZONE_NAMES.items()
}

_ABBREVIATIONS = alternation([*_FIXED_MINUTES, *_DST_ZONE_NAMES])
# Letters are matched case-sensitively: "ist" and "et" are German and French words.
ZONE_PATTERN: Final = (
    r"(?:(?-i:GMT|UTC|UT)\s?[+-]\s?\d{1,2}(?::?\d{2})?(?![0-9])"
    r"|[+-](?:[01]\d|2[0-3]):?[0-5]\d(?![0-9])"
    rf"|(?-i:{_ABBREVIATIONS}|Z)(?![^\W\d_]))"
)
_OFFSET = re.compile(r"(?:GMT|UTC|UT)?\s?([+-])\s?(\d{1,2})(?::?(\d{2}))?")

_US_ZONES: Final = frozenset({
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Anchorage", "America/Juneau", "America/Sitka",
    "America/Yakutat", "America/Nome", "America/Metlakatla", "America/Adak", "America/Boise",
    "America/Detroit", "America/Menominee", "America/Indianapolis", "America/Louisville",
    "America/Fort_Wayne", "America/Knox_IN", "America/Shiprock", "Navajo", "Pacific/Honolulu",
    "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT",
})
_US_PREFIXES: Final = ("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")


def zone_for(text: str, site_key: str) -> tzinfo | None:
    """The tzinfo that ``text`` (as matched by ZONE_PATTERN, or "Z") names on this site."""
    name = " ".join(text.split())
    if name in ("Z", "z"):
        return UTC
    for keys, minutes in _BY_SITE.get(name, ()):
        if site_key in keys:
            return timezone(timedelta(minutes=minutes))
    fixed = _FIXED.get(name)
    if fixed is not None:
        return fixed
    generic = _DST_ZONES.get(name)
    if generic is not None:
        return generic
    match = _OFFSET.fullmatch(name)
    if match is None:
        return None
    hours, minutes = int(match[2]), int(match[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if not offset:
        return UTC
    return timezone(-offset if match[1] == "-" else offset)


@dataclass(frozen=True, slots=True)
class SiteZone:
    """The zone of a site: its tzinfo, IANA key, and whether it writes 11/24/2026."""

    tz: tzinfo
    key: str
    month_first: bool


def site_zone(site_tz: str | tzinfo) -> SiteZone:
    """The site's zone; raises ValueError for an unknown zone name."""
    if isinstance(site_tz, str):
        return _named_site_zone(site_tz)
    key = str(getattr(site_tz, "key", None) or site_tz)
    return SiteZone(site_tz, key, is_us(key))


# A memo of a pure function: ZoneInfo keeps only eight zones alive on its own, and
# reloading one from the tz database costs more than parsing a string.
@functools.lru_cache(maxsize=512)
def _named_site_zone(name: str) -> SiteZone:
    if name.upper() in ("UTC", "Z", "GMT"):
        return SiteZone(UTC, "UTC", False)
    try:
        return SiteZone(ZoneInfo(name), name, is_us(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone: {name!r}") from None


def is_us(site_key: str) -> bool:
    """Whether a site in this zone prints numeric dates month first (11/24/2026)."""
    return site_key in _US_ZONES or site_key.startswith(_US_PREFIXES)
