"""Every fault kind × every phase of a fan-out ends with exactly one copy of each part per chat.

Faults: 429 for everyone, Telegram 5xx / dropped connections / hanging requests for two minutes,
and the database's write lock held by another connection for two minutes. Phases: while the
digests are still being planned (queued batch by batch), in the middle of sending, and at the
moment a send is being recorded. Time is a `FakeTime`, so each case runs in about a second.
(kill -9 is covered by test_delivery.py: only the in-flight messages may repeat there.)
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import pytest

from bot.domain import DigestPlan
from storage.db import Database
from storage.outbox import MESSAGE_TEXT, OutboxRepo
from tests.support.outage import (
    START,
    FakeTime,
    OutageBotAPI,
    assert_each_part_once_in_order,
    driven_sender,
)

CHATS = 30
PARTS = ("a", "b")
FAULT_SECONDS = 120
TRIGGER = 12  # the n-th accepted send / recorded send starts the fault


class HookedOutbox(OutboxRepo):
    """The outbox, calling `hook` just before the `at`-th recording of sends (one or several)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.at: int | None = None
        self.hook = None
        self.calls = 0

    async def mark_all_sent(self, marks: Sequence[tuple[int, int, datetime]]) -> None:
        self.calls += 1
        if self.calls == self.at and self.hook is not None:
            await self.hook()
        await super().mark_all_sent(marks)


def plans(chats: range) -> list[DigestPlan]:
    return [
        DigestPlan(chat_id=n, kind="manual", slot_at=START, parts=tuple(f"{n} {p}" for p in PARTS),
                   article_count=len(PARTS), outcome="queued", expected_cursor=0,
                   expected_updated_at=START, new_cursor=None)
        for n in chats
    ]  # fmt: skip


@pytest.mark.parametrize("phase", ["planning", "sending", "recording"])
@pytest.mark.parametrize("fault", ["429", "500", "drop", "hang", "db"])
async def test_fault_matrix_exactly_one_copy(tmp_path, fault, phase):
    path = tmp_path / "matrix.sqlite3"
    async with OutageBotAPI() as server, Database(path) as db:
        await db.conn.execute("PRAGMA busy_timeout=20")
        stamp = "2025-06-01T06:00:00Z"
        await db.executemany(
            "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
            " VALUES (?, 'private', 'UTC', ?, ?)",
            [(n, stamp, stamp) for n in range(1, CHATS + 1)],
        )
        time = FakeTime()
        locker = sqlite3.connect(path, isolation_level=None, timeout=0)
        hits: list[str] = []

        async def take_lock() -> None:
            # Never block the event loop: the bot's own write may need it to finish. The fault
            # is in place before the bot goes on (the hooks await this), on a loaded machine too.
            while True:
                try:
                    locker.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    await asyncio.sleep(0.001)
            time.call_later(FAULT_SECONDS, lambda: locker.execute("ROLLBACK"))

        async def start_fault() -> None:
            hits.append("started")
            if fault == "429":
                server.fail_next("sendMessage", "429", times=6, retry_after=30)
            elif fault == "db":
                await take_lock()
            else:
                server.outage(fault, FAULT_SECONDS, time.monotonic)

        outbox = HookedOutbox(db)
        repo = OutboxRepo(db)
        planning_failures = 0
        bot = server.make_bot()
        try:
            engine = driven_sender(bot, db, time, outbox=outbox)
            batches = [range(1, 11), range(11, 21), range(21, CHATS + 1)]
            if phase == "planning":
                await repo.record_digests(plans(batches[0]), START)
                await start_fault()
                batches = batches[1:]
            else:
                for batch in batches:
                    await repo.record_digests(plans(batch), START)
                batches = []
                if phase == "sending":
                    server.on_accepted(TRIGGER, start_fault)
                else:
                    outbox.at, outbox.hook = TRIGGER, start_fault
            await engine.drain(timeout=60)
            while batches:  # the digest tick: a plan that could not be recorded is retried
                try:
                    await repo.record_digests(plans(batches[0]), START)
                except sqlite3.OperationalError:
                    planning_failures += 1
                    await time.sleep(60)
                    continue
                batches.pop(0)
                await engine.drain(timeout=60)
            await engine.drain(timeout=60)
        finally:
            await bot.session.close()
            locker.close()
        assert hits == ["started"]
        hit = {
            "429": engine.stats.flood_waits,
            "db": engine.stats.unrecorded + planning_failures,
        }.get(fault, len(server.down_calls))
        assert hit, "the fault never hit anything"
        assert_each_part_once_in_order(server, chats=CHATS, parts=PARTS)
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0
        assert engine.stats.failed == 0
        # Each row records the message Telegram accepted for it (its id, when), also those
        # recorded late, after the database came back.
        rows = await db.fetchall(
            f"SELECT chat_id, {MESSAGE_TEXT} AS text, message_id, sent_at FROM outbox"
        )
        for row in rows:
            stored = server.messages.get((row["chat_id"], row["message_id"]))
            assert stored is not None and stored.get("text") == row["text"], dict(row)
            assert row["sent_at"] is not None, dict(row)
