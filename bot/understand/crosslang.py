"""Language-independent story evidence: what a Russian and an English telling of one story share.

The word-set fingerprint (bot.understand.clustering) cannot join two languages: «переговоры» and "talks"
share no word. What survives translation is kept here as a small set of items, each `kind:value`:

- ``c:`` countries and ``t:`` topics (organisations are topics) as the classifier tagged them;
- ``n:`` numbers, normalized: «1 500», "1,500" and «1,5 тыс.» are all ``n:1500``; «$1,2 млрд» and
  "$1.2 billion" are ``n:1200000000``; "16th" and «16-й» are ``n:16``. Years (1900–2100) name no
  particular story ("in 2025") and are left out; a number glued to a word by a hyphen
  ("Kambarata-1", «ГЭС-1») is part of a name;
- ``d:`` dates as month-day («21 февраля», "February 21", "21 Feb", «21.02», "21.02.2025",
  "2025-02-21" are all ``d:02-21``; "28-29 May" gives both days). The year is dropped because one
  version often omits it;
- ``p:`` named people and places, transliterated and reduced to a skeleton: Cyrillic through
  iuliia's Wikipedia schema (the romanization English-language news uses), then digraphs folded
  to one letter and the vowels after the first letter dropped, so «Токаевым» (lemma «токаев»,
  "Tokayev") and "Tokayev" are both ``p:tkv``, «Мирзиёев» and "Mirziyoyev" both ``p:mrzv``,
  «Касым-Жомарт» and "Kassym-Jomart" ``p:ksm`` and ``p:Jmrt``. A Cyrillic word counts only when the
  morphology reads it as a name, surname, patronymic, place or organisation, or does not know it
  («Президент», «Совет» are common nouns, capitalized or not); a Latin word counts when it is
  capitalized, not written in capitals (datelines, acronyms) and not one of the capitalized
  common words of English news (_EN_COMMON). Words the classifier already read as a country or
  an organisation are left to ``c:`` and ``t:``.

`similarity` is a weighted Jaccard index of two such sets (weights per kind: a shared name or
number says more than a shared country), and `cross_join` adds what a join needs beyond the
score: different languages, and at least two shared specific items (names, numbers, dates) so
that two stories with the same countries and topic on one day (two CIS councils in one city)
do not join on those alone. The threshold was set on tests/eval/story_pairs_xlang.jsonl (see
CROSS_THRESHOLD).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import iuliia

# Translations are published within hours of the original (BelTA, Kazinform, the MFA and UN
# News put out the English text the same or the next day); a longer gap is another story.
CROSS_LANGUAGE_WINDOW = timedelta(hours=36)

# Chosen on tests/eval/story_pairs_xlang.jsonl (benchmarks/eval_report.py prints every pair).
CROSS_THRESHOLD = 0.39
MIN_SHARED_SPECIFIC = 2

WEIGHTS = {"p": 3.0, "q": 1.0, "n": 2.0, "d": 2.0, "c": 1.0, "t": 1.0}
SPECIFIC = frozenset("pqnd")
# A translation names the countries its original names: two tellings whose country sets
# overlap less than this are two stories (the same president meeting two different guests).
MIN_COUNTRY_AGREEMENT = 0.5
# Topic slugs that are organisations: a meeting of one is not a meeting of another (the EAEU's
# council and the CIS's council in one city on one day).
ORGANISATION_TOPICS = frozenset(
    {"cis", "un", "osce", "eaeu", "csto", "sco", "brics", "eu", "nato", "g20"}
)
SMALL_NUMBER_WEIGHT = 1.0  # 1..10: "3 documents", "two diplomats" — said of many stories

_CYRILLIC_LANGS = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"})
_LETTER = re.compile(r"[^\W\d_]")


def detect_language(text: str, declared: str | None = None) -> str | None:
    """ "ru", "en" or the feed's declared language, by the script most letters of `text` use.

    The declared language (a feed's <language>, e.g. "ru-RU", "kk") wins when its script agrees
    with the text: an English feed of a Russian site may still declare "ru"."""
    primary = (declared or "").split("-")[0].split("_")[0].lower() or None
    cyrillic = latin = 0
    for ch in _LETTER.findall(text):
        if "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
        elif ch.isascii():
            latin += 1
    if not cyrillic and not latin:
        return primary
    if cyrillic >= latin:
        return primary if primary in _CYRILLIC_LANGS else "ru"
    return primary if primary and primary not in _CYRILLIC_LANGS else "en"


# -- dates

_RU_MONTHS = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("ма", 5), ("июн", 6), ("июл", 7),
    ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
)  # fmt: skip
_EN_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_RU_MONTH_RE = (
    r"(января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
)
_EN_MONTH_RE = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DASH = r"\s*[-–—]\s*"
_YEAR_TAIL = r"(?:,?\s+(?:19|20)\d\d(?:\s*(?:года|г\.|year))?)?"
_DATE_PATTERNS = (
    # 21 февраля, 28–29 мая, 21 February, 3 April 2025
    re.compile(
        rf"(?<!\d)(\d{{1,2}})(?:{_DASH}(\d{{1,2}}))?\s+(?:{_RU_MONTH_RE}|{_EN_MONTH_RE})(?![^\W\d_])"
        + _YEAR_TAIL
    ),
    # February 21, May 28-29, Feb. 21st, 2025
    re.compile(
        rf"(?<![^\W\d_]){_EN_MONTH_RE}\s+(\d{{1,2}})(?:{_DASH}(\d{{1,2}}))?(?:st|nd|rd|th)?(?!\d)"
        + _YEAR_TAIL
    ),
    # 2025-02-21
    re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)"),
    # 21.02.2025, 21.02 (a two-digit month: "1.5 million" is a number, not the 1st of May)
    re.compile(r"(?<![\d.,])(\d{1,2})\.(\d\d)(?:\.((?:19|20)?\d\d))?(?![\d.,]\d)"),
)


def _month_of(name: str) -> int:
    low = name.lower().rstrip(".")
    if low[0] < "а":
        return _EN_MONTHS[low[:3]]
    for stem, number in _RU_MONTHS:
        if low.startswith(stem):
            return number
    raise ValueError(name)


def _date_items(text: str) -> tuple[set[str], str]:
    """Dates as ``d:MM-DD`` items, and the text with them blanked out (for the numbers)."""
    found: set[str] = set()
    spans: list[tuple[int, int]] = []

    def keep(month: int, *days: str | None) -> bool:
        ok = False
        for day in days:
            if day is not None and 1 <= int(day) <= 31 and 1 <= month <= 12:
                found.add(f"d:{month:02d}-{int(day):02d}")
                ok = True
        return ok

    for index, pattern in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(text):
            if any(start < m.end() and m.start() < end for start, end in spans):
                continue
            if index == 0:
                ok = keep(_month_of(m.group(3) or m.group(4)), m.group(1), m.group(2))
            elif index == 1:
                ok = keep(_month_of(m.group(1)), m.group(2), m.group(3))
            elif index == 2:
                ok = keep(int(m.group(2)), m.group(3))
            else:
                ok = keep(int(m.group(2)), m.group(1))
            if ok:
                spans.append((m.start(), m.end()))
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return found, "".join(chars)


# -- numbers

_MAGNITUDES = (
    (re.compile(r"тыс|thousand", re.I), 3),
    (re.compile(r"млн|миллион|million|mln", re.I), 6),
    (re.compile(r"млрд|миллиард|billion|bln|bn", re.I), 9),
    (re.compile(r"трлн|триллион|trillion", re.I), 12),
)
_NUMBER = re.compile(
    r"(?<![\w.,\-–/])"
    r"(\d{1,3}(?:[ \u00a0\u202f\u2009,.]\d{3})+(?!\d)|\d+)"  # 1 500 / 1,500 / 1.500 / 1500
    r"(?:[.,](\d+))?"  # a decimal part: 1,5 / 1.5
    r"(?![.,]?\d)"
    r"(?:\s*(тыс|млн|млрд|трлн|миллиард|миллион|триллион|thousand|million|billion|trillion"
    r"|mln|bln|bn)[^\W\d_]*\.?)?"
)
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d\d(?!\d)")


def _number_items(text: str) -> set[str]:
    found: set[str] = set()
    for m in _NUMBER.finditer(_TIME.sub(" ", text)):
        whole, fraction, magnitude = m.group(1), m.group(2), m.group(3)
        digits = re.sub(r"\D", "", whole)
        try:
            value = Decimal(f"{digits}.{fraction}" if fraction else digits)
        except InvalidOperation:
            continue
        if magnitude:
            value *= Decimal(10) ** next(e for p, e in _MAGNITUDES if p.match(magnitude))
        elif fraction is None and 1900 <= value <= 2100:
            continue  # a year
        if value == 0:
            continue
        found.add(f"n:{_plain(value)}")
    return found


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- names

# Capitalized words of English news that are not names: function words that open a sentence or
# a headline, titles, the words of institutions' names, days and months.
_EN_COMMON_TEXT = """
    the a an and or but in on at of for to by with from as after before during according over
    under since while when where this that these those it its he she they we there here more
    most about also both all some other such than then new first last next two three
    president prime minister ministry minister's deputy foreign affairs chairman chairperson
    chair secretary general secretary-general head heads spokesman spokeswoman spokesperson
    ambassador ambassadors embassy envoy special representative office council assembly
    republic state states government parliament senate committee commission union
    organization organisation agency bank fund programme program forum summit conference
    session meeting congress national international federation federal peoples
    democratic cabinet ministers defence defense interior security executive supreme
    development economic cooperation world food women children human rights health
    day independence victory house palace hall north south east west northern southern eastern
    western central monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    mr mrs ms dr his her their our
    """
_EN_COMMON = frozenset(_EN_COMMON_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+")
_PROPER_GRAMMEMES = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad"})
_WEAK_GRAMMEMES = frozenset({"Name", "Patr", "Geox"})
_FOLDS = (
    ("shch", "S"), ("sch", "S"), ("dzh", "J"), ("tch", "C"), ("sh", "S"), ("ch", "C"),
    ("zh", "J"), ("kh", "h"), ("ts", "C"), ("tz", "C"), ("ph", "f"), ("ck", "k"), ("x", "ks"),
    ("q", "k"), ("c", "k"), ("w", "v"), ("dj", "J"), ("j", "J"),
)  # fmt: skip
_VOWELS = frozenset("aeiouy")
MIN_SKELETON = 3


@lru_cache(maxsize=50_000)
def skeleton(word: str) -> str:
    """A name's transliteration skeleton: Latin, digraphs folded, vowels after the first
    letter and doubled letters dropped ("Tokayev", «Токаев» → "tkv")."""
    latin = iuliia.WIKIPEDIA.translate(word) if not word.isascii() else word
    low = "".join(ch for ch in latin.lower() if ch.isascii() and ch.isalpha())
    if not low:
        return ""
    for pair, one in _FOLDS:
        low = low.replace(pair, one)
    out = [low[0]]
    for ch in low[1:]:
        if ch in _VOWELS or ch == out[-1]:
            continue
        out.append(ch)
    return "".join(out)


class NameReader:
    """Names in a text, through a Russian morphology analyzer (pymorphy3) when there is one."""

    def __init__(self, analyzer: object | None = None) -> None:
        self._analyzer = analyzer
        self._cache: dict[str, tuple[str, bool] | None] = {}

    def proper_lemma(self, word: str) -> tuple[str, bool] | None:
        """(lemma, weak) of a lower-case Cyrillic word when it is a name (or unknown), else None.

        weak: a first name, patronymic or place — shared by many stories (the same capital, a
        president's first name), so it counts for less than a surname or an unknown name.
        A singular reading is preferred: the analyzer reads «Байрамов», «Ятимов» first as the
        genitive plural of a first name, but in news such a word is a surname; with no
        singular reading the word itself is kept."""
        if word in self._cache:
            return self._cache[word]
        found: tuple[str, bool] | None = (word, False)
        analyzer = self._analyzer
        if analyzer is not None:
            parses = analyzer.parse(word)  # type: ignore[attr-defined]
            proper = [p for p in parses if _PROPER_GRAMMEMES & p.tag.grammemes]
            if not proper and analyzer.word_is_known(word):  # type: ignore[attr-defined]
                found = None  # a common word: «Президент», «Совет», «Генеральной»
            else:
                pick = next((p for p in proper or parses if "plur" not in p.tag.grammemes), None)
                if pick is None:
                    found = (word, False)
                else:
                    found = (pick.normal_form, bool(_WEAK_GRAMMEMES & pick.tag.grammemes))
        if len(self._cache) >= 50_000:
            self._cache.clear()
        self._cache[word] = found
        return found

    def names(self, text: str, skip: Iterable[str] = ()) -> set[str]:
        skipped = {w.casefold() for phrase in skip for w in _WORD.findall(phrase)}
        found: set[str] = set()
        for word in _WORD.findall(text):
            if not word[0].isupper() or (len(word) > 1 and word.isupper()):
                continue  # lower case, or capitals: a dateline, an agency tag, an acronym
            low = word.casefold()
            if low in skipped:
                continue
            if word.isascii():
                if low in _EN_COMMON:
                    continue
                key, kind = skeleton(low), "p"
            else:
                read = self.proper_lemma(low)
                if read is None:
                    continue
                key = skeleton(read[0])
                kind = "q" if read[1] else "p"
            if len(key) >= MIN_SKELETON:
                found.add(f"{kind}:{key}")
        return found


def extract(
    title: str,
    text: str,
    *,
    countries: Iterable[str] = (),
    topics: Iterable[str] = (),
    matches: Mapping[str, Iterable[str]] | None = None,
    names: NameReader | None = None,
) -> frozenset[str]:
    """The evidence items of one article (title and text), given what the classifier tagged."""
    body = f"{title}\n{text}"
    dates, rest = _date_items(body)
    items = {f"c:{c}" for c in countries} | {f"t:{t}" for t in topics} | dates
    items |= _number_items(rest)
    skip = [w for words in (matches or {}).values() for w in words]
    items |= (names or NameReader()).names(body, skip)
    return frozenset(items)


def encode(items: Iterable[str]) -> str:
    """Stored form: the items sorted, space-separated (none contains a space)."""
    return " ".join(sorted(items))


def decode(text: str | None) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def _weight(item: str) -> float:
    kind = item[0]
    if kind == "n" and _is_small(item):
        return SMALL_NUMBER_WEIGHT
    return WEIGHTS.get(kind, 1.0)


def _is_small(item: str) -> bool:
    try:
        return Decimal(item[2:]) <= 10
    except InvalidOperation:
        return False


@dataclass(frozen=True, slots=True)
class Match:
    score: float  # weighted Jaccard index of the two evidence sets
    specific: int  # shared names, numbers and dates
    countries: float  # Jaccard index of the countries (1.0 when either side names none)
    other_body: bool  # each names an organisation and none of them is the other's


def _split(items: frozenset[str]) -> tuple[dict[str, str], set[str]]:
    """Names by skeleton (a weak reading on the Russian side wins) and the other items."""
    names: dict[str, str] = {}
    rest: set[str] = set()
    for item in items:
        if item[0] in "pq":
            key = item[2:]
            names[key] = "q" if item[0] == "q" or names.get(key) == "q" else "p"
        else:
            rest.add(item)
    return names, rest


def compare(a: frozenset[str], b: frozenset[str]) -> Match:
    names_a, rest_a = _split(a)
    names_b, rest_b = _split(b)
    shared_names = names_a.keys() & names_b.keys()
    shared_rest = rest_a & rest_b
    shared = sum(map(_weight, shared_rest)) + sum(
        WEIGHTS["q" if "q" in (names_a[k], names_b[k]) else "p"] for k in shared_names
    )
    only = sum(map(_weight, rest_a ^ rest_b)) + sum(
        WEIGHTS[kind]
        for names, other in ((names_a, names_b), (names_b, names_a))
        for key, kind in names.items()
        if key not in other
    )
    total = shared + only
    specific = len(shared_names) + sum(1 for item in shared_rest if item[0] in SPECIFIC)
    countries_a = {i for i in rest_a if i[0] == "c"}
    countries_b = {i for i in rest_b if i[0] == "c"}
    country_index = (
        len(countries_a & countries_b) / len(countries_a | countries_b)
        if countries_a and countries_b
        else 1.0
    )
    bodies_a = {i for i in rest_a if i[2:] in ORGANISATION_TOPICS and i[0] == "t"}
    bodies_b = {i for i in rest_b if i[2:] in ORGANISATION_TOPICS and i[0] == "t"}
    other_body = bool(bodies_a and bodies_b and not bodies_a & bodies_b)
    return Match(shared / total if total else 0.0, specific, country_index, other_body)


def cross_join(a: frozenset[str], b: frozenset[str]) -> float | None:
    """The score when two articles in different languages tell one story, else None."""
    match = compare(a, b)
    if (
        match.specific < MIN_SHARED_SPECIFIC
        or match.countries < MIN_COUNTRY_AGREEMENT
        or match.other_body
        or match.score < CROSS_THRESHOLD
    ):
        return None
    return match.score
