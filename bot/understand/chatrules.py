"""Personal keyword rules of a chat (/rule): parse the operator's terms, match articles (pure).

A rule is words (any word form: each goes through the same morphology as the archive's search
terms), "quoted phrases" (those lemmas adjacent and in order), -exclusions and @country limits
(any of the tagged countries). Every word and phrase must occur; no exclusion may. Parsing is a
hand-written scan with hard length limits — no user text ever becomes a regular expression.

Matching works on an article's normalized token sequence (its `article_search.terms`, stored
once at ingest). `RuleIndex` keys each rule by one of its required lemmas, so matching a pool
costs one dict lookup per distinct lemma of each article plus a check of the few candidates.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain import MAX_RULES, StoredRule
from bot.understand.morph import Morph

__all__ = ["MAX_RULES", "ChatRule", "RuleError", "RuleIndex", "RuleSpec", "parse_rule"]

MAX_TERMS = 10  # per rule: words, phrases, exclusions and countries together
MAX_TERM_CHARS = 50
MAX_TEXT_CHARS = 800  # a 10,000-character "rule" is refused before it is scanned
MAX_PHRASE_WORDS = 8
_QUOTES = {'"': '"', "«": "»", "“": "”", "„": "“"}
_SPACE = " \t\n\r\u00a0"


class RuleError(ValueError):
    """An unacceptable rule; `code` names the locale text (rules.err_<code>), `values` fill it."""

    def __init__(self, code: str, /, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A parsed rule: lemma sequences (a word is a sequence of one), exclusions, countries."""

    text: str  # canonical form, shown to people and used as the section name
    required: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...] = ()
    countries: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {"r": self.required, "x": self.excluded, "c": self.countries}, ensure_ascii=False
        )

    @classmethod
    def from_json(cls, text: str, data: str) -> RuleSpec:
        raw = json.loads(data)
        return cls(
            text=text,
            required=tuple(tuple(s) for s in raw["r"]),
            excluded=tuple(tuple(s) for s in raw.get("x", ())),
            countries=tuple(raw.get("c", ())),
        )

    def matches(self, seq: Sequence[str], lemmas: frozenset[str] | set[str], countries) -> bool:
        """`seq`: the article's normalized tokens; `lemmas`: set(seq); `countries`: its tags."""
        if self.countries and not any(c in countries for c in self.countries):
            return False
        for need in self.required:
            if not _contains(seq, lemmas, need):
                return False
        return not any(_contains(seq, lemmas, bad) for bad in self.excluded)


@dataclass(frozen=True, slots=True)
class ChatRule:
    """A stored rule of one chat."""

    id: int
    chat_id: int
    spec: RuleSpec

    @property
    def text(self) -> str:
        return self.spec.text

    @classmethod
    def from_stored(cls, stored: StoredRule) -> ChatRule:
        return cls(stored.id, stored.chat_id, RuleSpec.from_json(stored.text, stored.spec))


def _contains(seq: Sequence[str], lemmas: frozenset[str] | set[str], need: tuple[str, ...]) -> bool:
    if len(need) == 1:
        return need[0] in lemmas
    if not all(w in lemmas for w in need):
        return False
    first, n = need[0], len(need)
    start = 0
    while True:
        try:
            i = seq.index(first, start)
        except ValueError:
            return False
        if tuple(seq[i : i + n]) == need:
            return True
        start = i + 1


def _split(text: str) -> list[tuple[str, str]]:
    """(kind, raw) terms: kind is 'word', 'phrase', 'not', 'notphrase' or 'country'."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        negate = ch == "-" and i + 1 < n and text[i + 1] not in _SPACE
        j = i + 1 if negate else i
        if text[j] in _QUOTES:
            close = _QUOTES[text[j]]
            end = text.find(close, j + 1)
            if end < 0:
                raise RuleError("quote")
            out.append(("notphrase" if negate else "phrase", text[j + 1 : end]))
            i = end + 1
            continue
        end = j
        while end < n and text[end] not in _SPACE and text[end] not in _QUOTES:
            end += 1
        raw = text[j:end]
        if negate:
            out.append(("not", raw))
        elif raw.startswith("@"):
            out.append(("country", raw[1:]))
        else:
            out.append(("word", raw))
        i = end
    return out


def parse_rule(morph: Morph, text: str, country_codes: Iterable[str]) -> RuleSpec:
    """The rule in `text`, or RuleError saying what to fix."""
    if len(text) > MAX_TEXT_CHARS:
        raise RuleError("too_long", limit=MAX_TEXT_CHARS)
    for ch in text:
        if ch not in _SPACE and unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            raise RuleError("control")
    terms = _split(text)
    if not terms:
        raise RuleError("empty")
    if len(terms) > MAX_TERMS:
        raise RuleError("too_many_terms", limit=MAX_TERMS)
    known = set(country_codes)
    required: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    countries: list[str] = []
    shown: list[str] = []
    for kind, raw in terms:
        raw = " ".join(raw.split())
        if len(raw) > MAX_TERM_CHARS:
            raise RuleError("term_too_long", limit=MAX_TERM_CHARS)
        if kind == "country":
            code = raw.lower()
            if code not in known:
                raise RuleError("country", value=code[:MAX_TERM_CHARS] or "@")
            if code not in countries:
                countries.append(code)
                shown.append("@" + code)
            continue
        toks = morph.tokens(raw)
        lemmas = tuple(toks.norm)
        if not lemmas:
            raise RuleError("no_letters", term=raw or '""')
        if len(lemmas) > MAX_PHRASE_WORDS:
            raise RuleError("phrase_too_long", limit=MAX_PHRASE_WORDS)
        surface = " ".join(w.lower() for w in toks.surface)
        quoted = kind in ("phrase", "notphrase") or len(lemmas) > 1
        label = f'"{surface}"' if quoted else surface
        target = excluded if kind in ("not", "notphrase") else required
        if lemmas in target:
            continue
        target.append(lemmas)
        shown.append(("-" + label) if target is excluded else label)
    if not required:
        raise RuleError("no_words")
    return RuleSpec(" ".join(shown), tuple(required), tuple(excluded), tuple(countries))


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule prepared for set arithmetic over a pool's postings."""

    id: int
    spec: RuleSpec
    words: tuple[str, ...]  # every lemma the rule requires (phrases too: a necessary condition)
    phrases: tuple[str, ...]  # required sequences of two words or more, as " a b "
    not_words: tuple[str, ...]
    not_phrases: tuple[str, ...]


def _compile(rule: ChatRule) -> _Compiled:
    spec = rule.spec
    words = tuple(dict.fromkeys(w for need in spec.required for w in need))
    return _Compiled(
        rule.id,
        spec,
        words,
        tuple(_padded(n) for n in spec.required if len(n) > 1),
        tuple(n[0] for n in spec.excluded if len(n) == 1),
        tuple(_padded(n) for n in spec.excluded if len(n) > 1),
    )


def _padded(lemmas: Sequence[str]) -> str:
    """Space-joined lemmas between spaces: adjacency in order is then a substring test."""
    return " " + " ".join(lemmas) + " "


class RuleIndex:
    """Many chats' rules, matched against a pool of articles at once.

    A pool is turned into postings (lemma → ids of the articles holding it, only for lemmas some
    rule mentions), then each rule is a few C-level set operations: the intersection of its
    words' postings, minus its exclusions', within its countries'. Only phrase rules look at
    token order, and only for the articles the sets left.
    """

    def __init__(self, rules: Iterable[ChatRule]) -> None:
        self.rules = [_compile(r) for r in rules]
        self.count = len(self.rules)
        self.lemmas = frozenset(
            w
            for r in self.rules
            for w in (*r.words, *r.not_words)  # excluded phrases are checked on the text
        )

    def match(self, seq: Sequence[str], countries: Sequence[str] = ()) -> list[int]:
        """Ids of the rules one article (normalized tokens, country tags) matches."""
        return sorted(self.match_all({0: " ".join(seq)}, {0: countries}))

    def match_all(
        self, terms: Mapping[int, str], countries_of: Mapping[int, Sequence[str]]
    ) -> dict[int, list[int]]:
        """{rule id: matching article ids, ascending} over articles given as {id: space-joined
        terms} (bot.understand.searchterms.index_terms) and their country tags."""
        hits: dict[int, list[int]] = {}
        if not self.count or not terms:
            return hits
        wanted = self.lemmas
        postings: dict[str, set[int]] = {}
        for article_id, text in terms.items():
            for lemma in wanted.intersection(text.split()):
                found = postings.get(lemma)
                if found is None:
                    postings[lemma] = {article_id}
                else:
                    found.add(article_id)
        by_country: dict[str, set[int]] = {}
        for article_id, codes in countries_of.items():
            if article_id in terms:
                for code in codes:
                    by_country.setdefault(code, set()).add(article_id)
        empty: set[int] = set()
        padded: dict[int, str] = {}
        for rule in self.rules:
            sets = sorted((postings.get(w, empty) for w in rule.words), key=len)
            if not sets[0]:
                continue
            found = sets[0].intersection(*sets[1:])
            if found and rule.spec.countries:
                found &= set().union(*(by_country.get(c, empty) for c in rule.spec.countries))
            for word in rule.not_words:
                if found:
                    found -= postings.get(word, empty)
            if found and (rule.phrases or rule.not_phrases):
                found = {i for i in found if _order_ok(rule, _text(padded, terms, i))}
            if found:
                hits[rule.id] = sorted(found)
        return hits


def _text(cache: dict[int, str], terms: Mapping[int, str], article_id: int) -> str:
    text = cache.get(article_id)
    if text is None:
        text = cache[article_id] = " " + " ".join(terms[article_id].split()) + " "
    return text


def _order_ok(rule: _Compiled, text: str) -> bool:
    """`text`: the article's terms as " a b c " (single spaces)."""
    if not all(p in text for p in rule.phrases):
        return False
    return not any(p in text for p in rule.not_phrases)
