"""First poll in a fresh process: parse + normalize + classify with nothing cached, as a ratio to
bare feedparser.parse of the same feed bytes, each measured in its own fresh `python` subprocess.

A restarted bot meets every word for the first time (but those of the bundled lemma table,
bot.understand.lemmas, made without the evaluation sets this feed is built from), so this is the
cost the warm benchmarks (bench_classify.py, bench_normalize.py) hide; the same process then
classifies the same articles again, warm, for the ratio. The classifier is loaded before the clock starts (the
app loads it at start-up, not per poll). Each case runs RUNS times in new processes; medians are
printed, because the machine is shared and single runs are noisy. The targets (issue #12): a first
poll ≤ 1.3× bare feedparser, cold classification ≥ 5,000 articles/s.
Run: .venv/bin/python benchmarks/bench_cold.py [entries] [runs] [--before REV] (REV: a commit whose
code is timed too, in the same interleaved runs, as a ratio; the first argument is not used)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent

# The timed region of each case; both read the same feed file and print seconds of the process's
# CPU time: on a shared machine the wall clock also counts the other loads' turns.
BARE = """
import io, sys, time
import feedparser
body = open(sys.argv[1], "rb").read()
t0 = time.process_time()
parsed = feedparser.parse(io.BytesIO(body), response_headers={
    "content-type": "application/rss+xml; charset=utf-8", "content-location": sys.argv[2]})
print(time.process_time() - t0, len(parsed.entries))
"""

POLL = """
import sys, time
from datetime import UTC, datetime
from bot.understand.classify import Classifier
from bot.understand.clustering import make_signature
from bot.ingest.normalize import normalize_entry, repeated_identifiers
from bot.ingest.parse import parse_feed
clf = Classifier.load()
body = open(sys.argv[1], "rb").read()
now = datetime(2025, 3, 1, tzinfo=UTC)
t0 = time.process_time()
parsed = parse_feed(body, url=sys.argv[2],
                    headers={"Content-Type": "application/rss+xml; charset=utf-8"})
repeated = repeated_identifiers(parsed.entries)
seen = set()
drafts = [normalize_entry(e, feed_url=sys.argv[2], source="bench", now=now, seen_keys=seen,
                          repeated=repeated) for e in parsed.entries]
t1 = time.process_time()
for d in drafts:
    toks = clf.tokenize(d.title, d.summary)
    clf.classify_tokens(toks)
    make_signature(toks.norm)
t2 = time.process_time()
for d in drafts:  # the same articles again, every word known: what cold costs above warm
    toks = clf.tokenize(d.title, d.summary)
    clf.classify_tokens(toks)
    make_signature(toks.norm)
print(t2 - t0, len(drafts), t1 - t0, t2 - t1, time.process_time() - t2)
"""


def eval_feed() -> bytes:
    """The eval articles (varied real wording, so most words are distinct) as one RSS feed with
    long HTML descriptions: each item's lead is wrapped in markup and followed by the next item's."""
    from tests.support.evaluation import read_jsonl

    rows = []
    for name in ("articles.jsonl", "dev_v1.jsonl", "dev_precision.jsonl", "dev_security.jsonl"):
        path = ROOT / "tests" / "eval" / name
        if path.exists():
            rows.extend(read_jsonl(path))
    items = []
    for i, r in enumerate(rows):
        nxt = rows[(i + 1) % len(rows)]["text"]
        html = (
            f'<p>{escape(r["text"])}</p><p><img src="/img/{i}.jpg" alt=""> '
            f'<b>{escape(nxt)}</b> <a href="/x">Далее</a></p><script>track({i})</script>'
        )
        items.append(
            f"<item><title>{escape(r['title'])}</title><link>https://example.org/a/{i}</link>"
            f'<guid isPermaLink="false">bench-{i}</guid>'
            f"<pubDate>Fri, 21 Feb 2025 10:00:00 +0000</pubDate>"
            f"<description><![CDATA[{html}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        "<link>https://example.org/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def run(code: str, feed: Path, root: Path = ROOT) -> list[float]:
    # `python -c` puts its working directory first on sys.path: `root`'s bot is the one timed.
    out = subprocess.run(
        [sys.executable, "-c", code, str(feed), "https://example.org/rss.xml"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [float(x) for x in out]


def checkout(rev: str, into: Path) -> Path:
    """The tree of commit `rev` of this repository, to time the code before a change."""
    archive = subprocess.run(
        ["git", "archive", rev, "bot"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    args = sys.argv[1:]
    before = None
    if "--before" in args:  # --before REV: also the code of REV, in the same interleaved runs
        at = args.index("--before")
        before = args[at + 1]
        del args[at : at + 2]
    runs = int(args[1]) if len(args) > 1 else 5
    body = eval_feed()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed.xml"
        feed.write_bytes(body)
        old_root = checkout(before, Path(tmp)) if before else None
        bare, poll, norm, cls, warm, old = [], [], [], [], [], []
        n = 0
        for _ in range(runs):  # interleaved, so drift in machine load hits all cases alike
            b = run(BARE, feed)
            p = run(POLL, feed)
            bare.append(b[0])
            poll.append(p[0])
            norm.append(p[2])
            cls.append(p[3])
            warm.append(p[4])
            n = int(p[1])
            if old_root is not None:
                old.append(run(POLL, feed, old_root)[3] / p[3])
    bare_s, poll_s = statistics.median(bare), statistics.median(poll)
    norm_s, cls_s = statistics.median(norm), statistics.median(cls)
    warm_s = statistics.median(warm)
    per = 1e6 / n
    print(f"feed: {n} entries, {len(body) / 1e6:.2f} MB; {runs} fresh processes per case, medians")
    print(f"bare feedparser.parse          {bare_s * per:8.1f} µs/entry   1.00×")
    print(f"parse_feed + normalize         {norm_s * per:8.1f} µs/entry   {norm_s / bare_s:.2f}×")
    print(
        f"classify + signature (cold)    {cls_s * per:8.1f} µs/entry   {cls_s / bare_s:.2f}×"
        f"   ({n / cls_s:,.0f} articles/s)"
    )
    print(
        f"classify + signature (warm)    {warm_s * per:8.1f} µs/entry   {warm_s / bare_s:.2f}×"
        f"   ({n / warm_s:,.0f} articles/s; cold costs {cls_s / warm_s:.2f}× warm)"
    )
    if old:
        print(
            f"the code of {before}, cold: {statistics.median(old):.2f}× this code's time "
            f"(per run {min(old):.2f}–{max(old):.2f}×)"
        )
    total = poll_s / bare_s
    print(f"first poll, fresh process      {poll_s * per:8.1f} µs/entry   {total:.2f}×")
    rate = n / cls_s
    print(f"target first poll ≤ 1.30×: {'OK' if total <= 1.3 else 'MISSED'}")
    print(f"target cold ≥ 5,000 articles/s: {'OK' if rate >= 5000 else 'MISSED'} ({rate:,.0f})")


if __name__ == "__main__":
    main()
