"""Tokenizer and word normalizer (Russian lemmas or stems, English stems) for topic/country rules.

Two Russian back-ends exist so that they can be measured against each other (see
benchmarks/bench_classify.py): ``pymorphy`` (first-parse lemma, the default: proper nouns such as
«Беларусь/Беларуси», «Гвинея/Гвинеи», «Нигер/Нигерия» normalize consistently and apart) and
``snowball`` (Snowball stems: small and predictable for common words, but it merges «Грузия» with
«груз» and «Нигерия» with «Нигер» and splits «Гвинея»/«Гвинеи»). English always uses Snowball.
Both are slow per call, so every lower-case token is normalized once and kept in a bounded dict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import snowballstemmer

log = logging.getLogger(__name__)

# Letters and digits; hyphens, apostrophes and dots split words ("таджикско-узбекские" -> two tokens,
# "UN's" -> "UN", "s", "U.S." -> "U", "S").
WORD_RE = re.compile(r"[^\W_]+")
_CACHE_LIMIT = 200_000
BACKENDS = ("pymorphy", "snowball")


@dataclass(frozen=True, slots=True)
class Tokens:
    """Parallel views of one text: surface words, normalized keys and 'starts upper-case' flags."""

    surface: tuple[str, ...]
    norm: tuple[str, ...]
    upper: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.surface)


def _is_cyrillic(word: str) -> bool:
    ch = word[0]
    return "а" <= ch <= "я" or ch == "ё"


def _pymorphy_normalizer() -> Callable[[str], str]:
    import pymorphy3

    analyzer = pymorphy3.MorphAnalyzer()

    def lemma(word: str) -> str:
        parses = analyzer.parse(word)
        return parses[0].normal_form.replace("ё", "е") if parses else word

    lemma.analyzer = analyzer  # type: ignore[attr-defined]  # shared: bot.crosslang reads names
    return lemma


def _snowball_normalizer(language: str) -> Callable[[str], str]:
    return snowballstemmer.stemmer(language).stemWord


class Morph:
    """Normalizes lower-case words: Cyrillic through the Russian back-end, the rest through English."""

    def __init__(self, backend: str = "pymorphy") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown morphology backend {backend!r}; choose one of {BACKENDS}")
        self.backend = backend
        self._ru = (
            _pymorphy_normalizer() if backend == "pymorphy" else _snowball_normalizer("russian")
        )
        self._en = _snowball_normalizer("english")
        self._cache: dict[str, str] = {}
        # The pymorphy3 analyzer (None with snowball): tells names from common words.
        self.analyzer = getattr(self._ru, "analyzer", None)

    def norm(self, word: str) -> str:
        """Normalized key of one lower-case word (cached)."""
        key = self._cache.get(word)
        if key is None:
            key = self._ru(word) if _is_cyrillic(word) else self._en(word)
            if len(self._cache) >= _CACHE_LIMIT:
                log.debug("morph cache reached %d entries; clearing", _CACHE_LIMIT)
                self._cache.clear()
            self._cache[word] = key
        return key

    def tokens(self, text: str) -> Tokens:
        surface = tuple(WORD_RE.findall(text.replace("ё", "е").replace("Ё", "Е")))
        cache = self._cache
        norm = tuple([cache.get(w) or self.norm(w) for w in map(str.lower, surface)])
        upper = tuple([w[0].isupper() for w in surface])
        return Tokens(surface, norm, upper)

    @property
    def cache_size(self) -> int:
        return len(self._cache)
