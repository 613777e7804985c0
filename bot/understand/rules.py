"""Phrase rules over normalized tokens: compile catalog phrases, find them, resolve overlaps.

A phrase matches consecutive tokens only. Each phrase token is matched in one of three modes:
an ALL-CAPS token (ООН, UN, G20) matches the same surface exactly, with case, as a whole word;
a capitalized token in a "cased" catalog (country names) matches the same normalized word that
also starts upper-case in the text ("Turkey" but not "turkey"); any other token matches the
normalized word (lemma or stem) in any case and number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from bot.understand.morph import WORD_RE, Morph, Tokens

NORM, UPPER, EXACT = 0, 1, 2


# Rule.flags: what a catalog knows about a rule beyond its phrase (tested with `&`).
PAIRED = 1  # topics: counts only when the text names exactly two countries
BODY = 2  # topics: a generic body name that may belong to another owner
AMBIGUOUS = 4  # topics: its words also occur in a negative phrase of the topic
PLACE = 8  # countries: a place of the gazetteer, not the country's own name
DOUBTFUL = 16  # countries: an ambiguous place name


# eq=False: rules are compared and hashed by identity; scoring counts hits per rule, and hashing
# the phrase tuples each time would cost more than the matching.
@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    key: str  # topic slug or iso2; "" for a veto phrase that only blocks shorter matches
    weight: float  # < 0 for a negative term
    phrase: str  # as written in the catalog
    modes: tuple[int, ...]
    values: tuple[str, ...]
    flags: int = 0

    @property
    def length(self) -> int:
        return len(self.values)


# A named tuple, not a frozen dataclass: a text makes hundreds of hits, and a frozen dataclass's
# __init__ (object.__setattr__ per field) costs several times a tuple's.
class Hit(NamedTuple):
    start: int
    end: int
    rule: Rule


class Spans:
    """Where kept hits of another catalog start and end (token positions; ``ends`` holds each
    hit's last token; veto hits, with no key, are left out). The sets are built on first use:
    most texts never ask."""

    __slots__ = ("_ends", "_hits", "_starts")

    def __init__(self, hits: Iterable[Hit]) -> None:
        self._hits = hits
        self._starts: frozenset[int] | None = None
        self._ends: frozenset[int] | None = None

    @property
    def starts(self) -> frozenset[int]:
        if self._starts is None:
            self._starts = frozenset(h.start for h in self._hits if h.rule.key)
        return self._starts

    @property
    def ends(self) -> frozenset[int]:
        if self._ends is None:
            self._ends = frozenset(h.end - 1 for h in self._hits if h.rule.key)
        return self._ends


EMPTY_SPANS = Spans(())


def compile_rule(
    morph: Morph, key: str, phrase: str, weight: float, cased: bool, flags: int = 0
) -> Rule:
    words = WORD_RE.findall(phrase.replace("ё", "е").replace("Ё", "Е"))
    if not words:
        raise ValueError(f"empty phrase for {key!r}")
    modes: list[int] = []
    values: list[str] = []
    for word in words:
        if word.isupper() and (len(word) > 1 or len(words) > 1):
            modes.append(EXACT)
            values.append(word)
        else:
            modes.append(UPPER if cased and word[0].isupper() else NORM)
            values.append(morph.norm(word.lower()))
    return Rule(key, float(weight), phrase, tuple(modes), tuple(values), flags)


class RuleIndex:
    """Rules indexed by their first token (normalized or exact surface)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        by_norm: dict[str, list[_Entry]] = defaultdict(list)
        by_surface: dict[str, list[_Entry]] = defaultdict(list)
        self.size = 0
        for rule in rules:
            index = by_surface if rule.modes[0] == EXACT else by_norm
            index[rule.values[0]].append(_entry(rule))
            self.size += 1
        self._by_norm = dict(by_norm)
        self._by_surface = dict(by_surface)
        self._norm_keys = frozenset(self._by_norm)
        self._surface_keys = frozenset(self._by_surface)

    def find(self, toks: Tokens) -> list[Hit]:
        hits: list[Hit] = []
        norm, surface, upper = toks.norm, toks.surface, toks.upper
        n = len(norm)
        # Most words start no rule: find the few that do in C (a set intersection) and visit only
        # their positions, in text order (norm keys first, then surface keys, as always); at each,
        # the rules of that first token in index order (ties in resolve() keep the first).
        for keys, index, words in (
            (self._norm_keys, self._by_norm, norm),
            (self._surface_keys, self._by_surface, surface),
        ):
            common = keys.intersection(words)
            if not common:
                continue
            if len(common) == 1:
                # One key (the usual case): its positions by tuple.index, in C, not a Python
                # loop over every word.
                (word,) = common
                positions = [i := words.index(word)]
                while True:
                    try:
                        positions.append(i := words.index(word, i + 1))
                    except ValueError:
                        break
            else:
                positions = [i for i, word in enumerate(words) if word in common]
            for i in positions:
                # The first token already matched the index key (its normalized word or exact
                # surface); only an UPPER first token still needs its case checked.
                for rule, size, cased, rest in index[words[i]]:
                    if cased and not upper[i]:
                        continue
                    end = i + size
                    if rest:
                        if end > n:
                            continue
                        for k, mode, value in rest:
                            k += i
                            if mode == EXACT:
                                if surface[k] != value:
                                    break
                            elif norm[k] != value or (mode == UPPER and not upper[k]):
                                break
                        else:
                            hits.append(Hit(i, end, rule))
                    else:
                        hits.append(Hit(i, end, rule))
        return hits


# A rule as find() reads it: the rule, its length, whether its first token must start upper-case,
# and (offset, mode, value) for each further token. Unpacked once at load, not per text.
_Entry = tuple[Rule, int, bool, tuple[tuple[int, int, str], ...]]


def _entry(rule: Rule) -> _Entry:
    rest = tuple((j, rule.modes[j], rule.values[j]) for j in range(1, rule.length))
    return rule, rule.length, rule.modes[0] == UPPER, rest


def resolve(hits: list[Hit]) -> list[Hit]:
    """Longest match wins: keep hits whose tokens no longer (or earlier) hit already took."""
    if len(hits) < 2:  # most topics of a text have one hit: nothing to compete with
        return list(hits)
    taken: set[int] = set()
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        span = range(hit.start, hit.end)
        if taken.isdisjoint(span):
            taken.update(span)
            kept.append(hit)
    kept.sort(key=lambda h: h.start)
    return kept


def surface_of(toks: Tokens, hit: Hit) -> str:
    return " ".join(toks.surface[hit.start : hit.end])
