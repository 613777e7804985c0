"""Tokenizer and word normalizer (Russian lemmas or stems, English stems) for topic/country rules.

Two Russian back-ends exist so that they can be measured against each other (see
benchmarks/bench_classify.py): ``pymorphy`` (first-parse lemma, the default: proper nouns such as
«Беларусь/Беларуси», «Гвинея/Гвинеи», «Нигер/Нигерия» normalize consistently and apart) and
``snowball`` (Snowball stems: small and predictable for common words, but it merges «Грузия» with
«груз» and «Нигерия» with «Нигер» and splits «Гвинея»/«Гвинеи»). English always uses Snowball.
Both are slow per call, so every lower-case token is normalized once and kept in a bounded dict.
After a restart every word is new, so the pymorphy dict starts from the bundled lemma table
(bot.understand.lemmas: the rule catalogs' and sample feeds' words in all their forms, and
pymorphy3's own frequent ambiguous words), and a word met for the first time skips most of
pymorphy3's analysis: the lemma of a dictionary word is built for its most probable parse only
(_first_normal_form). Both give the lemmas of the full analysis
(tests/understand/test_cold_equivalence.py, tests/understand/test_lemma_table.py).
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


def is_cyrillic(word: str) -> bool:
    ch = word[0]
    return "а" <= ch <= "я" or ch == "ё"


def _pymorphy_normalizer() -> Callable[[str], str]:
    import pymorphy3

    analyzer = pymorphy3.MorphAnalyzer()

    def lemma(word: str) -> str:
        parses = analyzer.parse(word)
        return parses[0].normal_form.replace("ё", "е") if parses else word

    fast = _first_normal_form(analyzer, lemma)
    fast.analyzer = analyzer  # type: ignore[attr-defined]  # shared: bot.understand.crosslang reads names
    fast.full = lemma  # type: ignore[attr-defined]  # the whole analysis, kept to check fast against
    return fast


def _first_normal_form(analyzer, full: Callable[[str], str]) -> Callable[[str], str]:
    """``full`` (the normal form of pymorphy3's first parse) without building every parse.

    A word the dictionary knows is parsed by the dictionary alone (the first, terminal unit group:
    the other two units of that group read single capital letters, and words arrive lower-case),
    and its parses are then ordered by P(tag|word), stably, highest first — or kept in dictionary
    order when no parse has a probability. So the first parse is the first one of highest
    probability, and only its normal form is needed. Words the dictionary does not know, and
    analyzers set up otherwise, go through ``full``.
    """
    from pymorphy3.units.abbreviations import _InitialsAnalyzer
    from pymorphy3.units.by_lookup import DictionaryAnalyzer

    units = list(getattr(analyzer, "_units", ()))
    group = []  # the units tried before the first terminal one, that one included
    for unit, terminal in units:
        group.append(unit)
        if terminal:
            break
    if not (
        group
        and type(group[0]) is DictionaryAnalyzer
        and all(isinstance(u, _InitialsAnalyzer) for u in group[1:])
    ):
        return full  # not the group this shortcut knows: analyse fully
    estimator = getattr(analyzer, "prob_estimator", None)
    dictionary = analyzer.dictionary
    similar_items = dictionary.words.similar_items
    exact = dictionary.words.get
    substitutes = analyzer.char_substitutes
    replaceable = [key.decode() for key in substitutes or ()] or ["\x00"]
    # Characters the dictionary may spell otherwise ("е" for "ё"): only words holding one need
    # the slower lookup that tries the substitutes.
    replaceable = re.compile("[" + "".join(map(re.escape, replaceable)) + "]").search
    tag_of = dictionary.build_tag_info
    normal_form = dictionary.build_normal_form
    # P(t|w) as its stored integer (ProbabilityEstimator divides it by a constant: same order).
    weight = estimator.p_t_given_w.get if estimator is not None else None

    def lemma(word: str) -> str:
        if len(word) < 2:
            return full(word)
        if replaceable(word):
            items = similar_items(word, substitutes)
        else:
            values = exact(word)
            items = [(word, values)] if values else ()
        if not items:
            return full(word)
        fixed, parses = items[0]
        if len(items) == 1 and len(parses) == 1:  # one parse: first whatever its probability
            para_id, idx = parses[0]
            return normal_form(para_id, idx, fixed).replace("ё", "е")
        chosen = None
        best = 0
        for fixed, parses in items:
            for para_id, idx in parses:
                if chosen is None:
                    chosen = (para_id, idx, fixed)
                if weight is not None:
                    p = weight(f"{word}:{tag_of(para_id, idx)}", 0)
                    if p > best:
                        best, chosen = p, (para_id, idx, fixed)
        if chosen is None:
            return full(word)
        return normal_form(*chosen).replace("ё", "е")

    return lemma


def _snowball_normalizer(language: str) -> Callable[[str], str]:
    stemmer = snowballstemmer.stemmer(language)
    if hasattr(stemmer, "maxCacheSize"):
        # PyStemmer's own cache would be a second one behind Morph's: it only makes each new
        # word dearer to stem (about 2.5×) and holds memory.
        stemmer.maxCacheSize = 0
    return stemmer.stemWord


class Morph:
    """Normalizes lower-case words: Cyrillic through the Russian back-end, the rest through English."""

    def __init__(self, backend: str = "pymorphy", *, warm: bool = True) -> None:
        """``warm``: start the pymorphy cache from the bundled lemma table (bot.understand.lemmas)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown morphology backend {backend!r}; choose one of {BACKENDS}")
        self.backend = backend
        self._ru = (
            _pymorphy_normalizer() if backend == "pymorphy" else _snowball_normalizer("russian")
        )
        self._en = _snowball_normalizer("english")
        # The pymorphy3 analyzer (None with snowball): tells names from common words.
        self.analyzer = getattr(self._ru, "analyzer", None)
        # pymorphy3's whole analysis of a Russian word (None with snowball): the reference the
        # shortcut and the bundled table are checked against.
        self.full_lemma: Callable[[str], str] | None = getattr(self._ru, "full", None)
        self._seed: dict[str, str] = {}
        if warm and self.analyzer is not None:
            from bot.understand import lemmas  # it reads this module's tokenizer

            self._seed = lemmas.bundled(lemmas.stamp(self.analyzer))
        self._cache: dict[str, str] = dict(self._seed)

    def norm(self, word: str) -> str:
        """Normalized key of one lower-case word (cached)."""
        key = self._cache.get(word)
        if key is None:
            key = self._ru(word) if is_cyrillic(word) else self._en(word)
            if len(self._cache) >= _CACHE_LIMIT:
                log.debug("morph cache reached %d entries; clearing", _CACHE_LIMIT)
                self._cache.clear()
                self._cache.update(self._seed)
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
