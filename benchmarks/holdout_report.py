"""Print precision/recall on the blind sets tests/eval/holdout_v2.jsonl and story_pairs_v2.jsonl.

The blind sets were written without seeing the rules and are never tuned against: this report
measures how rules tuned on the dev sets generalize. Run it once per change of the rules, record
the figures in tests/eval/README.md, and do not change rules because of a miss it lists. Usage:
    python benchmarks/holdout_report.py [pymorphy|snowball] [--file PATH] [--pairs PATH]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from bot.understand.classify import Classifier
from tests.support.evaluation import (
    Counts,
    evaluate_articles,
    evaluate_pairs,
    format_rows,
    format_table,
    read_jsonl,
)

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
    ap.add_argument("--file", type=Path, default=EVAL / "holdout_v2.jsonl")
    ap.add_argument("--pairs", type=Path, default=EVAL / "story_pairs_v2.jsonl")
    args = ap.parse_args()
    clf = Classifier.load(backend=args.backend)
    rows = read_jsonl(args.file)
    report = evaluate_articles(clf, rows)
    print(f"backend={args.backend} file={args.file.name} articles={len(rows)}")
    print(format_table(report.topics, report.countries, by_country=report.by_country))
    mp, mr = macro(report.topics)
    print(f"macro over topics: precision={mp:.3f} recall={mr:.3f}")
    # Items whose topics and countries are both exactly right, per class of the blind set.
    exact: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        got = clf.classify(row["title"], row["text"])
        want_t, got_t = set(row["topics"]), set(got.topics)
        want_c, got_c = set(row["countries"]), set(got.countries)
        ok = want_t == got_t and want_c == got_c
        tally = exact[row.get("class", "-")]
        tally[0] += ok
        tally[1] += 1
        if not ok:
            diff = [f"+{x}" for x in sorted(got_t - want_t)] + [
                f"-{x}" for x in sorted(want_t - got_t)
            ]
            diff += [f"+{x}" for x in sorted(got_c - want_c)] + [
                f"-{x}" for x in sorted(want_c - got_c)
            ]
            print(f"  {row['id']} {' '.join(diff):<28} | {row['title']}")
    for cls, (ok, total) in sorted(exact.items()):
        print(f"class {cls:<24} exactly right {ok}/{total}")
    pair_rows = read_jsonl(args.pairs)
    pairs, scores = evaluate_pairs(clf, pair_rows)
    print(f"file={args.pairs.name} pairs={len(pair_rows)}")
    classes = {r["id"]: r.get("class", "-") for r in pair_rows}
    per_class = [
        (cls, evaluate_pairs(clf, [r for r in pair_rows if classes[r["id"]] == cls])[0])
        for cls in sorted(set(classes.values()))
    ]
    print(format_rows([("cluster pairs", pairs), *per_class]))
    for err in pairs.errors:
        print(f"  pairs: {err}")
    for pair_id, same, score in sorted(scores, key=lambda s: s[2]):
        print(f"  pair {pair_id} {classes[pair_id]} same={same} similarity={score:.3f}")


if __name__ == "__main__":
    main()
