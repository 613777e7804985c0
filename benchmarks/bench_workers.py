"""Fan-out on PostgreSQL with 1, 2 and 4 worker processes vs one process on SQLite.

The same digest to N chats through a lean local Bot API (a child process), limits off
(DELIVERY_RATE=0). Each figure is a ratio to bare aiohttp POSTs (as JSON, 4 at a time) to the
same server measured in the same run, so a noisy shared machine moves them together. Workers
are real processes (each its own pool, its own Sender with claims and the shared pace),
started together; the wall time runs from their start to the last message sent. Needs
PostgreSQL's server binaries (as the tests do: tests/support/postgres.py starts a throwaway
cluster).

Two rounds. With an instant server, sending is CPU-bound: on a machine with few cores, one
worker, the server and PostgreSQL already share them all, so more workers only add contention.
With `--latency` (default 50 ms, Telegram's round trip from a data centre) a worker waits on
Telegram, as in production, and extra workers show whether the claims let them scale.

Usage: python benchmarks/bench_workers.py [--chats 3000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from benchmarks.bench_delivery import TOKEN, baseline, fill, serve
from bot.app.session import JsonSession
from bot.delivery.sender import Sender
from storage.engines import open_database
from storage.stores import stores_over
from tests.support.postgres import Cluster


async def _send_all(
    base: str, location: str | Path, *, exclusive: bool, start_at: float = 0.0
) -> int:
    async with open_database(location) as db:
        bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(base)))
        sender = Sender(bot, stores_over(db), rate=0, concurrency=4, idle_poll=0.05, exclusive=exclusive)
        # connected (the schema check done): every worker starts sending at the same moment,
        # so the measured time is sending, not process start
        await asyncio.sleep(max(0.0, start_at - time.time()))
        sender.start()  # as `worker` runs it (drain() would wait out other workers' leases)
        try:
            while await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        finally:
            await sender.stop()
            await bot.session.close()
        return sender.stats.sent


def _worker(
    base: str, url: str, start_at: float, out: multiprocessing.connection.Connection
) -> None:
    out.send(asyncio.run(_send_all(base, url, exclusive=False, start_at=start_at)))


async def sqlite_run(base: str, path: Path, chats: int) -> float:
    async with open_database(path) as db:
        await fill(db, range(1, chats + 1))
    started = time.perf_counter()
    sent = await _send_all(base, path, exclusive=True)
    assert sent == chats, sent
    return chats / (time.perf_counter() - started)


async def postgres_run(base: str, cluster: Cluster, chats: int, workers: int) -> float:
    url = await cluster.fresh_database()
    async with open_database(url) as db:
        await fill(db, range(1, chats + 1))
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 8.0  # time for the children to import and connect
    pipes, procs = [], []
    for _ in range(workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(base, url, start_at, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    sent = sum(p.recv() for p in pipes)
    elapsed = time.time() - start_at
    for proc in procs:
        proc.join()
    assert sent == chats, f"{sent} sends for {chats} chats: a message went twice or not at all"
    return chats / elapsed


async def round_(cluster: Cluster, chats: int, latency: float, tmp: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child, latency), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{parent.recv()}"
    try:
        base_rate = await baseline(base, min(2000, chats), 4)
        print(f"-- server answers in {latency * 1000:.0f} ms; baseline bare aiohttp POSTs"
              f" (4 concurrent): {base_rate:,.0f} msg/s")  # fmt: skip
        lite = await sqlite_run(base, tmp / f"one-{latency}.sqlite3", chats)
        print(f"SQLite, one process:      {lite:7,.0f} msg/s = {lite / base_rate:.2f}× baseline")
        one = None
        for workers in (1, 2, 4):
            rate = await postgres_run(base, cluster, chats, workers)
            one = one or rate
            print(f"PostgreSQL, {workers} worker(s): {rate:7,.0f} msg/s = "
                  f"{rate / base_rate:.2f}× baseline, {rate / one:.2f}× one worker")  # fmt: skip
    finally:
        server.kill()


async def main(args: argparse.Namespace) -> int:
    cluster = Cluster.start()
    try:
        cluster.migrated_template()
        with tempfile.TemporaryDirectory() as tmp:
            await round_(cluster, args.chats, 0.0, Path(tmp))
            if args.latency:
                await round_(cluster, args.latency_chats, args.latency, Path(tmp))
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds; 0: skip that round")
    parser.add_argument("--latency-chats", type=int, default=1000)
    sys.exit(asyncio.run(main(parser.parse_args())))
