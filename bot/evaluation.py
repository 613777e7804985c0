"""Precision/recall of the classifier and the clustering over tests/eval (used by tests and reports)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.classify import Classifier
from bot.clustering import ClusterCandidate, choose_cluster, similarity


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


def evaluate_articles(clf: Classifier, rows: Iterable[dict]) -> tuple[dict[str, Counts], Counts]:
    """Per-topic counts (every catalog topic) and pooled country counts."""
    topics = {t.slug: Counts() for t in clf.topics}
    countries = Counts()
    for row in rows:
        result = clf.classify(row["title"], row["text"])
        got, expected = set(result.topics), set(row["topics"])
        for slug, counts in topics.items():
            _count(counts, row["id"], {slug} & expected, {slug} & got)
        _count(countries, row["id"], set(row["countries"]), set(result.countries))
    return topics, countries


def evaluate_pairs(
    clf: Classifier, rows: Iterable[dict]
) -> tuple[Counts, list[tuple[str, bool, float]]]:
    """Counts over pairs (positive = joined one cluster) and each pair's similarity."""
    counts = Counts()
    scores: list[tuple[str, bool, float]] = []
    for row in rows:
        a, b = row["a"], row["b"]
        sig_a = clf.signature(a["title"], a["text"])
        sig_b = clf.signature(b["title"], b["text"])
        scores.append((row["id"], row["same"], similarity(sig_a, sig_b)))
        cand = ClusterCandidate(
            1, None, sig_a, datetime.fromisoformat(a["published_at"]), a["source"]
        )
        joined = (
            choose_cluster(
                sig_b, datetime.fromisoformat(b["published_at"]), [cand], source=b["source"]
            )
            == 1
        )
        _count(counts, row["id"], {"same"} if row["same"] else set(), {"same"} if joined else set())
    return counts, scores


def format_table(topics: dict[str, Counts], countries: Counts, pairs: Counts | None = None) -> str:
    lines = [f"{'label':<18} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7}"]
    rows = [*topics.items(), ("countries", countries)]
    if pairs is not None:
        rows.append(("cluster pairs", pairs))
    for name, c in rows:
        lines.append(
            f"{name:<18} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.precision:>10.3f} {c.recall:>7.3f}"
        )
    return "\n".join(lines)
