"""Telegram outages during a fan-out: the sender pauses as a whole, probes, and then delivers
every part to every chat exactly once, in order — on a test-driven clock, so hours run in seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.delivery.breaker import CircuitBreaker
from bot.delivery.sender import attempts_for
from storage.db import Database
from tests.support.outage import (
    FakeTime,
    OutageBotAPI,
    assert_each_part_once_in_order,
    driven_sender,
    fan_out,
)


@pytest.fixture
async def server() -> AsyncIterator[OutageBotAPI]:
    async with OutageBotAPI() as fake:
        yield fake


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "outage.sqlite3") as database:
        yield database


@pytest.mark.parametrize("kind", ["500", "drop", "hang"])
@pytest.mark.parametrize("seconds", [60, 600])
async def test_outage_during_fanout_delivers_everything_once(db, server, kind, seconds):
    await fan_out(db)
    time = FakeTime()
    server.outage(kind, seconds, time.monotonic, after_sends=20)
    bot = server.make_bot()
    try:
        engine = driven_sender(bot, db, time)
        await engine.drain(timeout=60)
    finally:
        await bot.session.close()
    assert server.down_from is not None and time.elapsed >= server.down_from + seconds
    assert_each_part_once_in_order(server)
    assert engine.stats.failed == 0 and engine.stats.outages >= 1
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0
    # Paused as a whole: a handful of sends hit the outage, then only getMe probes did.
    down_sends = [r for r in server.down_calls if r.method == "sendMessage"]
    probes = [r for r in server.down_calls if r.method == "getMe"]
    assert len(down_sends) <= 2 * (engine.breaker.threshold + 4)
    assert probes and len(probes) == engine.stats.probes - 1  # the last probe found it up


async def test_transient_errors_retried_for_a_day_then_given_up(db, server):
    """One chat's sends fail with 5xx forever: others flow, it is retried ≥ 24 h, then failed."""
    await fan_out(db, chats=3, parts=("only",))
    server.fail_next("sendMessage", "500", chat_id=1, times=2)
    server.fail_next("sendMessage", "drop", chat_id=1, times=1)
    server.fail_next("sendMessage", "500", chat_id=2, times=10**6)
    time = FakeTime()
    bot = server.make_bot()
    try:
        engine = driven_sender(bot, db, time, backoff_cap=3600)
        await engine.drain(timeout=60)
    finally:
        await bot.session.close()
    assert [p["text"] for p in server.sent(1)] == ["1 only"]
    assert [p["text"] for p in server.sent(3)] == ["3 only"]
    row = await db.fetchone("SELECT status, attempts, error FROM outbox WHERE chat_id = 2")
    assert row["status"] == "failed" and "Internal" in row["error"]
    assert row["attempts"] == engine.max_attempts == len(server.calls("sendMessage", 2))
    assert time.elapsed >= timedelta(hours=24).total_seconds()
    assert engine.stats.failed == 1


async def test_a_long_outage_is_not_a_loss(db, server):
    """Telegram down for 20 hours: still inside the retry window, nothing is failed."""
    await fan_out(db, chats=10)
    time = FakeTime()
    server.outage("500", 20 * 3600, time.monotonic, after_sends=3)
    bot = server.make_bot()
    try:
        engine = driven_sender(bot, db, time)
        await engine.drain(timeout=60)
    finally:
        await bot.session.close()
    assert_each_part_once_in_order(server, chats=10)
    assert engine.stats.failed == 0


def test_default_retry_window_is_at_least_a_day():
    base, cap = 2.0, 300.0
    attempts = attempts_for(timedelta(hours=24), base, cap)
    delays = [min(cap, base * 2 ** (n - 1)) for n in range(1, attempts)]
    assert sum(delays) >= 24 * 3600 > sum(delays[:-1])
    assert max(delays) == cap


def test_breaker_opens_after_consecutive_failures_and_backs_off():
    breaker = CircuitBreaker(threshold=3, probe_base=1, probe_cap=60)
    assert not breaker.failure() and not breaker.failure()
    breaker.success()  # a success in between: not consecutive
    assert not breaker.failure() and not breaker.failure()
    assert breaker.failure() and breaker.is_open
    assert not breaker.failure()  # already open: opened once
    assert [breaker.next_probe_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    breaker.success()
    assert not breaker.is_open and breaker.next_probe_delay() == 1
