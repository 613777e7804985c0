"""Test helpers for outages: a clock the tests drive, and a fake Bot API that goes down for a while.

`fan_out` queues a digest of `PARTS` for each of `CHATS` private chats, `driven_sender` is a
Sender on a `FakeTime`, and `assert_each_part_once_in_order` checks what each chat received.
`FakeTime` moves only when the code under test sleeps through it, so a 10-minute outage with
minutes of back-off runs in a fraction of a second and every run sees the same sequence.
`OutageBotAPI.outage(kind, seconds, clock)` makes every call (getMe too) fail as `kind` —
"500", "drop" (connection aborted) or "hang" (no answer until the client times out) — from the
moment `after_sends` messages were accepted until `seconds` of `clock` later.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import Sender
from bot.domain import DigestPlan
from storage.db import Database
from storage.outbox import OutboxRepo
from storage.stores import stores_over
from tests.support.fakebotapi import Failure, FakeBotAPI, Request

START = datetime(2025, 6, 1, 6, tzinfo=UTC)
CHATS = 100
PARTS = ("a", "b")


class FakeTime:
    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.elapsed = 0.0
        self._timers: list[tuple[float, Callable[[], object]]] = []

    def call_later(self, seconds: float, fn: Callable[[], object]) -> None:
        """Run `fn` once this much test time has passed (e.g. the end of a fault)."""
        self._timers.append((self.elapsed + seconds, fn))

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)
        due = [t for t in self._timers if t[0] <= self.elapsed]
        self._timers = [t for t in self._timers if t[0] > self.elapsed]
        for _, fn in due:
            fn()
        await asyncio.sleep(0)


class OutageBotAPI(FakeBotAPI):
    hang_seconds = 2.0  # real seconds a "hang" keeps the request open (clients time out first)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._outage: tuple[str, float, Callable[[], float], int] | None = None
        self.down_from: float | None = None
        self.down_calls: list[Request] = []  # calls made while it was down
        self._on_accepted: dict[int, Callable[[], object]] = {}

    def on_accepted(self, n: int, fn: Callable[[], object]) -> None:
        """Call `fn` when the `n`-th message was accepted, before the answer goes out; an
        awaitable it returns is awaited first (the fault is in place before the bot goes on)."""
        self._on_accepted[n] = fn

    def outage(self, kind: str, seconds: float, clock: Callable[[], float],
               after_sends: int = 0) -> None:  # fmt: skip
        if kind not in {"500", "drop", "hang"}:
            raise ValueError(f"unknown outage kind {kind!r}")
        self._outage = (kind, seconds, clock, after_sends)
        self.down_from = None

    def accepted(self) -> Counter[tuple[Any, Any]]:
        """(chat_id, text) of every accepted sendMessage, counted."""
        return Counter(
            (r.params.get("chat_id"), r.params.get("text"))
            for r in self.requests
            if r.method == "sendMessage" and r.ok
        )

    def _down(self) -> str | None:
        if self._outage is None:
            return None
        kind, seconds, clock, after = self._outage
        if self.down_from is None:
            if sum(1 for r in self.requests if r.method == "sendMessage" and r.ok) < after:
                return None
            self.down_from = clock()
        if clock() - self.down_from < seconds:
            return kind
        self._outage = None
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method != "getUpdates" and self._down() == "hang":
            record = Request(method, await self._params(request))
            self.requests.append(record)
            self.down_calls.append(record)
            self._notify()
            await asyncio.sleep(self.hang_seconds)
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        response = await super()._handle(request)
        if method == "sendMessage" and self._on_accepted:
            accepted = sum(1 for r in self.requests if r.method == "sendMessage" and r.ok)
            if (fn := self._on_accepted.pop(accepted, None)) is not None and inspect.isawaitable(
                started := fn()
            ):
                await started
        return response

    def _take_failure(self, method: str, chat_id: Any) -> Failure | None:
        kind = self._down()
        if kind is not None:
            self.down_calls.append(self.requests[-1])
            return Failure(method, kind, chat_id, 1, 1, None, None)
        return super()._take_failure(method, chat_id)


async def fan_out(db: Database, chats: int = CHATS, parts: tuple[str, ...] = PARTS) -> None:
    stamp = "2025-06-01T06:00:00Z"
    await db.executemany(
        "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
        " VALUES (?, 'private', 'UTC', ?, ?)",
        [(n, stamp, stamp) for n in range(1, chats + 1)],
    )
    plans = [
        DigestPlan(chat_id=n, kind="manual", slot_at=START, parts=tuple(f"{n} {p}" for p in parts),
                   article_count=len(parts), outcome="queued", expected_cursor=0,
                   expected_updated_at=START, new_cursor=None)
        for n in range(1, chats + 1)
    ]  # fmt: skip
    await OutboxRepo(db).record_digests(plans, START)


def driven_sender(bot, db: Database, time: FakeTime, **kw) -> Sender:
    # Real seconds (aiohttp's timeout knows no FakeTime). Short, so that a hang costs little,
    # but not so short that an answer the loaded machine is slow to read counts as a timeout:
    # Telegram accepted that message, and its retry would be a second copy (at 0.3 s this
    # happened about once in a few hundred runs under load).
    kw.setdefault("request_timeout", 0.8)
    return Sender(bot, stores_over(db), rate=0, idle_poll=1.0, clock=time.now, sleep=time.sleep,
                  limiter=RateLimiter(0, clock=time.monotonic), **kw)  # fmt: skip


def assert_each_part_once_in_order(server: OutageBotAPI, chats: int = CHATS,
                                   parts: tuple[str, ...] = PARTS) -> None:  # fmt: skip
    for n in range(1, chats + 1):
        got = [p["text"] for p in server.sent(n)]
        assert got == [f"{n} {p}" for p in parts], f"chat {n} got {got}"
