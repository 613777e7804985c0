"""Normalization cost per entry as a ratio to bare feedparser.parse per entry, same bytes.

Target (ingest issue): parse_feed + normalize_entry ≤ 1.3 × bare feedparser.parse.
Run: .venv/bin/python benchmarks/bench_normalize.py [entries]
"""

from __future__ import annotations

import io
import sys
import time
from datetime import UTC, datetime, timedelta

import feedparser

from bot.ingest.normalize import normalize_entry
from bot.ingest.parse import parse_feed

URL = "https://khovar.tj/rus/rss.xml"
HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
PARAGRAPH = (
    "Межмидовские консультации на тему «Вопросы правозащитной проблематики в контексте "
    "сотрудничества на международных площадках» состоялись 20&nbsp;февраля в штаб-квартире "
    "Содружества Независимых Государств. Об этом сообщает НИАТ «Ховар» со ссылкой на "
    "Пресс-службу Исполнительного комитета СНГ (т.е. С. Лаврова, г. Минск)."
)


def build_feed(n: int) -> bytes:
    start = datetime(2025, 2, 21, 10, 0, tzinfo=UTC)
    items = []
    for i in range(n):
        when = (start - timedelta(minutes=7 * i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            f"<item><title>Новость {i}: министры &laquo;обсудили&raquo; сотрудничество</title>"
            f"<link>https://khovar.tj/rus/2025/02/news-{i}/?utm_source=rss&amp;id={i}</link>"
            f'<guid isPermaLink="false">khovar-{i}</guid><pubDate>{when}</pubDate>'
            f'<enclosure url="https://khovar.tj/img/{i}.jpg" type="image/jpeg" length="1"/>'
            f"<description><![CDATA[<p>ДУШАНБЕ, 21.02.2025 /НИАТ «Ховар»/. {PARAGRAPH}</p>"
            f'<p><img src="/img/{i}.jpg" alt=""> <b>{PARAGRAPH}</b> <a href="/x">Далее</a></p>'
            f"<script>track({i})</script>]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>НИАТ «Ховар»</title><link>https://khovar.tj/rus/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def best_of(runs: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    body = build_feed(n)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    headers = {"content-type": HEADERS["Content-Type"], "content-location": URL}

    bare_s, bare = best_of(3, lambda: feedparser.parse(io.BytesIO(body), response_headers=headers))
    parse_s, parsed = best_of(3, lambda: parse_feed(body, url=URL, headers=HEADERS))

    def normalize_all() -> list:
        seen: set[str] = set()
        return [
            normalize_entry(e, feed_url=URL, source="Ховар", now=now, seen_keys=seen)
            for e in parsed.entries
        ]

    norm_s, drafts = best_of(3, normalize_all)
    assert len(bare.entries) == len(parsed.entries) == len(drafts) == n
    assert all(d is not None and d.lead.startswith("Межмидовские") for d in drafts)

    per = 1e6 / n
    print(f"feed: {n} entries, {len(body) / 1e6:.2f} MB")
    print(f"bare feedparser.parse      {bare_s * per:8.1f} µs/entry   1.00×")
    print(f"parse_feed (ours)          {parse_s * per:8.1f} µs/entry   {parse_s / bare_s:.2f}×")
    print(f"normalize_entry            {norm_s * per:8.1f} µs/entry   {norm_s / bare_s:.2f}×")
    total = (parse_s + norm_s) / bare_s
    print(f"parse_feed + normalize     {(parse_s + norm_s) * per:8.1f} µs/entry   {total:.2f}×")
    print(f"target ≤ 1.30×: {'OK' if total <= 1.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
