"""The outbox sender against the fake Bot API on 127.0.0.1: order, 429, 403, 5xx, migration,
bad requests, rate limits, and a SIGKILL in the middle of a fan-out."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import Sender
from bot.domain import DigestPlan
from storage.chats import ChatRepo
from storage.db import Database
from storage.outbox import MESSAGE_TEXT, OutboxRepo
from storage.stores import stores_over
from tests.support.fakebotapi import FakeBotAPI

NOW = datetime(2025, 6, 1, 6, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


async def subscribe(db: Database, *chat_ids: int) -> None:
    repo = ChatRepo(db)
    for chat_id in chat_ids:
        await repo.ensure(chat_id, type="private" if chat_id > 0 else "group", title=None,
                          username=None, language="ru", timezone="UTC", now=NOW)  # fmt: skip
        await repo.set_topics(chat_id, ["un"], NOW)


async def queue(db: Database, chat_id: int, *parts: str, kind: str = "manual") -> int | None:
    chat = await ChatRepo(db).get(chat_id)
    plan = DigestPlan(
        chat_id=chat_id, kind=kind, slot_at=NOW, parts=parts, article_count=len(parts),
        outcome="queued", expected_cursor=chat.cursor_article_id,
        expected_updated_at=chat.updated_at, new_cursor=None,
    )  # fmt: skip
    [digest_id] = await OutboxRepo(db).record_digests([plan], NOW)
    return digest_id


def texts(server: FakeBotAPI, chat_id: int) -> list[str]:
    return [p["text"] for p in server.sent(chat_id)]


def sender(bot, db, **kw) -> Sender:
    kw.setdefault("rate", 0)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("idle_poll", 0.2)
    return Sender(bot, stores_over(db), **kw)


async def test_parts_in_order_and_marked_sent(db, server, bot):
    await subscribe(db, 1, 2, 3)
    await queue(db, 1, "<b>one</b> a", "one b", "one c")
    await queue(db, 2, "two")
    await queue(db, 3, "three a", "three b")
    engine = sender(bot, db)
    await engine.drain(timeout=10)
    assert texts(server, 1) == ["<b>one</b> a", "one b", "one c"]
    assert texts(server, 2) == ["two"] and texts(server, 3) == ["three a", "three b"]
    first = server.sent(1)[0]
    assert first["parse_mode"] == "HTML" and first["link_preview_options"]["is_disabled"]
    rows = await db.fetchall("SELECT status, message_id, sent_at FROM outbox ORDER BY id")
    assert all(r["status"] == "sent" and r["message_id"] and r["sent_at"] for r in rows)
    assert engine.stats.sent == 6


async def test_started_loop_wakes_and_stops_cleanly(db, server, bot):
    await subscribe(db, 1)
    engine = sender(bot, db, idle_poll=30)
    engine.start()
    await asyncio.sleep(0.05)
    await queue(db, 1, "hello")
    engine.wake()
    await server.wait_sent(1, 1, timeout=3)
    await engine.stop()
    assert engine._task is None and not engine._sends


async def test_flood_wait_in_group_delays_only_that_chat(db, server, bot):
    await subscribe(db, -10, 2)
    await queue(db, -10, "group msg")
    await queue(db, 2, "private a", "private b")
    server.fail_next("sendMessage", "429", chat_id=-10, retry_after=1)
    engine = sender(bot, db, rate=1000)  # per-chat 1/s spacing on
    started = time.monotonic()
    await engine.drain(timeout=10)
    assert texts(server, -10) == ["group msg"] and texts(server, 2) == ["private a", "private b"]
    assert time.monotonic() - started >= 1.0
    order = [r.params["chat_id"] for r in server.requests if r.ok]
    assert order.index(2) < order.index(-10)  # the private chat did not wait for the group
    assert engine.stats.flood_waits == 1 and engine.stats.failed == 0


async def test_flood_wait_in_private_chat_pauses_everyone_and_drops_nothing(db, server, bot):
    await subscribe(db, 1, 2)
    await queue(db, 1, "a")
    await queue(db, 2, "b")
    # 2 s: more than the whole-second rounding of a "retry now" (so ignoring it cannot pass)
    server.fail_next("sendMessage", "429", chat_id=1, retry_after=2, times=2)
    engine = sender(bot, db, rate=1000, concurrency=1)
    await engine.drain(timeout=15)
    assert texts(server, 1) == ["a"] and texts(server, 2) == ["b"]
    assert engine.stats.flood_waits == 2
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 2
    # both 429s were kept: chat 1 retried no sooner than retry_after, chat 2 not sent to meanwhile
    assert server.assert_retries_waited() == 2 and server.assert_global_pauses() == 2


async def test_blocked_chat_keeps_settings_others_flow(db, server, bot):
    await subscribe(db, 1, 2)
    await queue(db, 1, "a1", "a2")
    await queue(db, 2, "b")
    server.blocked.add(1)
    engine = sender(bot, db)
    await engine.drain(timeout=10)
    chat = await ChatRepo(db).get(1)
    assert chat.status == "blocked" and chat.topics == ("un",)
    assert texts(server, 2) == ["b"] and len(server.calls("sendMessage", 1)) == 1
    errors = await db.fetchall("SELECT status, error FROM outbox WHERE chat_id = 1")
    assert [r["status"] for r in errors] == ["failed", "failed"]
    assert all(r["error"].startswith("blocked") for r in errors)
    assert (await ChatRepo(db).reactivate(1, NOW)).status == "active"


async def test_server_errors_retry_bounded_others_flow(db, server, bot):
    await subscribe(db, 1, 2, 3)
    await queue(db, 1, "flaky")
    await queue(db, 2, "broken")
    await queue(db, 3, "fine")
    server.fail_next("sendMessage", "500", chat_id=1, times=2)
    server.fail_next("sendMessage", "drop", chat_id=1, times=1)
    server.fail_next("sendMessage", "500", chat_id=2, times=50)
    engine = sender(bot, db, max_attempts=5, backoff_base=0.01)
    await engine.drain(timeout=30)
    assert texts(server, 1) == ["flaky"] and texts(server, 3) == ["fine"]
    assert len(server.calls("sendMessage", 2)) == 5
    row = await db.fetchone("SELECT status, attempts, error FROM outbox WHERE chat_id = 2")
    assert row["status"] == "failed" and row["attempts"] == 5 and "Internal" in row["error"]
    assert engine.stats.failed == 1 and engine.stats.retries == 3 + 4


async def test_bad_request_fails_once(db, server, bot):
    await subscribe(db, 1, 2)
    await queue(db, 1, "<b>unclosed", "next part")
    await queue(db, 2, "fine")
    engine = sender(bot, db)
    await engine.drain(timeout=10)
    assert len(server.calls("sendMessage", 1)) == 2  # the bad part once, then the next one
    assert texts(server, 1) == ["next part"] and texts(server, 2) == ["fine"]
    row = await db.fetchone(
        f"SELECT status, error FROM outbox WHERE {MESSAGE_TEXT} = '<b>unclosed'"
    )
    assert row["status"] == "failed" and "parse entities" in row["error"]
    assert (await ChatRepo(db).get(1)).status == "active"


async def test_group_migrated_to_supergroup(db, server, bot):
    await subscribe(db, -5)
    await queue(db, -5, "first", "second")
    server.fail_next("sendMessage", "migrate", chat_id=-5, migrate_to=-1005)
    engine = sender(bot, db)
    await engine.drain(timeout=10)
    assert texts(server, -1005) == ["first", "second"]
    chats = ChatRepo(db)
    assert await chats.get(-5) is None
    assert (await chats.get(-1005)).topics == ("un",)
    assert engine.stats.migrated == 1


async def test_per_chat_spacing_measured(db, server, bot):
    await subscribe(db, 7)
    await queue(db, 7, "p0", "p1", "p2")
    engine = sender(bot, db, rate=100)
    started = time.monotonic()
    await engine.drain(timeout=10)
    assert texts(server, 7) == ["p0", "p1", "p2"]
    assert time.monotonic() - started >= 2.0  # three parts, ≥ 1 s apart


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_global_spacing_and_pause():
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    delays = [limiter.reserve_global() for _ in range(50)]
    assert delays[0] == 0 and delays[-1] == pytest.approx(49 / 25)
    clock.now += 10
    limiter.pause_global(3)
    assert limiter.reserve_global() == pytest.approx(3)
    assert RateLimiter(0, clock=clock).reserve_global() == 0


def test_limiter_per_chat_and_group_per_minute():
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    limiter.note_send(5)
    assert limiter.chat_ready_at(5) == pytest.approx(clock.now + 1)
    assert limiter.chat_ready_at(6) == 0
    for _ in range(20):
        assert limiter.chat_ready_at(-9) <= clock.now
        limiter.note_send(-9)
        clock.now += 1
    assert limiter.chat_ready_at(-9) == pytest.approx(clock.now - 20 + 60)  # 20 in a minute
    limiter.defer_chat(5, 30)
    assert limiter.chat_ready_at(5) == pytest.approx(clock.now + 30)
    unlimited = RateLimiter(0, clock=clock)
    unlimited.note_send(-9)
    assert unlimited.chat_ready_at(-9) <= clock.now


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_sigkill_mid_fanout_then_restart(tmp_path, server, concurrency):
    chats = 300
    path = tmp_path / "crash.sqlite3"
    async with Database(path) as db:
        stamp = "2025-06-01T06:00:00Z"
        await db.executemany(
            "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
            " VALUES (?, 'private', 'UTC', ?, ?)",
            [(n, stamp, stamp) for n in range(1, chats + 1)],
        )
        plans = [
            DigestPlan(chat_id=n, kind="manual", slot_at=NOW, parts=(f"digest for {n}",),
                       article_count=1, outcome="queued", expected_cursor=0,
                       expected_updated_at=NOW, new_cursor=None)
            for n in range(1, chats + 1)
        ]  # fmt: skip
        await OutboxRepo(db).record_digests(plans, NOW)
    child = ROOT / "tests" / "support" / "outbox_child.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(child), str(path), server.base_url, str(concurrency)]

    proc = await asyncio.create_subprocess_exec(*args, env=env)
    await server.wait_calls("sendMessage", chats // 3, timeout=30)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    before = len(server.calls("sendMessage"))
    assert before < chats, "killed too late to test anything"

    proc = await asyncio.create_subprocess_exec(*args, env=env)
    assert await asyncio.wait_for(proc.wait(), 60) == 0

    delivered = Counter(r.params["chat_id"] for r in server.requests if r.ok)
    assert set(delivered) == set(range(1, chats + 1))  # every chat got its digest
    duplicates = sum(n - 1 for n in delivered.values())
    assert duplicates <= concurrency and max(delivered.values()) <= 2
    async with Database(path) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0
