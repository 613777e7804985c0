"""Test helpers for outages: a clock the tests drive, and a fake Bot API that goes down for a while.

`FakeTime` moves only when the code under test sleeps through it, so a 10-minute outage with
minutes of back-off runs in a fraction of a second and every run sees the same sequence.
`OutageBotAPI.outage(kind, seconds, clock)` makes every call (getMe too) fail as `kind` —
"500", "drop" (connection aborted) or "hang" (no answer until the client times out) — from the
moment `after_sends` messages were accepted until `seconds` of `clock` later.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakebotapi import Failure, FakeBotAPI, Request

START = datetime(2025, 6, 1, 6, tzinfo=UTC)


class FakeTime:
    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)
        await asyncio.sleep(0)


class OutageBotAPI(FakeBotAPI):
    hang_seconds = 1.0  # real seconds a "hang" keeps the request open (clients time out first)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._outage: tuple[str, float, Callable[[], float], int] | None = None
        self.down_from: float | None = None
        self.down_calls: list[Request] = []  # calls made while it was down

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
        return await super()._handle(request)

    def _take_failure(self, method: str, chat_id: Any) -> Failure | None:
        kind = self._down()
        if kind is not None:
            self.down_calls.append(self.requests[-1])
            return Failure(method, kind, chat_id, 1, 1, None, None)
        return super()._take_failure(method, chat_id)
