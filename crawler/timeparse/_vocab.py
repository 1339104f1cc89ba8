"""Word tables for :mod:`crawler.timeparse`: months, weekdays, numbers, units, label words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

# Abbreviations that are also common words in another language are left out on purpose:
# Spanish "ago" (agosto) would turn "5 ago" into a date, Italian "set"/"mag" are English
# words, Portuguese "marco" is a first name.
_MONTH_NAMES: Final = (
    (1, "january jan janv janvier januar jänner jaenner enero ene gennaio janeiro januari "
        "जनवरी"),
    (2, "february feb febr fév févr février fevrier februar febrero febbraio fevereiro fev "
        "februari फरवरी फ़रवरी"),
    (3, "march mar mär märz maerz mrz mars marzo março maart मार्च"),
    (4, "april apr avr avril abril abr aprile अप्रैल"),
    (5, "may mai mayo maggio maio mei मई"),
    (6, "june jun juin juni junio giugno junho जून"),
    (7, "july jul juil juillet juli julio luglio julho जुलाई"),
    (8, "august aug août aout agosto augustus अगस्त"),
    (9, "september sep sept septembre septiembre setiembre settembre setembro सितंबर सितम्बर"),
    (10, "october oct okt octobre oktober octubre ottobre outubro अक्टूबर"),
    (11, "november nov novembre noviembre novembro नवंबर नवम्बर"),
    (12, "december dec dez déc décembre decembre dezember diciembre dic dicembre dezembro "
         "दिसंबर दिसम्बर"),
)
# Russian, Ukrainian (genitive, as dates print them, and nominative), Polish and Turkish (with
# and without diacritics); Polish abbreviations are left out ("lip", "sty", "lis", "sie" are
# words).
_MORE_MONTH_NAMES: Final = (
    (1, "января январь янв січня січень stycznia styczeń styczen ocak"),
    (2, "февраля февраль фев лютого лютий lutego luty şubat subat"),
    (3, "марта март березня березень marca marzec mart"),
    (4, "апреля апрель апр квітня квітень kwietnia kwiecień kwiecien nisan"),
    (5, "мая май травня травень maja maj mayıs mayis"),
    (6, "июня июнь июн червня червень czerwca czerwiec haziran"),
    (7, "июля июль июл липня липень lipca lipiec temmuz"),
    (8, "августа август авг серпня серпень sierpnia sierpień sierpien ağustos agustos"),
    (9, "сентября сентябрь сен сент вересня вересень września wrzesnia wrzesień wrzesien "
        "eylül eylul"),
    (10, "октября октябрь окт жовтня жовтень października pazdziernika październik "
         "pazdziernik ekim"),
    (11, "ноября ноябрь ноя листопада листопад listopada listopad kasım kasim"),
    (12, "декабря декабрь дек грудня грудень grudnia grudzień grudzien aralık aralik"),
)
MONTHS: Final[dict[str, int]] = {
    name: month for month, names in (*_MONTH_NAMES, *_MORE_MONTH_NAMES)
    for name in names.split()
}
# English month names that are everyday words; lower-case and without a year they are prose.
WORDLIKE_MONTHS: Final = frozenset({"may", "march", "mar"})

WEEKDAYS: Final = frozenset(
    "monday mon tuesday tue tues wednesday wed thursday thu thur thurs friday fri saturday sat "
    "sunday sun montag dienstag mittwoch donnerstag freitag samstag sonntag lundi mardi "
    "mercredi jeudi vendredi samedi dimanche lunes martes miércoles miercoles jueves viernes "
    "sábado sabado domingo".split()
)

NUMBER_WORDS: Final[dict[str, int]] = {
    # English
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
    "a couple of": 2, "couple of": 2,
    # French
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10,
    # German
    "ein": 1, "eine": 1, "einer": 1, "einem": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4,
    "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    # Spanish, Italian, Portuguese
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "due": 2, "tre": 3, "quattro": 4, "cinque": 5,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3,
    # Dutch
    "een": 1, "twee": 2, "drie": 3,
    # Hindi
    "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "छह": 6, "सात": 7, "आठ": 8,
    "नौ": 9, "दस": 10,
}

SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR = (
    "second", "minute", "hour", "day", "week", "month", "year"
)


def _units(unit: str, words: str) -> dict[str, str]:
    return dict.fromkeys(words.split(), unit)


UNITS: Final[dict[str, str]] = {
    **_units(SECOND, "s sec secs second seconds seconde secondes sekunde sekunden sek segundo "
                     "segundos seg secondo secondi seconden सेकंड सेकेंड"),
    **_units(MINUTE, "m min mins minute minutes mn minuten minuto minutos minuti minuut मिनट"),
    **_units(HOUR, "h hr hrs hour hours heure heures stunde stunden std hora horas ora ore uur "
                   "घंटा घंटे घण्टा घण्टे"),
    **_units(DAY, "d day days jour jours j tag tage tagen día días dia dias giorno giorni dag "
                  "dagen दिन"),
    **_units(WEEK, "w wk wks week weeks semaine semaines woche wochen semana semanas settimana "
                   "settimane weken सप्ताह हफ्ता हफ्ते हफ़्ता हफ़्ते"),
    **_units(MONTH, "mo mos month months mois monat monate monaten mes meses mese mesi mês "
                    "maand maanden महीना महीने माह"),
    **_units(YEAR, "y yr yrs year years an ans année années jahr jahre jahren año años anno "
                   "anni ano anos jaar jaren साल वर्ष"),
}
# The forms accepted without "ago": listing labels such as "2h", "15m", "3d".
SHORT_UNITS: Final[dict[str, str]] = {
    **_units(MINUTE, "m min mins"),
    **_units(HOUR, "h hr hrs"),
    **_units(DAY, "d"),
    **_units(WEEK, "w wk"),
}

# Arabic counts agree with the noun: the singular means one, the dual two, and a plural
# needs a number ("منذ ساعة", "منذ ساعتين", "منذ 3 ساعات"; 11 and up take the singular).
ARABIC_UNITS: Final[dict[str, tuple[str, int | None]]] = {
    "ثانية": (SECOND, 1), "ثوان": (SECOND, None), "ثواني": (SECOND, None), "ثانيتين": (SECOND, 2),
    "دقيقة": (MINUTE, 1), "دقائق": (MINUTE, None), "دقيقتين": (MINUTE, 2),
    "ساعة": (HOUR, 1), "ساعات": (HOUR, None), "ساعتين": (HOUR, 2),
    "يوم": (DAY, 1), "أيام": (DAY, None), "ايام": (DAY, None), "يومين": (DAY, 2),
    "أسبوع": (WEEK, 1), "اسبوع": (WEEK, 1), "أسابيع": (WEEK, None), "اسابيع": (WEEK, None),
    "أسبوعين": (WEEK, 2), "اسبوعين": (WEEK, 2),
    "شهر": (MONTH, 1), "أشهر": (MONTH, None), "اشهر": (MONTH, None), "شهور": (MONTH, None),
    "شهرين": (MONTH, 2),
    "سنة": (YEAR, 1), "سنوات": (YEAR, None), "سنتين": (YEAR, 2), "عام": (YEAR, 1),
    "أعوام": (YEAR, None), "اعوام": (YEAR, None), "عامين": (YEAR, 2),
}

AGO_AFTER: Final = ("ago", "back", "fa", "geleden", "पहले", "पूर्व")
AGO_BEFORE: Final = ("il y a", "vor", "hace", "há")
AR_AGO: Final = ("منذ", "قبل")

# Phrases meaning "now"; the value says whether the label is precise to the second.
NOW_PHRASES: Final[dict[str, str]] = {
    "a few seconds ago": SECOND, "few seconds ago": SECOND, "seconds ago": SECOND,
    "il y a quelques secondes": SECOND, "vor wenigen sekunden": SECOND,
    "hace unos segundos": SECOND, "pochi secondi fa": SECOND, "कुछ सेकंड पहले": SECOND,
    "just now": MINUTE, "moments ago": MINUTE, "a moment ago": MINUTE, "moment ago": MINUTE,
    "à l'instant": MINUTE, "a l'instant": MINUTE, "gerade eben": MINUTE, "soeben": MINUTE,
    "ahora mismo": MINUTE, "hace un momento": MINUTE, "hace instantes": MINUTE,
    "há instantes": MINUTE, "agora mesmo": MINUTE, "अभी अभी": MINUTE, "منذ لحظات": MINUTE,
}

# Day words and how many days back they point. "hier" is also German for "here", so it
# only counts with a time or as a label of its own (see WEAK_DAY_WORDS).
DAY_WORDS: Final[dict[str, int]] = {
    "today": 0, "heute": 0, "aujourd'hui": 0, "hoy": 0, "oggi": 0, "hoje": 0, "vandaag": 0,
    "आज": 0, "اليوم": 0,
    "yesterday": 1, "gestern": 1, "hier": 1, "ayer": 1, "ieri": 1, "ontem": 1,
    "gisteren": 1, "أمس": 1, "امس": 1,
}
WEAK_DAY_WORDS: Final = frozenset({"hier"})

# Words that sit in front of a timestamp as its label; a short form such as "2h" after one
# is still a label rather than prose.
LABEL_WORDS: Final = frozenset(
    "updated update upd published posted pub modified edited last first on at date time "
    "created released aktualisiert stand veröffentlicht publié jour actualizado actualización "
    "publicado aggiornato pubblicato".split()
)

CONNECTOR_WORDS: Final = ("at", "à", "a las", "a la", "um", "alle", "ore", "às", "om", "le",
                          "on", "de", "del")


def alternation(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, the longest first so that "hrs" wins over "h".

    Written as a trie, behind a look-ahead on the first letter: a flat alternation of a
    few hundred month, unit and zone names made every position of every string cost
    microseconds.
    """
    trie: dict[str, Any] = {}
    for word in set(words):
        if not word:
            continue
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    firsts = "".join(sorted({"\\s" if c == " " else re.escape(c) for c in trie}))
    return f"(?=[{firsts}]){_trie_pattern(trie)}"


def _trie_pattern(node: dict[str, Any]) -> str:
    branches = [
        (r"\s+" if char == " " else re.escape(char)) + _trie_pattern(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
