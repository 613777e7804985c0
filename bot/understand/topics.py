"""Topic catalog (bot/data/topics.toml or an override file) and weighted-rule topic scoring.

Scoring, per topic: rules of that topic compete for tokens (longest phrase wins, so a negative
phrase such as "санкция суда" swallows the positive word inside it). Each kept term adds
``weight * min(1 + 0.5 * (count - 1), 2)`` (repetition helps, at most doubling). Kept negative
terms subtract their weights only when the text has no strong evidence for the topic: strong
evidence is kept unambiguous terms worth the threshold on their own, and a term is ambiguous when
its words also occur inside one of the topic's negative phrases ("migration" in "data migration",
"санкция" in "санкция суда") — the catalog itself says that word has another sense. So "cloud"
vetoes "migration" but not "migrant", and the Council of Europe does not cancel "Евросоюз". A topic
with ``two_country_bonus`` (visits and talks) gets
that bonus when some term matched and the text names exactly two countries. ``paired`` terms
("on the sidelines") exist only when the text names exactly two countries: otherwise they neither
score nor take tokens. The topic is assigned when the sum reaches ``threshold``.

``bodies`` are generic body names that other owners use too ("Совет Безопасности", "General
Assembly", "Содружество"): such a term counts only when no other owner is attached — a country
next to it ("Совет безопасности Казахстана", "Belarus's Security Council", "российский Совбез"),
an abbreviation or organisation noun after it ("Генассамблея ФИФА", "Генеральная ассамблея
Азиатской федерации", "general assembly of the Asian Football Confederation", "ассамблея
акционеров"). The organisation's own name next to it ("Совет Безопасности ООН") is not another
owner.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from bot.understand.morph import Morph, Tokens
from bot.understand.rules import (
    AMBIGUOUS,
    BODY,
    EMPTY_SPANS,
    PAIRED,
    Hit,
    Rule,
    RuleIndex,
    Spans,
    compile_rule,
    resolve,
    surface_of,
)

# Nouns that name an owner of a general assembly, council or commonwealth other than the
# organisation itself (normalized: pymorphy lemmas and English Snowball stems).
_OWNER_NOUNS = frozenset(
    {
        *("федерация", "ассоциация", "конфедерация", "акционер", "банк", "компания", "клуб"),
        *("лига", "общество", "фонд", "союз", "комитет", "партия", "университет", "палата"),
        *("интерпол", "нация", "корпорация", "биржа", "альянс"),
        *("feder", "associ", "confeder", "sharehold", "bank", "compani", "club", "leagu"),
        *("societi", "fund", "union", "committe", "parti", "univers", "chamber", "interpol"),
        *("nation", "corpor", "exchang", "allianc"),
    }
)
_LINKS = frozenset({"of", "the", "s"})


@dataclass(frozen=True, slots=True)
class TopicDef:
    slug: str
    name_ru: str
    name_en: str
    threshold: float
    two_country_bonus: float = 0.0


@dataclass(frozen=True, slots=True)
class TopicScore:
    slug: str
    score: float
    matched: tuple[str, ...]


def read_catalog(path: Path | None) -> dict:
    if path is None:
        return tomllib.loads(
            resources.files("bot").joinpath("data/topics.toml").read_text(encoding="utf-8")
        )
    with path.open("rb") as fh:
        return tomllib.load(fh)


class TopicCatalog:
    def __init__(self, data: dict, morph: Morph) -> None:
        self.defs: tuple[TopicDef, ...] = ()
        rules: list[Rule] = []
        defs: list[TopicDef] = []
        for entry in data.get("topic", []):
            slug = entry["slug"]
            if any(d.slug == slug for d in defs):
                raise ValueError(f"duplicate topic slug {slug!r}")
            defs.append(
                TopicDef(
                    slug,
                    entry["name_ru"],
                    entry["name_en"],
                    float(entry["threshold"]),
                    float(entry.get("two_country_bonus", 0.0)),
                )
            )
            for table in ("terms", "abbr"):
                for phrase, weight in entry.get(table, {}).items():
                    rules.append(compile_rule(morph, slug, phrase, weight, cased=False))
            for phrase, weight in entry.get("bodies", {}).items():
                rules.append(compile_rule(morph, slug, phrase, weight, cased=False, flags=BODY))
            for phrase, weight in entry.get("negative", {}).items():
                rules.append(compile_rule(morph, slug, phrase, -abs(weight), cased=False))
            for phrase, weight in entry.get("paired", {}).items():
                rules.append(
                    compile_rule(morph, slug, phrase, abs(weight), cased=False, flags=PAIRED)
                )
        ambiguous = _ambiguous_rules(rules)
        rules = [replace(r, flags=r.flags | AMBIGUOUS) if id(r) in ambiguous else r for r in rules]
        self.defs = tuple(defs)
        self._defs = {d.slug: d for d in defs}
        self.index = RuleIndex(rules)

    def score(
        self, toks: Tokens, country_count: int = 0, countries: Spans | None = None
    ) -> list[TopicScore]:
        """Topics that reach their threshold, best first; ``countries``: where countries are named."""
        by_slug: dict[str, list[Hit]] = defaultdict(list)
        skip = PAIRED if country_count != 2 else 0
        with_bodies: set[str] = set()
        for hit in self.index.find(toks):
            flags = hit.rule.flags
            if not flags & skip:
                by_slug[hit.rule.key].append(hit)
                if flags & BODY:
                    with_bodies.add(hit.rule.key)
        out: list[TopicScore] = []
        for slug, hits in by_slug.items():
            counts: dict[Rule, int] = defaultdict(int)
            matched: list[str] = []
            kept = resolve(hits)
            if slug in with_bodies:
                own = {
                    i
                    for h in kept
                    if h.rule.weight > 0 and not h.rule.flags & BODY
                    for i in range(h.start, h.end)
                }
                kept = [
                    h
                    for h in kept
                    if not h.rule.flags & BODY
                    or not _owned_by_another(toks, h, own, countries or EMPTY_SPANS)
                ]
            for hit in kept:
                counts[hit.rule] += 1
                if hit.rule.weight > 0:
                    word = surface_of(toks, hit)
                    if word not in matched:
                        matched.append(word)
            topic = self._defs[slug]
            total = strong = negative = 0.0
            for rule, n in counts.items():
                if rule.weight > 0:
                    gain = rule.weight * min(1 + 0.5 * (n - 1), 2.0)
                    total += gain
                    if not rule.flags & AMBIGUOUS:
                        strong += gain
                else:
                    negative += rule.weight
            if strong < topic.threshold:
                total += negative
            if country_count == 2 and total > 0:
                total += topic.two_country_bonus
            if total >= topic.threshold and matched:
                out.append(TopicScore(slug, total, tuple(matched)))
        out.sort(key=lambda t: (-t.score, t.slug))
        return out


def _ambiguous_rules(rules: list[Rule]) -> frozenset[int]:
    """ids of positive rules whose word sequence occurs inside a negative phrase of their topic."""
    negatives: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for rule in rules:
        if rule.weight < 0:
            negatives[rule.key].append(rule.values)
    out = set()
    for rule in rules:
        if rule.weight <= 0:
            continue
        n = rule.length
        for values in negatives.get(rule.key, ()):
            if any(values[i : i + n] == rule.values for i in range(len(values) - n + 1)):
                out.add(id(rule))
                break
    return frozenset(out)


def _owned_by_another(toks: Tokens, hit: Hit, own: set[int], countries: Spans) -> bool:
    """A generic body name with another owner attached: a country, an abbreviation, an owner noun.

    ``own``: positions of the topic's own names (not another owner); ``countries``: country hits.
    """
    n = len(toks)
    before = hit.start - 1
    if before >= 0 and toks.norm[before] == "s":  # "Belarus's Security Council"
        before -= 1
    if (
        before >= 0
        and before not in own
        and (
            before in countries.ends
            or (toks.norm[before] in _OWNER_NOUNS and not toks.upper[before])
        )
    ):
        return True
    after = hit.end
    while after < n and toks.norm[after] in _LINKS and not toks.upper[after]:
        after += 1  # "General Assembly of the Asian Football Confederation"
    linked = after > hit.end
    for j in range(after, min(after + 2, n)):
        if j in own:
            return False  # "Совет Безопасности ООН", "General Assembly of the United Nations"
        if (j == after and j in countries.starts) or toks.norm[j] in _OWNER_NOUNS:
            return True
        if j == after and len(toks.surface[j]) > 1 and toks.surface[j].isupper():
            return True  # "Генассамблея ФИФА"
        if j == after and linked and toks.upper[j]:
            return True  # "Security Council of Belarus" after "of"
    return False
