"""Print precision/recall per topic, for countries and for story pairs over tests/eval."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.classify import Classifier
from bot.evaluation import evaluate_articles, evaluate_pairs, format_table, read_jsonl

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "pymorphy"
    clf = Classifier.load(backend=backend)
    articles = read_jsonl(EVAL / "articles.jsonl")
    topics, countries = evaluate_articles(clf, articles)
    pairs, scores = evaluate_pairs(clf, read_jsonl(EVAL / "story_pairs.jsonl"))
    print(f"backend={backend} articles={len(articles)} pairs={len(scores)}")
    print(format_table(topics, countries, pairs))
    for name, c in [*topics.items(), ("countries", countries), ("pairs", pairs)]:
        for err in c.errors:
            print(f"  {name}: {err}")
    for pair_id, same, score in sorted(scores, key=lambda s: s[2]):
        print(f"  pair {pair_id} same={same} similarity={score:.3f}")


if __name__ == "__main__":
    main()
