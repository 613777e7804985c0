"""Public entry point of the understanding layer: topics, countries and the story fingerprint.

Pure: the only I/O is reading the bundled (or given) TOML catalogs when a Classifier is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.clustering import make_signature
from bot.countries import CountryCatalog, read_countries, read_places
from bot.crosslang import NameReader, extract
from bot.morph import Morph, Tokens
from bot.topics import TopicCatalog, read_catalog


@dataclass(frozen=True, slots=True)
class Classification:
    topics: tuple[str, ...]  # slugs, best score first
    countries: tuple[str, ...]  # iso2 lower case, sorted
    matches: dict[str, tuple[str, ...]]  # slug or iso2 -> surface words/phrases that matched


@dataclass(frozen=True, slots=True)
class TopicInfo:
    slug: str
    name_ru: str
    name_en: str


class Classifier:
    def __init__(self, morph: Morph, topics: TopicCatalog, countries: CountryCatalog) -> None:
        self._morph = morph
        self._topics = topics
        self._countries = countries
        self._topic_infos = tuple(TopicInfo(d.slug, d.name_ru, d.name_en) for d in topics.defs)
        self._names = NameReader(morph.analyzer)

    @classmethod
    def load(
        cls,
        catalog_path: Path | None = None,
        *,
        countries_path: Path | None = None,
        places_path: Path | None = None,
        backend: str = "pymorphy",
    ) -> Classifier:
        """Build from the bundled catalogs (or the given TOML files); backend: pymorphy|snowball.

        Given only ``countries_path``, no bundled places are loaded (they name bundled countries)."""
        morph = Morph(backend)
        topics = TopicCatalog(read_catalog(catalog_path), morph)
        places = read_places(places_path) if places_path or countries_path is None else None
        countries = CountryCatalog(read_countries(countries_path), morph, places)
        return cls(morph, topics, countries)

    def tokenize(self, title: str, text: str) -> Tokens:
        # One token stream; punctuation is not a token, so a phrase could span the seam (harmless).
        return self._morph.tokens(f"{title}\n{text}")

    def classify(self, title: str, text: str) -> Classification:
        return self.classify_tokens(self.tokenize(title, text))

    def classify_tokens(self, toks: Tokens) -> Classification:
        found, spans = self._countries.detect_spans(toks)
        scores = self._topics.score(toks, country_count=len(found), countries=spans)
        matches: dict[str, tuple[str, ...]] = {s.slug: s.matched for s in scores}
        matches.update(found)
        return Classification(
            topics=tuple(s.slug for s in scores),
            countries=tuple(sorted(found)),
            matches=matches,
        )

    def signature(self, title: str, text: str) -> bytes:
        return make_signature(self.tokenize(title, text).norm)

    def analyze(self, title: str, text: str) -> tuple[Classification, bytes]:
        """classify() and signature() sharing one tokenization (what ingest needs)."""
        toks = self.tokenize(title, text)
        return self.classify_tokens(toks), make_signature(toks.norm)

    def evidence(self, title: str, text: str, found: Classification) -> frozenset[str]:
        """The article's language-independent story evidence (bot.crosslang)."""
        return extract(
            title,
            text,
            countries=found.countries,
            topics=found.topics,
            matches=found.matches,
            names=self._names,
        )

    @property
    def topics(self) -> tuple[TopicInfo, ...]:
        return self._topic_infos

    def country_name(self, iso2: str, lang: str) -> str:
        return self._countries.name(iso2, lang)

    @property
    def country_codes(self) -> tuple[str, ...]:
        return self._countries.codes

    @property
    def morph(self) -> Morph:
        return self._morph
