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
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.morph import Morph, Tokens
from bot.rules import Hit, Rule, RuleIndex, compile_rule, resolve, surface_of


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
        paired: list[Rule] = []
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
            for phrase, weight in entry.get("negative", {}).items():
                rules.append(compile_rule(morph, slug, phrase, -abs(weight), cased=False))
            for phrase, weight in entry.get("paired", {}).items():
                paired.append(compile_rule(morph, slug, phrase, abs(weight), cased=False))
        rules.extend(paired)
        self._ambiguous = _ambiguous_rules(rules)
        self._paired = frozenset(id(rule) for rule in paired)  # rules live as long as the index
        self.defs = tuple(defs)
        self._defs = {d.slug: d for d in defs}
        self.index = RuleIndex(rules)

    def score(self, toks: Tokens, country_count: int = 0) -> list[TopicScore]:
        """Topics that reach their threshold, best first."""
        by_slug: dict[str, list[Hit]] = defaultdict(list)
        skip = self._paired if country_count != 2 else frozenset()
        for hit in self.index.find(toks):
            if not skip or id(hit.rule) not in skip:
                by_slug[hit.rule.key].append(hit)
        out: list[TopicScore] = []
        for slug, hits in by_slug.items():
            counts: dict[Rule, int] = defaultdict(int)
            matched: list[str] = []
            for hit in resolve(hits):
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
                    if id(rule) not in self._ambiguous:
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
