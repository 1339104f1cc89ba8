"""Find the timestamp-shaped pieces of a text: one compiled regex, then joining and filtering."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from crawler.timeparse._vocab import (
    AGO_AFTER,
    AGO_BEFORE,
    AR_AGO,
    ARABIC_UNITS,
    CONNECTOR_WORDS,
    DAY,
    DAY_WORDS,
    HOUR,
    LABEL_WORDS,
    MINUTE,
    MONTH,
    MONTHS,
    NOW_PHRASES,
    NUMBER_WORDS,
    SECOND,
    SHORT_UNITS,
    UNITS,
    WEAK_DAY_WORDS,
    WEEK,
    WEEKDAYS,
    WORDLIKE_MONTHS,
    YEAR,
    alternation,
)
from crawler.timeparse._zones import ZONE_PATTERN

# One-for-one replacements keep every index valid for spans into the caller's text.
_FOLD: Final = str.maketrans(
    {
        **dict.fromkeys([0x00A0, 0x202F, 0x2007, 0x2009, 0x200A, 0x2002, 0x2003, 0x200B,
                         0x200E, 0x200F, 0x061C, 0xFEFF], " "),
        **dict.fromkeys([0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2212], "-"),
        0x2019: "'", 0xFF1A: ":",
        **{0xFF10 + i: str(i) for i in range(10)},
        **{0x0966 + i: str(i) for i in range(10)},  # Devanagari
        **{0x0660 + i: str(i) for i in range(10)},  # Arabic-Indic
        **{0x06F0 + i: str(i) for i in range(10)},  # Extended Arabic-Indic
    }
)

_LETTER_AFTER_NOT: Final = r"(?![^\W\d_])"
_LETTER_BEFORE_NOT: Final = r"(?<![^\W\d_])"
_NUMBER_BEFORE_NOT: Final = r"(?<![\w.,:/+\-])"
_YEAR: Final = r"(?:19|20)\d{2}"
_MONTH: Final = alternation(MONTHS)
_WEEKDAY: Final = alternation(WEEKDAYS)
# A number in words needs a space before its unit: "an" + "d" is not "and".
_QTY: Final = rf"(?:\d{{1,4}}|(?:{alternation(NUMBER_WORDS)})(?=\s)|un')"
_UNIT: Final = rf"(?:{alternation(UNITS)}){_LETTER_AFTER_NOT}\.?"
_AMOUNTS: Final = (
    rf"{_LETTER_BEFORE_NOT}{_QTY}\s*{_UNIT}"
    rf"(?:\s*(?:,\s*)?(?:(?:and|et|und|y|e|en)\s+)?{_QTY}\s*{_UNIT}){{0,4}}"
)
_AMPM: Final = rf"[ap]\.?\s?m(?:\.|{_LETTER_AFTER_NOT})"

# Tried in this order at each word start: "now" phrases, Arabic, "ago" before the amount
# (vor, hace, il y a), "ago" after it, ISO 8601, numeric D/M/Y and Y/M/D, day-month and
# month-day names, clock times, short labels ("2h"), and day words.
_ALTERNATIVES: Final = (
    ("now", rf"{_LETTER_BEFORE_NOT}(?:{alternation(NOW_PHRASES)}){_LETTER_AFTER_NOT}"),
    ("ar", rf"(?:{alternation(AR_AGO)})\s*(?P<ar_n>\d{{1,4}})?\s*"
           rf"(?P<ar_u>{alternation(ARABIC_UNITS)}){_LETTER_AFTER_NOT}"),
    ("rp", rf"{_LETTER_BEFORE_NOT}(?:{alternation(AGO_BEFORE)})\s+(?P<rp_body>{_AMOUNTS})"),
    ("rs", rf"(?P<rs_body>{_AMOUNTS})\s*(?:{alternation(AGO_AFTER)}){_LETTER_AFTER_NOT}"),
    ("iso", rf"{_NUMBER_BEFORE_NOT}(?P<iso_y>{_YEAR})-(?P<iso_mo>[01]?\d)-(?P<iso_d>[0-3]?\d)"
            r"(?:(?:T|\s+|,\s*)(?P<iso_h>[0-2]\d):(?P<iso_mi>[0-5]\d)"
            r"(?::(?P<iso_s>[0-5]\d)(?:[.,](?P<iso_f>\d{1,9}))?)?"
            rf"(?:\s*(?P<iso_zone>{ZONE_PATTERN}))?)?(?![0-9])"),
    ("nd", rf"{_NUMBER_BEFORE_NOT}(?P<nd_a>\d{{1,2}})(?P<nd_sep>[./\-])(?P<nd_b>\d{{1,2}})"
           rf"(?P=nd_sep)(?P<nd_y>{_YEAR}|\d{{2}})(?![0-9])(?!(?P=nd_sep)\d)"),
    ("ny", rf"{_NUMBER_BEFORE_NOT}(?P<ny_y>{_YEAR})(?P<ny_sep>[./])(?P<ny_m>\d{{1,2}})"
           r"(?P=ny_sep)(?P<ny_d>\d{1,2})(?![0-9])(?!(?P=ny_sep)\d)"),
    ("dmy", rf"(?:{_LETTER_BEFORE_NOT}(?:{_WEEKDAY}){_LETTER_AFTER_NOT}\.?,?\s*)?"
            rf"{_NUMBER_BEFORE_NOT}(?P<dmy_d>[0-3]?\d)(?:st|nd|rd|th|er|º|°)?(?:\.(?=\s))?"
            r"(?:\s*(?:of|de)\s+|\s*[\-/]\s*|\s+)"
            rf"(?P<dmy_m>{_MONTH}){_LETTER_AFTER_NOT}\.?"
            rf"(?:(?:\s*(?:,\s*)?(?:(?:de|del)\s+)?|\s*[\-/]\s*)(?P<dmy_y>{_YEAR})(?![0-9]))?"),
    ("mdy", rf"(?:{_LETTER_BEFORE_NOT}(?:{_WEEKDAY}){_LETTER_AFTER_NOT}\.?,?\s*)?"
            rf"{_LETTER_BEFORE_NOT}(?P<mdy_m>{_MONTH}){_LETTER_AFTER_NOT}\.?\s*"
            r"(?P<mdy_d>[0-3]?\d)(?:st|nd|rd|th)?(?![0-9]|[:.]\d)"
            rf"(?:\s*(?:,\s*)?(?P<mdy_y>{_YEAR})(?![0-9]|:\d))?"),
    ("ck", rf"{_NUMBER_BEFORE_NOT}(?:"
           r"(?P<ck_h>[0-2]?\d):(?P<ck_mi>[0-5]\d)(?::(?P<ck_s>[0-5]\d)(?:[.,](?P<ck_f>\d{1,6}))?)?"
           r"(?![0-9])"
           r"|(?P<ck_hd>[0-2]?\d)\.(?P<ck_mid>[0-5]\d)(?![0-9])"
           rf"(?=\s?{_AMPM}|\s*uhr|\s*h{_LETTER_AFTER_NOT}|\s*(?:,\s*)?{ZONE_PATTERN})"
           rf"|(?P<ck_hf>[0-2]?\d)h(?P<ck_mif>[0-5]\d)(?![0-9]){_LETTER_AFTER_NOT}"
           rf"|(?P<ck_ho>[01]?\d)(?=\s?{_AMPM}|\s?uhr{_LETTER_AFTER_NOT})"
           rf")(?:\s?(?P<ck_ap>[ap])\.?\s?m(?:\.|{_LETTER_AFTER_NOT}))?"
           rf"(?:\s*(?P<ck_uhr>uhr|hrs|h){_LETTER_AFTER_NOT}\.?)?"
           rf"(?:\s*(?:,\s*)?\(?(?P<ck_zone>{ZONE_PATTERN})\)?)?"),
    ("sh", rf"(?<![\w.,$£€₹+\-/#])(?P<sh_n1>\d{{1,3}})(?P<sh_u1>{alternation(SHORT_UNITS)})"
           rf"(?:\s?(?P<sh_n2>\d{{1,2}})(?P<sh_u2>mins|min|m))?{_LETTER_AFTER_NOT}(?![.,]\d)"),
    ("dw", rf"{_LETTER_BEFORE_NOT}(?P<dw_w>{alternation(DAY_WORDS)}){_LETTER_AFTER_NOT}"
           r"(?!'s)"),
)
# Every alternative starts a word; saying so up front lets the scan skip the inside of
# words instead of trying a dozen alternatives at each character.
_MASTER: Final = re.compile(
    r"(?<!\w)(?=\w)(?:"
    + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _ALTERNATIVES)
    + ")",
    re.IGNORECASE,
)
_AMOUNT: Final = re.compile(rf"({_QTY})\s*({alternation(UNITS)}){_LETTER_AFTER_NOT}",
                            re.IGNORECASE)
_GAP: Final = re.compile(
    rf"[\s,|·•\-/;:]*(?:(?:{alternation(CONNECTOR_WORDS)})\s+)?[\s,]*", re.IGNORECASE
)
_TRAILING_YEAR: Final = re.compile(rf"\s+({_YEAR})(?![0-9:])")
_HARD_SEPARATORS: Final = frozenset("·•|()[]{}-,;/")
_FINER: Final = (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR)

# How a clock without a date may stand: only joined to a date, as a label on its own, or
# anywhere (it names a zone or says "Uhr").
JOINED_ONLY, LABEL_ONLY, ANYWHERE = 0, 1, 2


@dataclass(slots=True)
class Stamp:
    """One timestamp-shaped piece of text, before it is resolved against now and a zone."""

    start: int
    end: int
    rule: str
    precision: str
    ymd: tuple[int | None, int, int] | None = None
    days_back: int | None = None
    clock: tuple[int, int, int, int] | None = None
    zone: str | None = None
    delta: timedelta | None = None
    months_back: int = 0
    standing: int = ANYWHERE

    @property
    def relative(self) -> bool:
        return self.delta is not None


def fold(text: str) -> str:
    """``text`` with look-alike characters replaced, index for index."""
    return text.translate(_FOLD)


def find_stamps(text: str, month_first: bool, limit: int = 2) -> list[Stamp]:
    """The first ``limit`` timestamps in ``text`` (already folded), joined and filtered."""
    stamps: list[Stamp] = []
    atoms = _atoms(text, month_first)
    a = next(atoms, None)
    while a is not None and len(stamps) < limit:
        b = next(atoms, None)
        if b is not None and _joinable(a, b) and _GAP.fullmatch(text, a.end, b.start):
            stamps.append(_join(a, b, text))
            a = next(atoms, None)
            continue
        if _stands_alone(a, text):
            stamps.append(a)
        a = b
    return stamps


def _atoms(text: str, month_first: bool) -> Iterator[Stamp]:
    for match in _MASTER.finditer(text):
        stamp = _BUILDERS[match.lastgroup or ""](match, text, month_first)
        if stamp is not None:
            yield stamp


def _joinable(a: Stamp, b: Stamp) -> bool:
    a_day = a.clock is None and not a.relative and (a.ymd is not None or a.days_back is not None)
    b_day = b.clock is None and not b.relative and (b.ymd is not None or b.days_back is not None)
    a_clock = a.clock is not None and a.ymd is None and a.days_back is None
    b_clock = b.clock is not None and b.ymd is None and b.days_back is None
    # Printed before a date, a clock carries am/pm, a zone or two hour digits: "3:45 |
    # Nov 24, 2026" is a video's length next to a date more often than a time.
    return (a_day and b_clock) or (a_clock and b_day and a.standing != JOINED_ONLY)


def _join(a: Stamp, b: Stamp, text: str) -> Stamp:
    day, clock = (a, b) if a.clock is None else (b, a)
    joined = Stamp(a.start, b.end, f"{a.rule}+{b.rule}", clock.precision, ymd=day.ymd,
                   days_back=day.days_back, clock=clock.clock, zone=clock.zone)
    if day is a and day.ymd is not None and day.ymd[0] is None:
        # ctime and `date` print the year last: "Tue Nov 24 23:02:00 UTC 2026".
        year = _TRAILING_YEAR.match(text, b.end)
        if year is not None and _valid_date(int(year[1]), day.ymd[1], day.ymd[2]):
            joined.ymd = (int(year[1]), day.ymd[1], day.ymd[2])
            joined.end = year.end()
    return joined


def _stands_alone(stamp: Stamp, text: str) -> bool:
    if stamp.standing == ANYWHERE:
        return True
    if stamp.standing == JOINED_ONLY:
        return False
    return _isolated(text, stamp.start, stamp.end)


def _isolated(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands as a label: separators or a label word around it."""
    left = text[:start].rstrip()
    if left and left[-1] not in _HARD_SEPARATORS:
        word = left.rstrip(":").rstrip().rsplit(None, 1)[-1] if left.rstrip(":") else ""
        if word.lower() not in LABEL_WORDS:
            return False
    right = text[end:].lstrip()
    return not right or right[0] in _HARD_SEPARATORS or right[0] in ".:!"


def _prev_word_is_name(text: str, start: int) -> bool:
    """"India Today", "USA TODAY": a capitalised word right before makes it a title."""
    left = text[:start]
    if not left.endswith(" "):
        return False
    left = left.rstrip()
    if not left or not left[-1].isalpha():
        return False
    word = left.rsplit(None, 1)[-1]
    return word[0].isupper() and word.lower() not in LABEL_WORDS


def _finest(units: list[str]) -> str:
    return min(units, key=_FINER.index)


def _relative(start: int, end: int, body: str) -> Stamp | None:
    delta = timedelta()
    months = 0
    units: list[str] = []
    for qty_text, unit_text in _AMOUNT.findall(body):
        qty = _quantity(qty_text)
        unit = UNITS[unit_text.lower()]
        units.append(unit)
        delta, months = _add(delta, months, unit, qty)
    if not units:
        return None
    return Stamp(start, end, "relative", _finest(units), delta=delta, months_back=months)


def _add(delta: timedelta, months: int, unit: str, qty: int) -> tuple[timedelta, int]:
    if unit == YEAR:
        return delta, months + 12 * qty
    if unit == MONTH:
        return delta, months + qty
    seconds = {SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400, WEEK: 604800}[unit]
    return delta + timedelta(seconds=seconds * qty), months


def _quantity(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.endswith("'"):  # Italian "un'ora"
        return 1
    return NUMBER_WORDS[" ".join(text.lower().split())]


def _now(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    phrase = " ".join(match["now"].lower().split())
    return Stamp(match.start(), match.end(), "just_now", NOW_PHRASES[phrase], delta=timedelta())


def _arabic(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    unit, implied = ARABIC_UNITS[match["ar_u"]]
    qty = int(match["ar_n"]) if match["ar_n"] else implied
    if qty is None:
        return None
    delta, months = _add(timedelta(), 0, unit, qty)
    return Stamp(match.start(), match.end(), "relative", unit, delta=delta, months_back=months)


def _ago_before(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    return _relative(match.start(), match.end(), match["rp_body"])


def _ago_after(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    return _relative(match.start(), match.end(), match["rs_body"])


def _short(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    delta, months = timedelta(), 0
    units = []
    for n, u in ((match["sh_n1"], match["sh_u1"]), (match["sh_n2"], match["sh_u2"])):
        if n is not None:
            unit = SHORT_UNITS[u.lower()]
            units.append(unit)
            delta, months = _add(delta, months, unit, int(n))
    return Stamp(match.start(), match.end(), "relative_short", _finest(units), delta=delta,
                 months_back=months, standing=LABEL_ONLY)


def _valid_date(year: int | None, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        leap = year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
        return day <= (29 if leap else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def _date_stamp(match: re.Match[str], rule: str, y: int | None, m: int, d: int) -> Stamp | None:
    if not _valid_date(y, m, d):
        return None
    return Stamp(match.start(), match.end(), rule, DAY, ymd=(y, m, d))


def _iso(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    y, m, d = int(match["iso_y"]), int(match["iso_mo"]), int(match["iso_d"])
    stamp = _date_stamp(match, "iso8601", y, m, d)
    if stamp is None or match["iso_h"] is None:
        return stamp
    hour, minute = int(match["iso_h"]), int(match["iso_mi"])
    second = int(match["iso_s"] or 0)
    micro = int((match["iso_f"] or "0")[:6].ljust(6, "0"))
    if hour > 23:
        return None
    stamp.clock = (hour, minute, second, micro)
    stamp.precision = SECOND if match["iso_s"] else MINUTE
    stamp.zone = match["iso_zone"]
    return stamp


def _numeric(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    a, b, year_text, sep = int(match["nd_a"]), int(match["nd_b"]), match["nd_y"], match["nd_sep"]
    if len(year_text) == 2:
        if sep != "/":
            return None
        year = 2000 + int(year_text)
    else:
        year = int(year_text)
    if a > 12 or (b <= 12 and (sep == "." or not month_first)):
        day, month = a, b
    else:
        month, day = a, b
    return _date_stamp(match, "numeric_date", year, month, day)


def _numeric_ymd(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    return _date_stamp(match, "numeric_date", int(match["ny_y"]), int(match["ny_m"]),
                       int(match["ny_d"]))


def _named(match: re.Match[str], text: str, rule: str, prefix: str) -> Stamp | None:
    month_text = match[f"{prefix}_m"]
    year_text = match[f"{prefix}_y"]
    if month_text.lower() in WORDLIKE_MONTHS and year_text is None and (
        month_text.islower() or _prev_word_is_name(text, match.start(f"{prefix}_m"))
    ):  # "may 5 more", "Long March 5"
        return None
    year = int(year_text) if year_text else None
    return _date_stamp(match, rule, year, MONTHS[month_text.lower()], int(match[f"{prefix}_d"]))


def _dmy(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    return _named(match, text, "day_month", "dmy")


def _mdy(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    return _named(match, text, "month_day", "mdy")


def _clock(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    standing = LABEL_ONLY
    precision = MINUTE
    second = micro = 0
    if match["ck_h"] is not None:
        hour, minute = int(match["ck_h"]), int(match["ck_mi"])
        if match["ck_s"] is not None:
            second, precision = int(match["ck_s"]), SECOND
            micro = int((match["ck_f"] or "0")[:6].ljust(6, "0"))
        # "3:45" and "1:20:33" are as often video lengths as clock times.
        if len(match["ck_h"]) == 1 or match["ck_s"] is not None:
            standing = JOINED_ONLY
    elif match["ck_hd"] is not None:
        hour, minute = int(match["ck_hd"]), int(match["ck_mid"])
    elif match["ck_hf"] is not None:
        hour, minute = int(match["ck_hf"]), int(match["ck_mif"])
    else:
        hour, minute, precision = int(match["ck_ho"]), 0, HOUR
    ampm = (match["ck_ap"] or "").lower()
    if ampm:
        if hour > 12:
            if ampm == "a":
                return None
        elif ampm == "p":
            hour = hour % 12 + 12
        else:
            hour %= 12
        if standing == JOINED_ONLY and match["ck_s"] is None:
            standing = LABEL_ONLY
    if hour > 23:
        return None
    zone = match["ck_zone"]
    # "18:45 Uhr" is a time wherever it stands; "5 Uhr" and "6 PM" are often prose.
    if zone is not None or (match["ck_uhr"] and match["ck_ho"] is None):
        standing = ANYWHERE
    return Stamp(match.start(), match.end(), "clock", precision,
                 clock=(hour, minute, second, micro), zone=zone, standing=standing)


def _day_word(match: re.Match[str], text: str, month_first: bool) -> Stamp | None:
    word = match["dw_w"].lower()
    if _prev_word_is_name(text, match.start()):
        return None
    standing = LABEL_ONLY if word in WEAK_DAY_WORDS else ANYWHERE
    return Stamp(match.start(), match.end(), "day_word", DAY, days_back=DAY_WORDS[word],
                 standing=standing)


_BUILDERS: Final = {
    "now": _now,
    "ar": _arabic,
    "rp": _ago_before,
    "rs": _ago_after,
    "iso": _iso,
    "nd": _numeric,
    "ny": _numeric_ymd,
    "dmy": _dmy,
    "mdy": _mdy,
    "ck": _clock,
    "sh": _short,
    "dw": _day_word,
}
