"""Classification speed and memory: articles/s for classify() on title + lead, loaded-catalog memory,
pymorphy3 vs Snowball back-ends, and the ratio to bare feedparser parsing measured in the same run."""

from __future__ import annotations

import gc
import io
import os
import time
import tracemalloc
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from bot.understand.classify import Classifier
from tests.support.evaluation import read_jsonl

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval" / "articles.jsonl"
REPEAT = 30


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def load(backend: str) -> tuple[Classifier, float, float, float]:
    gc.collect()
    rss0 = rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    clf = Classifier.load(backend=backend)
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    return clf, seconds, traced, rss_mb() - rss0


def rate(fn, items: list[tuple[str, str]], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        for title, text in items:
            fn(title, text)
    return repeat * len(items) / (time.perf_counter() - t0)


def rss_document(items: list[tuple[str, str]]) -> bytes:
    entries = []
    for i, (title, text) in enumerate(items):
        entries.append(
            f"<item><title>{escape(title)}</title><link>https://example.org/a/{i}</link>"
            f"<guid>https://example.org/a/{i}</guid><pubDate>"
            f"{format_datetime(time_for(i))}</pubDate><description>{escape(text)}</description></item>"
        )
    body = "".join(entries)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        f"<link>https://example.org/</link><description>bench</description>{body}</channel></rss>"
    ).encode()


def time_for(i: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2025, 2, 21, tzinfo=UTC) - timedelta(minutes=i)


def feedparser_per_entry(items: list[tuple[str, str]]) -> float:
    import feedparser

    body = rss_document(items)
    feedparser.parse(io.BytesIO(body))  # warm-up (imports, sgmllib tables)
    t0 = time.perf_counter()
    parsed = feedparser.parse(io.BytesIO(body))
    assert len(parsed.entries) == len(items)
    return (time.perf_counter() - t0) / len(items)


def main() -> None:
    rows = read_jsonl(EVAL)
    # The spec budgets ~80 words of title + lead; eval leads are shorter, so each item takes the
    # next item's lead as a second paragraph (same language mix, ~80 words).
    items = [
        (r["title"], r["text"] + "\n" + rows[(i + 1) % len(rows)]["text"])
        for i, r in enumerate(rows)
    ]
    words = sum(len((t + " " + x).split()) for t, x in items) / len(items)
    print(f"eval items: {len(items)}, mean words per title+lead: {words:.0f}, repeat: {REPEAT}")

    fp_entry = feedparser_per_entry(items * 5)
    print(f"feedparser.parse: {fp_entry * 1e6:.0f} us/entry ({1 / fp_entry:,.0f} entries/s)")

    for backend in ("pymorphy", "snowball"):
        clf, seconds, traced, rss = load(backend)
        cold = rate(clf.classify, items, 1)
        warm = rate(clf.classify, items, REPEAT)
        sig = rate(clf.signature, items, REPEAT)
        both = rate(clf.analyze, items, REPEAT)
        print(
            f"[{backend}] load {seconds:.2f}s, memory: traced {traced:.1f} MB, RSS delta {rss:.1f} MB; "
            f"cache {clf.morph.cache_size} words"
        )
        print(
            f"[{backend}] classify: cold cache {cold:,.0f}/s, warm {warm:,.0f}/s "
            f"({1e6 / warm:.0f} us/article); signature {sig:,.0f}/s; analyze {both:,.0f}/s"
        )
        print(
            f"[{backend}] classify costs {1e6 / warm / (fp_entry * 1e6):.2f}x a feedparser entry; "
            f"analyze {1e6 / both / (fp_entry * 1e6):.2f}x"
        )
        del clf
        gc.collect()


if __name__ == "__main__":
    main()
