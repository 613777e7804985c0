"""Print per-topic and country precision/recall on the blind held-out set tests/eval/holdout.jsonl.

The held-out set was written without looking at the rules and is never tuned against: this report
measures how the rules tuned on articles.jsonl generalize. Usage:
    python benchmarks/holdout_report.py [pymorphy|snowball] [--file PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.classify import Classifier
from bot.evaluation import Counts, evaluate_articles, format_table, read_jsonl

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"


def macro(topics: dict[str, Counts]) -> tuple[float, float]:
    """Macro-averaged precision and recall over topics that have at least one labeled positive."""
    used = [c for c in topics.values() if c.tp + c.fn]
    return (
        sum(c.precision for c in used) / len(used),
        sum(c.recall for c in used) / len(used),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("backend", nargs="?", default="pymorphy")
    ap.add_argument("--file", type=Path, default=EVAL / "holdout.jsonl")
    args = ap.parse_args()
    clf = Classifier.load(backend=args.backend)
    rows = read_jsonl(args.file)
    topics, countries = evaluate_articles(clf, rows)
    print(f"backend={args.backend} file={args.file.name} articles={len(rows)}")
    print(format_table(topics, countries))
    mp, mr = macro(topics)
    print(f"macro over topics: precision={mp:.3f} recall={mr:.3f}")
    for row in rows:
        got = clf.classify(row["title"], row["text"])
        want_t, got_t = set(row["topics"]), set(got.topics)
        want_c, got_c = set(row["countries"]), set(got.countries)
        if want_t != got_t or want_c != got_c:
            diff = [f"+{x}" for x in sorted(got_t - want_t)] + [
                f"-{x}" for x in sorted(want_t - got_t)
            ]
            diff += [f"+{x}" for x in sorted(got_c - want_c)] + [
                f"-{x}" for x in sorted(want_c - got_c)
            ]
            print(f"  {row['id']} {' '.join(diff):<28} | {row['title']}")


if __name__ == "__main__":
    main()
