"""Delivery fan-out: one digest to 10,000 chats through a local fake Bot API (in a child process).

1. DELIVERY_RATE=0 (no limits): messages/s and sender CPU per message; baseline = bare aiohttp
   POSTs to the same server (no aiogram, no database) in the same run. Target ≥ 500 msg/s.
   Also aiogram alone: the same Bot and session calling send_message, 4 at a time, with no
   database, no limits and no bookkeeping — the most any aiogram-based sender can reach here.
2. DELIVERY_RATE=25 for ~10 s: the achieved rate must be within 5% of 25/s.

Usage: python benchmarks/bench_delivery.py [--chats 10000] [--rate-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.app.session import JsonSession
from bot.delivery.sender import Sender
from bot.domain import DigestPlan
from storage.db import Database
from storage.outbox import OutboxRepo
from storage.stores import stores_over

TOKEN = "123456:BENCH"
NOW = datetime(2025, 6, 1, 6, tzinfo=UTC)
TEXT = ("📰 <b>Дайджест</b> · 01.06.2025\n\n<b>ООН</b>\n\n" + "▪️ <b><a href=\"https://e.org/1\">"
        "Заголовок новости</a></b>\nКороткий лид новости о дипломатии.\n<i>BelTA · 09:00</i>\n\n") * 12  # fmt: skip


def serve(port_out: multiprocessing.connection.Connection, latency: float = 0.0) -> None:
    """A lean Bot API: answers sendMessage like Telegram, counts nothing, stores nothing;
    `latency`: seconds each answer takes (Telegram's round trip from a server is 30–100 ms)."""
    ids = itertools.count(1)

    async def handle(request: web.Request) -> web.Response:
        if latency:
            await asyncio.sleep(latency)
        data = (
            await request.post()
            if request.content_type != "application/json"
            else await request.json()
        )
        return web.json_response({"ok": True, "result": {
            "message_id": next(ids), "date": 1748764800, "text": "x",
            "chat": {"id": int(data.get("chat_id", 1)), "type": "private"}}})  # fmt: skip

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        port_out.send(sock.getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def fill(db: Database, chats: range) -> None:
    stamp = "2025-06-01T06:00:00Z"
    await db.executemany(
        "INSERT INTO chats (id, type, timezone, created_at, updated_at) VALUES (?, 'private', 'UTC', ?, ?)",
        [(n, stamp, stamp) for n in chats],
    )
    plans = [
        DigestPlan(chat_id=n, kind="manual", slot_at=NOW, parts=(TEXT,), article_count=12,
                   outcome="queued", expected_cursor=0, expected_updated_at=NOW, new_cursor=None)
        for n in chats
    ]  # fmt: skip
    await OutboxRepo(db).record_digests(plans, NOW)


async def baseline(base: str, n: int, concurrency: int, *, form: bool = False) -> float:
    """Bare aiohttp POSTs of the same message: as JSON (the cheapest way, and how the bot's
    JsonSession sends), or with `form` urlencoded as aiogram's own session sends."""
    url = f"{base}/bot{TOKEN}/sendMessage"
    queue = iter(range(n))
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            for chat_id in queue:
                body = {"chat_id": chat_id, "text": TEXT, "parse_mode": "HTML"}
                sent = http.post(url, data=body) if form else http.post(url, json=body)
                async with sent as resp:
                    await resp.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


async def aiogram_alone(base: str, n: int, concurrency: int) -> tuple[float, float]:
    """Bot.send_message as the sender calls it (same session), nothing else: msg/s and CPU ms."""
    bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(base)))
    queue = iter(range(1, n + 1))

    async def worker() -> None:
        for chat_id in queue:
            await bot.send_message(chat_id, TEXT, parse_mode="HTML")

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await bot.session.close()
    return n / wall, cpu / n * 1000


async def run_sender(
    base: str, path: Path, chats: range, rate: float, concurrency: int
) -> tuple[float, float, int]:
    async with Database(path) as db:
        await fill(db, chats)
        bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(base)))
        sender = Sender(bot, stores_over(db), rate=rate, concurrency=concurrency, idle_poll=0.5)
        cpu, wall = time.process_time(), time.perf_counter()
        await sender.drain(timeout=3600)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await bot.session.close()
        return wall, cpu, sender.stats.sent


async def main(args: argparse.Namespace) -> int:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(child,), daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{parent.recv()}"
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            form_rate = await baseline(base, 2000, 4, form=True)
            base_rate = await baseline(base, 2000, 4)
            print(f"baseline bare aiohttp POSTs (4 concurrent): {base_rate:,.0f} msg/s as JSON,"
                  f" {form_rate:,.0f} msg/s as a urlencoded form")  # fmt: skip
            alone, alone_cpu = await aiogram_alone(base, 2000, 4)
            print(f"aiogram alone (Bot.send_message, 4 concurrent, no database): {alone:,.0f} msg/s"
                  f" ({alone / base_rate:.2f}× baseline), CPU {alone_cpu:.2f} ms/msg")  # fmt: skip
            for concurrency in (1, 4):
                chats = range(1, args.chats + 1)
                wall, cpu, sent = await run_sender(
                    base, Path(tmp) / f"c{concurrency}.sqlite3", chats, 0, concurrency
                )
                rate = sent / wall
                print(f"sender DELIVERY_RATE=0 concurrency={concurrency}: {sent} msgs in {wall:.1f}s = "
                      f"{rate:,.0f} msg/s ({rate / base_rate:.2f}× baseline, {rate / form_rate:.2f}× the form one, "
                      f"{rate / alone:.2f}× aiogram alone), "
                      f"CPU {cpu / sent * 1000:.2f} ms/msg")  # fmt: skip
                ok &= sent == args.chats and (concurrency == 1 or rate >= 500)
            n = int(25 * args.rate_seconds)
            wall, cpu, sent = await run_sender(
                base, Path(tmp) / "r25.sqlite3", range(1, n + 1), 25, 4
            )
            achieved = (sent - 1) / wall  # n sends span n-1 intervals
            print(f"sender DELIVERY_RATE=25: {sent} msgs in {wall:.2f}s = {achieved:.2f} msg/s "
                  f"({(achieved / 25 - 1) * 100:+.1f}% vs target)")  # fmt: skip
            ok &= abs(achieved / 25 - 1) <= 0.05
    finally:
        proc.kill()
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--rate-seconds", type=float, default=10)
    sys.exit(asyncio.run(main(parser.parse_args())))
