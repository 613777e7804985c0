"""Precision/recall of the classifier and the clustering over tests/eval (used by tests and reports).

Besides the counts it computes regression floors (tests/eval/floors.toml): per dev set, per topic
and per country, one error below the measured precision and recall, so that losing one topic or
one country fails a test even when the pooled figures barely move.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.understand.classify import Classifier
from bot.understand.clustering import ClusterCandidate, choose_cluster, similarity
from bot.understand.crosslang import compare, detect_language


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _count(counts: Counts, item_id: str, expected: set[str], got: set[str]) -> None:
    counts.tp += len(expected & got)
    for extra in sorted(got - expected):
        counts.fp += 1
        counts.errors.append(f"{item_id}: +{extra}")
    for missed in sorted(expected - got):
        counts.fn += 1
        counts.errors.append(f"{item_id}: -{missed}")


@dataclass(slots=True)
class ArticleReport:
    topics: dict[str, Counts]  # every catalog topic
    countries: Counts  # pooled over all countries
    by_country: dict[str, Counts]  # iso2 -> counts, only countries labeled or predicted


def evaluate_articles(clf: Classifier, rows: Iterable[dict]) -> ArticleReport:
    """Per-topic, pooled-country and per-country counts."""
    topics = {t.slug: Counts() for t in clf.topics}
    countries = Counts()
    by_country: dict[str, Counts] = {}
    for row in rows:
        result = clf.classify(row["title"], row["text"])
        got, expected = set(result.topics), set(row["topics"])
        for slug, counts in topics.items():
            _count(counts, row["id"], {slug} & expected, {slug} & got)
        got_c, want_c = set(result.countries), set(row["countries"])
        _count(countries, row["id"], want_c, got_c)
        for code in got_c | want_c:
            _count(
                by_country.setdefault(code, Counts()), row["id"], {code} & want_c, {code} & got_c
            )
    return ArticleReport(topics, countries, dict(sorted(by_country.items())))


def evaluate_pairs(
    clf: Classifier, rows: Iterable[dict]
) -> tuple[Counts, list[tuple[str, bool, float]]]:
    """Counts over pairs (positive = joined one cluster) and each pair's similarity: the
    word-set Jaccard for two articles in one language, the evidence score (bot.understand.crosslang)
    for two languages. Each side is tagged, fingerprinted and given a language as at ingest."""
    counts = Counts()
    scores: list[tuple[str, bool, float]] = []
    for row in rows:
        a, b = row["a"], row["b"]
        sig_a, lang_a, ev_a = _understood(clf, a)
        sig_b, lang_b, ev_b = _understood(clf, b)
        score = similarity(sig_a, sig_b) if lang_a == lang_b else compare(ev_a, ev_b).score
        scores.append((row["id"], row["same"], score))
        cand = ClusterCandidate(
            1, None, sig_a, datetime.fromisoformat(a["published_at"]), a["source"], lang_a, ev_a
        )
        joined = (
            choose_cluster(
                sig_b,
                datetime.fromisoformat(b["published_at"]),
                [cand],
                source=b["source"],
                language=lang_b,
                evidence=ev_b,
            )
            == 1
        )
        _count(counts, row["id"], {"same"} if row["same"] else set(), {"same"} if joined else set())
    return counts, scores


def _understood(clf: Classifier, side: dict) -> tuple[bytes, str | None, frozenset[str]]:
    toks = clf.tokenize(side["title"], side["text"])
    found = clf.classify_tokens(toks)
    language = detect_language(f"{side['title']} {side['text']}")
    return (
        clf.signature(side["title"], side["text"]),
        language,
        clf.evidence(side["title"], side["text"], found),
    )


def format_rows(rows: Iterable[tuple[str, Counts]]) -> str:
    lines = [f"{'label':<18} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7}"]
    for name, c in rows:
        lines.append(
            f"{name:<18} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.precision:>10.3f} {c.recall:>7.3f}"
        )
    return "\n".join(lines)


def format_table(
    topics: dict[str, Counts],
    countries: Counts,
    pairs: Counts | None = None,
    by_country: dict[str, Counts] | None = None,
) -> str:
    rows = [*topics.items(), ("countries", countries)]
    rows += [(f"  {code}", c) for code, c in (by_country or {}).items()]
    if pairs is not None:
        rows.append(("cluster pairs", pairs))
    return format_rows(rows)


def _midway_floor(hits: int, total: int, value: float) -> float:
    """Halfway between the measured value and the value after one more error, rounded down.

    So the floor passes today's figure and fails as soon as one more item is lost."""
    worse = (hits - 1) / total if total and hits else 0.0
    return int((value + worse) / 2 * 1000) / 1000


def floors_for(report: ArticleReport) -> dict[str, dict[str, list[float]]]:
    """Per-topic and per-country [precision, recall] floors one error below the measured values."""

    def pair(c: Counts) -> list[float]:
        # One more false positive: tp / (tp + fp + 1); one more miss: (tp - 1) / (tp + fn).
        p_worse = c.tp / (c.tp + c.fp + 1)
        precision = int((c.precision + p_worse) / 2 * 1000) / 1000
        recall = _midway_floor(c.tp, c.tp + c.fn, c.recall) if c.tp + c.fn else 1.0
        return [precision, recall]

    return {
        "topics": {slug: pair(c) for slug, c in report.topics.items()},
        "countries": {code: pair(c) for code, c in report.by_country.items()},
    }


def below_floors(report: ArticleReport, floors: dict[str, dict[str, list[float]]]) -> list[str]:
    """Every topic or country whose precision or recall fell under its floor (with its errors)."""
    out: list[str] = []
    for table, counts in (("topics", report.topics), ("countries", report.by_country)):
        for key, (p_floor, r_floor) in floors.get(table, {}).items():
            c = counts.get(key, Counts())
            if c.precision < p_floor or c.recall < r_floor:
                out.append(
                    f"{key}: precision {c.precision:.3f} (floor {p_floor}), "
                    f"recall {c.recall:.3f} (floor {r_floor}) {c.errors}"
                )
        if table == "countries":  # a country with no floor yet must not gain false positives
            for key, c in counts.items():
                if key not in floors.get(table, {}) and c.fp:
                    out.append(f"{key}: new false positives {c.errors}")
    return out


# The development sets under tests/eval (rules may be tuned on them; floors guard each one).
DEV_SETS = ("articles", "dev_security", "dev_v1", "dev_precision")


def format_floors(floors_by_set: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    """TOML text of tests/eval/floors.toml (written by benchmarks/eval_report.py --write-floors)."""
    lines = [
        "# Regression floors per dev set, per topic and per country: [precision, recall], each",
        "# halfway between the measured value and the value after one more error, so losing a",
        "# single item fails. Regenerate after an intended change: benchmarks/eval_report.py",
        "# --write-floors (and say in the commit why the figures moved).",
    ]
    for name, tables in floors_by_set.items():
        for table, values in tables.items():
            lines.append(f"\n[{name}.{table}]")
            lines += [f'"{key}" = [{p}, {r}]' for key, (p, r) in values.items()]
    return "\n".join(lines) + "\n"


def read_floors(path: Path) -> dict[str, dict[str, dict[str, list[float]]]]:
    with path.open("rb") as fh:
        return tomllib.load(fh)
