"""Print precision/recall per topic and per country on the dev sets, and story-pair clustering.

The dev sets (tests/eval/articles.jsonl, dev_security.jsonl, dev_v1.jsonl) may be tuned on, so
these figures are not generalization figures (benchmarks/holdout_report.py prints the blind ones).
Usage:
    python benchmarks/eval_report.py [pymorphy|snowball] [--errors] [--write-floors]
--write-floors rewrites tests/eval/floors.toml from the measured values (after an intended change).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.understand.classify import Classifier
from tests.support.evaluation import (
    DEV_SETS,
    evaluate_articles,
    evaluate_pairs,
    floors_for,
    format_floors,
    format_rows,
    format_table,
    read_jsonl,
)

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("backend", nargs="?", default="pymorphy")
    ap.add_argument("--errors", action="store_true", help="list every miss and false positive")
    ap.add_argument("--write-floors", action="store_true", help="rewrite tests/eval/floors.toml")
    args = ap.parse_args()
    clf = Classifier.load(backend=args.backend)
    floors = {}
    for name in DEV_SETS:
        rows = read_jsonl(EVAL / f"{name}.jsonl")
        report = evaluate_articles(clf, rows)
        floors[name] = floors_for(report)
        print(f"== {name} backend={args.backend} articles={len(rows)}")
        print(format_table(report.topics, report.countries, by_country=report.by_country))
        if args.errors:
            for label, c in [*report.topics.items(), ("countries", report.countries)]:
                for err in c.errors:
                    print(f"  {label}: {err}")
    pairs, scores = evaluate_pairs(clf, read_jsonl(EVAL / "story_pairs.jsonl"))
    print(f"== story_pairs pairs={len(scores)}")
    print(format_rows([("cluster pairs", pairs)]))
    if args.errors:
        for err in pairs.errors:
            print(f"  pairs: {err}")
        for pair_id, same, score in sorted(scores, key=lambda s: s[2]):
            print(f"  pair {pair_id} same={same} similarity={score:.3f}")
    if args.write_floors:
        (EVAL / "floors.toml").write_text(format_floors(floors), encoding="utf-8")
        print(f"wrote {EVAL / 'floors.toml'}")


if __name__ == "__main__":
    main()
