"""Keyword rules at scale: 1,000 chats × 5 rules each matched over a 2,000-entry poll.

The articles are the evaluation sets (title + text) repeated to 2,000 entries. Baseline, in the
same run: classification alone (Classifier.analyze, warm morphology cache — what ingest does per
entry). Measured: building the rule index plus matching every article (RuleIndex.match_all over
the stored search terms), and the same with the terms read back from SQLite (RuleRepo.terms), as
a digest planning pass does. Ingest itself does no rule work (the terms are already stored for
search), so this is planning cost. Target: both ≤ 1× classification of the same poll.

Usage: python benchmarks/bench_rules.py [--chats 1000] [--rules 5] [--entries 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.understand.chatrules import ChatRule, RuleError, RuleIndex, parse_rule
from bot.understand.classify import Classifier
from bot.understand.searchterms import index_terms
from storage.chat_rules import RuleRepo
from storage.db import Database
from tests.support.evaluation import read_jsonl

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"
SETS = ("articles.jsonl", "holdout_v2.jsonl", "dev_v1.jsonl", "dev_security.jsonl")
TARGET = 1.0


def entries(n: int) -> list[tuple[str, str]]:
    base = [(r["title"], r.get("text", "")) for s in SETS for r in read_jsonl(EVAL / s)]
    return [base[i % len(base)] for i in range(n)]


def make_rules(clf: Classifier, items: list[tuple[str, str]], count: int, rng: random.Random):
    """Rules an operator might write: words and phrases taken from the articles' own text."""
    words = sorted({w for title, _ in items for w in title.split() if len(w) > 3 and w.isalpha()})
    codes = clf.country_codes
    rules, n = [], 0
    while len(rules) < count:
        n += 1
        terms = rng.sample(words, rng.choice((1, 1, 2, 3)))
        if rng.random() < 0.2:
            title = rng.choice(items)[0].split()
            if len(title) > 2:
                at = rng.randrange(len(title) - 1)
                terms = [f'"{title[at]} {title[at + 1]}"']
        if rng.random() < 0.3:
            terms.append("-" + rng.choice(words))
        if rng.random() < 0.2:
            terms.append("@" + rng.choice(codes))
        try:
            spec = parse_rule(clf.morph, " ".join(terms), codes)
        except RuleError:
            continue
        rules.append(ChatRule(n, n // 5, spec))
    return rules


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(11)
    clf = Classifier.load()
    items = entries(args.entries)
    for title, text in items[:400]:  # warm the morphology cache, as a running bot has it
        clf.analyze(title, text)

    started = time.perf_counter()
    analyzed = [clf.analyze(title, text) for title, text in items]
    classify = time.perf_counter() - started

    terms = {i + 1: index_terms(clf.tokenize(t, x)) for i, (t, x) in enumerate(items)}
    countries = {i + 1: c.countries for i, (c, _) in enumerate(analyzed)}
    rules = make_rules(clf, items, args.chats * args.rules, rng)

    started = time.perf_counter()
    index = RuleIndex(rules)
    hits = index.match_all(terms, countries)
    match = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        async with Database(Path(tmp) / "bench.sqlite3") as db:
            await db.executemany(
                "INSERT INTO article_search (rowid, terms) VALUES (?, ?)", list(terms.items())
            )
            repo = RuleRepo(db)
            started = time.perf_counter()
            stored = await repo.terms(terms)
            index = RuleIndex(rules)
            again = index.match_all(stored, countries)
            with_db = time.perf_counter() - started
    assert again == hits, "terms read back from SQLite must match the same way"

    matched = sum(len(v) for v in hits.values())
    print(f"{len(rules)} rules ({args.chats} chats × {args.rules}) over {len(items)} entries")
    print(f"rules with a match: {len(hits)}; (rule, article) matches: {matched}")
    print(f"baseline classification: {classify:.3f}s ({classify / len(items) * 1e3:.3f} ms/entry)")
    print(f"index + match:          {match:.3f}s = {match / classify:.3f}× classification")
    print(f"read terms + match:     {with_db:.3f}s = {with_db / classify:.3f}× classification")
    ok = match / classify <= TARGET and with_db / classify <= TARGET
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=5)
    parser.add_argument("--entries", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args())))
