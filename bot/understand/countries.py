"""Country catalog (bot/data/countries.toml), place gazetteer (bot/data/places.toml) and country
detection in tokenized text.

All country and place phrases compete for tokens together, longest first: "Гвинея-Бисау" beats
"Гвинея", "Южный Судан" beats "Судан", "East Azerbaijan" (a province of Iran) beats "Azerbaijan",
a veto phrase ("state of Georgia") beats the bare name and tags nothing. One kept phrase is enough
to tag a country. A place stands for its country unless it is written in capitals (a dateline:
the agency's location, not where the story happens).

A country's name inside a place's name is not the country (names inside names): a capitalized
country adjective before a street word ("Грузинская улица", "Армянский переулок", "Болгарский
квартал", "Казахская ССР", "Armenian Quarter"), a street word before a capitalized adjective
("улица Грузинская") or before a country name in the nominative ("гостиница «Украина»"), and
"Большая/Малая/Новая/Little/New" before a name ("Большая Грузинская", "Little Armenia", "New
Mexico") drop that hit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.understand.morph import Morph, Tokens
from bot.understand.rules import (
    DOUBTFUL,
    PLACE,
    Hit,
    Rule,
    RuleIndex,
    Spans,
    compile_rule,
    resolve,
    surface_of,
)

_ADJ_ENDINGS = (("ский", "ско"), ("цкий", "цко"))
# Capitalized words after an ambiguous name that still mean the country ("Jordan King Abdullah").
_TITLE_WORDS = frozenset(
    {
        *("President", "King", "Prime", "Foreign", "Minister", "Ministry", "Government", "Army"),
        *("Parliament", "Embassy", "Defence", "Defense", "Interior", "State", "Crown", "National"),
        # Sentence openers: punctuation is not a token, so "in Georgia. The mission" looks adjacent.
        *("The", "A", "An", "In", "On", "At", "It", "Its", "This", "That", "These", "He", "She"),
        *("They", "We", "But", "And", "As", "For", "With"),
    }
)


# Words of a place name that hold a country adjective: after it ("Грузинская улица") or, for
# Russian street words, before it ("улица Грузинская"). Normalized at catalog load.
_STREET_WORDS_RU = (
    *("улица", "переулок", "квартал", "площадь", "бульвар", "проспект", "проезд", "набережная"),
    *("тупик", "шоссе", "ССР", "империя", "гостиница", "отель", "кинотеатр", "станция"),
)
_STREET_WORDS_EN = ("Street", "Quarter", "Square", "Avenue", "Lane", "Road", "Boulevard", "SSR")
_EN_STREETS = frozenset(_STREET_WORDS_EN)
_OPENERS = frozenset({"Большая", "Большой", "Малая", "Малый", "Новая", "Новый", "Little", "New"})


@dataclass(frozen=True, slots=True)
class CountryDef:
    iso2: str
    name_ru: str
    name_en: str


def read_countries(path: Path | None = None) -> dict:
    if path is None:
        text = resources.files("bot").joinpath("data/countries.toml").read_text(encoding="utf-8")
        return tomllib.loads(text)
    with path.open("rb") as fh:
        return tomllib.load(fh)


def read_places(path: Path | None = None) -> dict:
    if path is None:
        text = resources.files("bot").joinpath("data/places.toml").read_text(encoding="utf-8")
        return tomllib.loads(text)
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _case_forms(word: str) -> list[str]:
    """Likely case forms of a Russian place name the morphology may not know ("Куляб" -> "Кулябе").

    Unknown proper nouns get guessed lemmas that differ from form to form, so every form is
    compiled as its own phrase instead of trusting one lemma. No instrumental: the morphology
    reads "Уральском" as the adjective «уральский» (the Urals, Russia), not as Uralsk."""
    if not word or not ("А" <= word[0] <= "Я"):
        return [word]
    last, stem = word[-1], word[:-1]
    if last == "а":
        endings = [stem + e for e in ("ы", "и", "е", "у", "ой")]
    elif last == "я":
        endings = [stem + e for e in ("и", "е", "ю", "ей")]
    elif last == "ь":
        endings = [stem + e for e in ("я", "ю", "е", "и", "ью")]
    elif last == "й":
        endings = [stem + e for e in ("я", "ю", "е")]
    elif last in "ыи" and word[-2:-1] not in "аеиоуыэюя":
        endings = [stem + e for e in ("ах", "ам", "ами", "ов")]
    elif last in "аеиоуыэюя":
        endings = []
    else:
        endings = [word + e for e in ("а", "у", "е")]
    return [word, *endings]


def _place_phrases(phrase: str) -> list[str]:
    """The phrase and its variants with the last word in other cases (single nouns only)."""
    words = phrase.split(" ")
    last = words[-1]
    if last[:1].islower() or last.endswith(("ская", "ский", "цкая", "ое", "ая")) or last.isupper():
        return [phrase]
    parts = last.split("-")
    return [" ".join([*words[:-1], "-".join([*parts[:-1], f])]) for f in _case_forms(parts[-1])]


def _combining_forms(ru_words: list[str]) -> list[str]:
    """Compound-adjective first parts: "таджикский" -> "таджикско" (as in "таджикско-узбекские")."""
    out = []
    for word in ru_words:
        if " " in word or not word.islower():
            continue
        for ending, combining in _ADJ_ENDINGS:
            if word.endswith(ending):
                out.append(word[: -len(ending)] + combining)
    return out


class CountryCatalog:
    def __init__(self, data: dict, morph: Morph, places: dict | None = None) -> None:
        defs: list[CountryDef] = []
        rules: list[Rule] = []
        self._ambiguous: set[tuple[str, str]] = set()
        self._names: dict[int, bool] = {}  # id(rule) -> the rule is a capitalized name
        self._veto_of: dict[int, str] = {}  # id(veto rule) -> the country it is not
        for iso2, entry in data["countries"].items():
            if len(iso2) != 2 or not iso2.islower():
                raise ValueError(f"country key must be ISO 3166-1 alpha-2 lower case: {iso2!r}")
            ru_words, en_words = list(entry["ru"]), list(entry["en"])
            defs.append(CountryDef(iso2, ru_words[0], en_words[0]))
            phrases = ru_words + en_words + _combining_forms(ru_words)
            phrases += list(entry.get("combining", []))
            for phrase in dict.fromkeys(phrases):
                rule = compile_rule(morph, iso2, phrase, 1.0, cased=True)
                rules.append(rule)
                self._names[id(rule)] = phrase[:1].isupper()
            self._ambiguous.update((iso2, phrase) for phrase in entry.get("ambiguous", []))
            for phrase in entry.get("veto", []):
                rule = compile_rule(morph, "", phrase, 0.0, cased=True)
                rules.append(rule)
                self._veto_of[id(rule)] = iso2
        codes = {d.iso2 for d in defs}
        for iso2, entry in (places or {}).get("places", {}).items():
            if iso2 not in codes:
                raise ValueError(f"place list for an unknown country: {iso2!r}")
            ambiguous = set(entry.get("ambiguous", []))
            for written in [*entry.get("ru", []), *entry.get("en", [])]:
                flags = PLACE | (DOUBTFUL if written in ambiguous else 0)
                for phrase in dict.fromkeys(_place_phrases(written)):
                    rules.append(compile_rule(morph, iso2, phrase, 1.0, cased=True, flags=flags))
            for phrase in entry.get("veto", []):
                rules.append(compile_rule(morph, "", phrase, 0.0, cased=True))
        self._street_words = frozenset(morph.norm(w.lower()) for w in _STREET_WORDS_RU)
        self.defs = tuple(sorted(defs, key=lambda d: d.iso2))
        self._by_code = {d.iso2: d for d in self.defs}
        self.index = RuleIndex(rules)

    def detect_spans(self, toks: Tokens) -> tuple[dict[str, tuple[str, ...]], Spans]:
        """iso2 -> the surface phrases that named it, in order of appearance; and where the country
        names are (any kept name, doubtful ones included)."""
        found: dict[str, list[str]] = {}
        doubtful: dict[str, list[str]] = {}
        kept = resolve(self.index.find(toks))
        skipped: list[Hit] = []  # datelines and names inside place names: no country there
        streets = self._street_words
        norm, surface, n = toks.norm, toks.surface, len(toks)
        other_sense: set[str] | None = None
        for hit in kept:
            rule = hit.rule
            if not rule.key:
                continue
            if rule.flags & PLACE:
                if all(w.isupper() for w in toks.surface[hit.start : hit.end]):
                    skipped.append(hit)
                    continue  # a dateline ("OSH, March 3 (Kabar)"): the agency's location
                if rule.flags & DOUBTFUL:
                    doubtful.setdefault(rule.key, []).append(surface_of(toks, hit))
                    continue
            elif (
                toks.upper[hit.start]
                and (
                    (hit.end < n and (norm[hit.end] in streets or surface[hit.end] in _EN_STREETS))
                    or (
                        hit.start > 0
                        and (norm[hit.start - 1] in streets or surface[hit.start - 1] in _OPENERS)
                    )
                )
                and self._inside_a_place_name(toks, hit)
            ):
                skipped.append(hit)
                continue
            if (rule.key, rule.phrase) in self._ambiguous:
                if other_sense is None:
                    # One sense per text: where a veto shows that an ambiguous name means
                    # something else ("Michael Jordan", "state of Georgia"), its other bare
                    # uses are doubtful too.
                    veto_of = self._veto_of
                    other_sense = {veto_of.get(id(h.rule), "") for h in kept if not h.rule.key}
                if rule.key in other_sense or self._looks_like_a_name(toks, hit):
                    doubtful.setdefault(rule.key, []).append(surface_of(toks, hit))
                    continue
            words = found.setdefault(hit.rule.key, [])
            word = surface_of(toks, hit)
            if word not in words:
                words.append(word)
        for code, words in doubtful.items():
            if code in found:  # also named another way: the doubtful word was the country too
                found[code].extend(w for w in words if w not in found[code])
        named = [h for h in kept if h.rule.key and h not in skipped] if skipped else kept
        return {code: tuple(words) for code, words in found.items()}, Spans(named)

    def _inside_a_place_name(self, toks: Tokens, hit: Hit) -> bool:
        """The country's name is part of a street, district, hotel or historic state's name."""
        # Called only for a capitalized name next to a street word or an opener (detect_spans
        # checks that first: place names are capitalized, "на улицах грузинской столицы" stays).
        nxt, prev = hit.end, hit.start - 1
        is_name = self._names.get(id(hit.rule), True)
        if nxt < len(toks) and toks.surface[nxt] in _EN_STREETS:
            return True  # "Armenian Quarter", "Kazakh SSR" (English adjectives are capitalized)
        if not is_name and nxt < len(toks) and toks.norm[nxt] in self._street_words:
            return True  # "Грузинская улица", "Казахской ССР"
        if prev >= 0 and toks.surface[prev] in _OPENERS:
            return True  # "Большая Грузинская", "Little Armenia", "New Mexico"
        if prev >= 0 and toks.norm[prev] in self._street_words:
            # "улица Грузинская"; a name only in the nominative: "гостиница «Украина»", not
            # "улицы Украины".
            return not is_name or surface_of(toks, hit) == hit.rule.phrase
        return False

    @staticmethod
    def _looks_like_a_name(toks: Tokens, hit: Hit) -> bool:
        """Title-initial ("Turkey prices fall") or followed by a capitalized non-title word."""
        if hit.start == 0:
            return True
        nxt = hit.end
        return nxt < len(toks) and toks.upper[nxt] and toks.surface[nxt] not in _TITLE_WORDS

    def name(self, iso2: str, lang: str) -> str:
        country = self._by_code[iso2.lower()]
        return country.name_ru if lang.startswith("ru") else country.name_en

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.iso2 for d in self.defs)
