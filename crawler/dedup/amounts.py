"""Amounts and counts in a text, normalised to keys two reports of one event share.

"₹36,000 crore", "Rs 36,000 cr" and "Rs 360 billion" are one amount: :func:`amounts` gives
each the key ``amount:INR:360000000000`` (the currency's ISO code, the value in units,
rounded to three significant digits so that "$2.1 billion" and "$2.10 bn" meet). "six
corvettes" and "6 corvettes" are one count: :func:`counts` gives ``count:6:corvette`` (the
noun as the caller's ``lemma`` gives it). Years, dates and percentages are neither;
:func:`percents` reads percentages ("12%", "twelve per cent", "3,5 %") for the guard.
:func:`event_day` reads the day a report says its event happened ("on Wednesday", "on 18
November"), for the near-miss guard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

AMOUNT = "amount:"
COUNT = "count:"
PERCENT = "pct:"

_CURRENCIES = {
    "₹": "INR", "rs": "INR", "rs.": "INR", "inr": "INR", "rupees": "INR", "rupee": "INR",
    "$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD",
    "€": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP",
    "¥": "JPY", "yen": "JPY", "yuan": "CNY", "rmb": "CNY",
}
_SCALES = {
    "thousand": 10**3, "k": 10**3, "lakh": 10**5, "lakhs": 10**5, "lac": 10**5,
    "million": 10**6, "mn": 10**6, "m": 10**6, "mln": 10**6,
    "crore": 10**7, "crores": 10**7, "cr": 10**7,
    "billion": 10**9, "bn": 10**9, "b": 10**9, "bln": 10**9,
    "trillion": 10**12, "tn": 10**12, "trn": 10**12, "lakh crore": 10**12,
}
_NUM = r"\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"lakh\s+crore|thousand|lakhs?|lac|million|mln|mn|crores?|cr|billion|bln|bn|" \
         r"trillion|trn|tn|k|m|b"
_PREFIX = r"us\$|rs\.?|inr|usd|eur|gbp|rmb|[₹$€£¥]"
_SUFFIX = r"rupees?|dollars?|euros?|pounds|yen|yuan"
# A currency before the number ("Rs 360 billion", "$2.1bn"), or after it ("36,000 crore
# rupees"; "₹"-less "36,000 crore" is read as rupees: crore and lakh are Indian units).
_AMOUNT_RE = re.compile(
    rf"(?:(?P<pre>{_PREFIX})\s?(?P<n1>{_NUM})(?:[\s-]?(?P<s1>{_SCALE})\b)?"
    rf"|(?<![\w.,])(?P<n2>{_NUM})[\s-]?(?P<s2>{_SCALE})\b(?:\s(?P<post>{_SUFFIX})\b)?"
    rf"|(?<![\w.,])(?P<n3>{_NUM})\s(?P<post3>{_SUFFIX})\b)",
    re.IGNORECASE)

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12})
_COUNT_RE = re.compile(
    r"(?<![\w.,$₹€£])(?P<n>\d{1,4}|" + "|".join(_NUMBER_WORDS) +
    r")\s+(?:(?:new|more|additional|next-generation|[a-z]+-[a-z]+)\s+)?(?P<noun>[a-z]{3,})\b",
    re.IGNORECASE)
# Nouns after a number that say when or how much, not what: "two days", "5 per cent".
_NOT_COUNTED = frozenset("""
per percent cent year years month months week weeks day days hour hours minute minutes
second seconds time times am pm ist gmt utc crore lakh million billion trillion thousand
hundred and or to of the in on at for from with by than
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
""".split())


def _value(number: str, scale: str | None) -> int | None:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if scale:
        value *= _SCALES[re.sub(r"\s+", " ", scale.lower())]
    if value <= 0:
        return None
    return int(_round3(value))


def _round3(value: Decimal) -> Decimal:
    """``value`` to three significant digits."""
    exponent = value.adjusted() - 2
    return value.scaleb(-exponent).quantize(Decimal(1)).scaleb(exponent)


def amounts(text: str) -> Iterator[str]:
    """Each amount of money in ``text`` as ``amount:<ISO code>:<value>``, in order (repeats
    included). A number with a scale but no currency counts only in crore or lakh
    (rupees); "500 million" alone could be people as well as money."""
    for m in _AMOUNT_RE.finditer(text):
        if m.group("n1") is not None:
            number, scale = m.group("n1"), m.group("s1")
            currency = _CURRENCIES[m.group("pre").lower()]
        elif m.group("n2") is not None:
            number, scale = m.group("n2"), m.group("s2")
            post = m.group("post")
            if post:
                currency = _CURRENCIES[post.lower()]
            elif scale.lower().startswith(("cr", "lakh", "lac")):
                currency = "INR"
            else:
                continue
        else:
            number, scale = m.group("n3"), None
            currency = _CURRENCIES[m.group("post3").lower()]
        if scale is None and currency == "USD" and m.group("pre") == "$" and "," not in number \
                and "." not in number and len(number) == 4 and number.startswith(("19", "20")):
            continue  # "$2026" is not money worth a key
        value = _value(number, scale)
        if value is not None:
            yield f"{AMOUNT}{currency}:{value}"


def counts(text: str, lemma: Callable[[str], str] = str.lower) -> Iterator[str]:
    """Each count of things in ``text`` ("six corvettes", "3 warships") as
    ``count:<n>:<lemma of the noun>``, in order; years ("2026 budget") and units of time or
    share ("two days", "5 per cent") are left out."""
    for m in _COUNT_RE.finditer(text):
        raw, noun = m.group("n").lower(), m.group("noun").lower()
        n = _NUMBER_WORDS.get(raw)
        if n is None:
            n = int(raw)
            if 1900 <= n <= 2100:
                continue
        if n < 2 or noun in _NOT_COUNTED or noun in _NUMBER_WORDS:
            continue
        yield f"{COUNT}{n}:{lemma(noun)}"


_PERCENT_RE = re.compile(
    r"(?<![\w.,])(?P<n>\d{1,3}(?:[.,]\d{1,2})?|" + "|".join(_NUMBER_WORDS) +
    r")(?:\s?%|\s+(?:per\s?cent|percent|pc|pct|prozent|pour\s+cent|por\s+ciento)\b)",
    re.IGNORECASE)


def percents(text: str) -> Iterator[str]:
    """Each percentage in ``text`` as ``pct:<value>`` ("12%", "twelve per cent" → ``pct:12``;
    "3,5 %" and "3.50 percent" → ``pct:3.5``), in order (repeats included)."""
    for m in _PERCENT_RE.finditer(text):
        raw = m.group("n").lower()
        if raw in _NUMBER_WORDS:
            value = Decimal(_NUMBER_WORDS[raw])
        else:
            try:
                value = Decimal(raw.replace(",", "."))
            except InvalidOperation:
                continue
        yield f"{PERCENT}{_plain(value)}"


def _plain(value: Decimal) -> str:
    """``Decimal("3.50")`` → "3.5", ``Decimal("12")`` → "12"."""
    return format(value.normalize(), "f")


_INDIAN = ((10**12, "lakh crore"), (10**7, "crore"), (10**5, "lakh"))
_WESTERN = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"))
_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}


def describe(key: str) -> str:
    """A key as a reader would write it: ``amount:INR:360000000000`` → "₹36,000 crore",
    ``amount:USD:2100000000`` → "$2.1 billion", ``count:6:corvette`` → "6 corvette"."""
    if key.startswith(AMOUNT):
        currency, value = key[len(AMOUNT):].split(":")
        v = int(value)
        symbol = _SYMBOLS.get(currency, currency + " ")
        units = _INDIAN if currency == "INR" else _WESTERN
        for size, name in units:
            if v >= size:
                return f"{symbol}{_short(v / size)} {name}"
        return f"{symbol}{v:,}"
    if key.startswith(COUNT):
        n, noun = key[len(COUNT):].split(":", 1)
        return f"{n} {noun}"
    if key.startswith(PERCENT):
        return f"{key[len(PERCENT):]}%"
    if key.startswith(DAY + "wd"):
        return _DAY_NAMES[int(key[len(DAY) + 2:])]
    if key.startswith(DAY):
        month, day = key[len(DAY):].split("-")
        return f"{int(day)} {_MONTH_NAMES[int(month) - 1]}"
    return key


def _short(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 or x == int(x) else f"{x:.3g}"


DAY = "day:"
_DAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTH_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_WEEKDAYS = {w: i % 7 for i, w in enumerate(
    "monday tuesday wednesday thursday friday saturday sunday "
    "montag dienstag mittwoch donnerstag freitag samstag sonntag "
    "lundi mardi mercredi jeudi vendredi samedi dimanche".split())}
_MONTHS = {w: i % 12 + 1 for i, w in enumerate(
    "january february march april may june july august september october november december "
    "januar februar märz april mai juni juli august september oktober november dezember "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    .split())}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_RE = re.compile(
    r"\b(?:(?P<wd>" + "|".join(_WEEKDAYS) + r")\b"
    rf"|(?P<d1>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s+(?P<m1>{_MONTH})\b"
    rf"|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})\b)",
    re.IGNORECASE)
LEDE_WORDS = 60


def event_day(text: str) -> str | None:
    """The day the first ``LEDE_WORDS`` words of a report name first: ``day:wd<0-6>`` for a
    weekday ("on Wednesday"), ``day:<month>-<day>`` for a date ("18 November"); None if
    they name none. Two reports of one event that name days name the same one."""
    lede = " ".join(text.split()[:LEDE_WORDS])
    m = _DAY_RE.search(lede)
    if m is None:
        return None
    if m.group("wd"):
        return f"{DAY}wd{_WEEKDAYS[m.group('wd').lower()]}"
    day, month = (m.group("d1"), m.group("m1")) if m.group("d1") else (m.group("d2"),
                                                                        m.group("m2"))
    if not 1 <= int(day) <= 31:
        return None
    return f"{DAY}{_MONTHS[month.lower()]}-{int(day)}"
