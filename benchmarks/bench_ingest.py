"""Ingest benchmarks: cost per new entry vs bare feedparser, re-poll cost, loop lag, memory.

Run: `.venv/bin/python benchmarks/bench_ingest.py [--entries 2000]`. Every figure is a ratio
against a baseline measured in this same run, so the numbers travel between machines.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ingest.fetch import Fetcher, FetchResult
from bot.ingest.poller import Ingestor
from bot.understand.classify import Classifier
from storage.articles import ArticleRepo
from storage.db import Database
from storage.feeds import FeedRepo
from tests.support.feedgen import Item, rss
from tests.support.feedserver import FeedServer

NOW = datetime(2025, 2, 21, 12, 0, tzinfo=UTC)
LEADS = [
    "ДУШАНБЕ, 21.02.2025 /НИАТ «Ховар»/. Межмидовские консультации по вопросам правозащитной"
    " проблематики состоялись в штаб-квартире СНГ с участием представителей Таджикистана и России.",
    "МИНСК, 20 февраля /БЕЛТА/ - Президент Беларуси провел переговоры с делегацией Казахстана,"
    " стороны обсудили торгово-экономическое сотрудничество в рамках ЕАЭС.",
    "NEW YORK, Feb 20 (UN News) - The Security Council discussed the humanitarian situation and"
    " called on all parties to respect international humanitarian law and human rights.",
    "БИШКЕК, 20 фев — Кабар. Министр иностранных дел Кыргызстана встретился с послом Узбекистана"
    " для обсуждения вопросов делимитации границы и водно-энергетического сотрудничества.",
]


def make_feed(n: int, offset: int = 0) -> bytes:
    return rss(
        [
            Item(
                title=f"Новость {i}: переговоры министров иностранных дел стран СНГ",
                link=f"https://agency.example/news/{i}?utm_source=rss",
                description=f"<p>{LEADS[i % len(LEADS)]}</p><p>Подробности: <b>{i}</b> &laquo;текст&raquo;.</p>"
                f'<img src="https://agency.example/img/{i}.jpg">',
                guid=f"news-{i}",
                published=NOW - timedelta(minutes=i),
            )
            for i in range(offset, offset + n)
        ],
        title="Bench Agency",
    )


def bare_parse_seconds(body: bytes, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        feedparser.parse(io.BytesIO(body))
        best = min(best, time.perf_counter() - start)
    return best


class Bench:
    def __init__(self, classifier: Classifier, server: FeedServer, tmp: Path) -> None:
        self.classifier, self.server, self.tmp = classifier, server, tmp
        self.n = 0

    async def fresh(self) -> tuple[Database, Ingestor, FeedRepo]:
        self.n += 1
        db = await Database(self.tmp / f"bench{self.n}.sqlite3").connect()
        feeds = FeedRepo(db)
        fetcher = Fetcher(allow_private=True, timeout=60)
        await fetcher.__aenter__()
        ing = Ingestor(
            feeds=feeds,
            articles=ArticleRepo(db),
            fetcher=fetcher,
            classifier=self.classifier,
            poll_interval=timedelta(minutes=10),
            clock=lambda: NOW,
        )
        return db, ing, feeds

    async def poll_once(self, path: str, ing: Ingestor, feeds: FeedRepo) -> float:
        feed = await feeds.get_by_url(self.server.url(path))
        start = time.perf_counter()
        await ing.poll_feed(feed)
        return time.perf_counter() - start


async def main(entries: int) -> None:
    classifier = Classifier.load()
    classifier.classify("прогрев", "прогрев морфологии")
    body = make_feed(entries)
    # Warm the morphology cache on this vocabulary so the first run is not a cold-start outlier.
    feedparser.parse(io.BytesIO(make_feed(50)))
    server = await FeedServer().start()
    with tempfile.TemporaryDirectory() as tmpdir:
        bench = Bench(classifier, server, Path(tmpdir))
        server.add("/feed", body)
        server.add("/etag", body, etag='"v1"')

        baseline = bare_parse_seconds(body)
        first_runs = []
        for _ in range(3):
            db, ing, feeds = await bench.fresh()
            await feeds.add(server.url("/feed"), now=NOW)
            first_runs.append(await bench.poll_once("/feed", ing, feeds))
            await ing.fetcher.aclose()
            await db.close()
        first = min(first_runs)
        understanding = understanding_seconds(ing, server.url("/feed"), body)
        print(f"entries per feed: {entries}, body {len(body) / 1e6:.2f} MB")
        print(f"bare feedparser.parse: {baseline / entries * 1e6:.0f} µs/entry")
        print(
            f"first poll (fetch over loopback + parse + normalize + classify + store): "
            f"{first / entries * 1e6:.0f} µs/entry = {first / baseline:.2f}× bare feedparser"
        )
        print(
            f"  of which understanding (topics, countries, signature, search terms): "
            f"{understanding / baseline:.2f}×; ingest without it "
            f"(fetch + parse + normalize + store): {(first - understanding) / baseline:.2f}×"
        )

        db, ing, feeds = await bench.fresh()
        for p in ("/feed", "/etag"):
            await feeds.add(server.url(p), now=NOW)
            await bench.poll_once(p, ing, feeds)
        same_body = min([await bench.poll_once("/feed", ing, feeds) for _ in range(5)])
        not_modified = min([await bench.poll_once("/etag", ing, feeds) for _ in range(5)])
        print(
            f"re-poll, 200 with identical body: {same_body * 1e3:.2f} ms = "
            f"{same_body / first * 100:.2f}% of a first poll"
        )
        print(
            f"re-poll, 304 Not Modified:        {not_modified * 1e3:.2f} ms = "
            f"{not_modified / first * 100:.2f}% of a first poll"
        )
        await ing.fetcher.aclose()
        await db.close()

        await big_feed(bench, server)
    await server.close()


def understanding_seconds(ing: Ingestor, url: str, body: bytes, repeat: int = 3) -> float:
    """The classification share of a first poll, timed alone on the same normalized drafts."""
    result = FetchResult(
        url=url,
        permanent_url=None,
        not_modified=False,
        status=200,
        body=body,
        headers={"content-type": "application/rss+xml"},
        etag=None,
        last_modified=None,
    )
    drafts = ing._prepare(result, "Bench Agency", NOW).drafts
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        ing._classify_all(drafts)
        best = min(best, time.perf_counter() - start)
    return best


async def big_feed(bench: Bench, server: FeedServer, n: int = 5000) -> None:
    body = make_feed(n, offset=100_000)
    server.add("/big", body)
    db, ing, feeds = await bench.fresh()
    await feeds.add(server.url("/big"), now=NOW)
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    task = asyncio.create_task(ticker())
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    await bench.poll_once("/big", ing, feeds)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    done.set()
    await task
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1] if lags else 0.0
    print(
        f"{n}-entry feed ({len(body) / 1e6:.1f} MB): event-loop lag p99 {p99 * 1e3:.1f} ms, "
        f"max {lags[-1] * 1e3:.1f} ms, median {statistics.median(lags) * 1e3:.2f} ms "
        f"over {len(lags)} ticks"
    )
    print(
        f"peak memory above baseline (tracemalloc): {(peak - base) / 1e6:.1f} MB = "
        f"{(peak - base) / len(body):.2f}× the body size"
    )
    await ing.fetcher.aclose()
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    asyncio.run(main(parser.parse_args().entries))
