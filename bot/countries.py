"""Country catalog (bot/data/countries.toml) and country detection in tokenized text.

All country phrases compete for tokens together, longest first: "Гвинея-Бисау" beats "Гвинея",
"Южный Судан" beats "Судан", a veto phrase ("state of Georgia") beats the bare name and tags
nothing. One kept phrase is enough to tag a country.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.morph import Morph, Tokens
from bot.rules import Hit, Rule, RuleIndex, Spans, compile_rule, resolve, surface_of

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
    def __init__(self, data: dict, morph: Morph) -> None:
        defs: list[CountryDef] = []
        rules: list[Rule] = []
        self._ambiguous: set[tuple[str, str]] = set()
        for iso2, entry in data["countries"].items():
            if len(iso2) != 2 or not iso2.islower():
                raise ValueError(f"country key must be ISO 3166-1 alpha-2 lower case: {iso2!r}")
            ru_words, en_words = list(entry["ru"]), list(entry["en"])
            defs.append(CountryDef(iso2, ru_words[0], en_words[0]))
            phrases = ru_words + en_words + _combining_forms(ru_words)
            phrases += list(entry.get("combining", []))
            for phrase in dict.fromkeys(phrases):
                rules.append(compile_rule(morph, iso2, phrase, 1.0, cased=True))
            self._ambiguous.update((iso2, phrase) for phrase in entry.get("ambiguous", []))
            for phrase in entry.get("veto", []):
                rules.append(compile_rule(morph, "", phrase, 0.0, cased=True))
        self.defs = tuple(sorted(defs, key=lambda d: d.iso2))
        self._by_code = {d.iso2: d for d in self.defs}
        self.index = RuleIndex(rules)

    def detect(self, toks: Tokens) -> dict[str, tuple[str, ...]]:
        """iso2 -> the surface phrases that named it, in order of appearance."""
        return self.detect_spans(toks)[0]

    def detect_spans(self, toks: Tokens) -> tuple[dict[str, tuple[str, ...]], Spans]:
        """detect() and where the country names are (any kept name, doubtful ones included)."""
        found: dict[str, list[str]] = {}
        named: list[Hit] = []
        doubtful: dict[str, list[str]] = {}
        for hit in resolve(self.index.find(toks)):
            if not hit.rule.key:
                continue
            named.append(hit)
            if (hit.rule.key, hit.rule.phrase) in self._ambiguous and self._looks_like_a_name(
                toks, hit
            ):
                doubtful.setdefault(hit.rule.key, []).append(surface_of(toks, hit))
                continue
            words = found.setdefault(hit.rule.key, [])
            word = surface_of(toks, hit)
            if word not in words:
                words.append(word)
        for code, words in doubtful.items():
            if code in found:  # also named another way: the doubtful word was the country too
                found[code].extend(w for w in words if w not in found[code])
        return {code: tuple(words) for code, words in found.items()}, Spans.of(named)

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
