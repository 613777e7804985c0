"""A database that cannot record sends (locked for long, disk full) in the middle of a fan-out:
what Telegram accepted is never sent again, nothing new starts until records are written, the
admins hear about it, and a stop (SIGTERM) still ends promptly."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from bot.admin.alerts import Alerts
from bot.app.runner import alert_sender
from storage.alertlog import AlertLog
from storage.db import Database
from storage.feeds import FeedRepo
from storage.outbox import OutboxRepo
from storage.stats import StatsRepo
from tests.support.outage import (
    CHATS,
    FakeTime,
    OutageBotAPI,
    assert_each_part_once_in_order,
    driven_sender,
    fan_out,
)

ADMIN = 999


class WriteLock:
    """Another connection holding the database's write lock: every write here fails as
    "database is locked" once the busy timeout runs out — a real SQLite failure."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=0)
        self.held = False

    async def take(self) -> None:
        # Never wait inside the event loop: the bot's own transaction may need it to finish.
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                await asyncio.sleep(0.001)
                continue
            self.held = True
            return

    def release(self) -> None:
        if self.held:
            self.conn.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self.conn.close()


class FailingRecords(OutboxRepo):
    """The outbox with a write failure from the `at`-th recording of sends on (a call of
    mark_all_sent: one or several sends), for `failures` attempts:
    "locked" takes the real write lock; "full" raises what SQLite says when the disk is full."""

    def __init__(self, db: Database, lock: WriteLock, mode: str, *, at: int, failures: int,
                 server: OutageBotAPI) -> None:  # fmt: skip
        super().__init__(db)
        self.lock, self.mode, self.at, self.failures = lock, mode, at, failures
        self.server = server
        self.calls = self.failed = 0
        self.sends_at_failure: int | None = None  # sendMessage calls when recording broke
        self.sends_at_recovery: int | None = None

    def _sends(self) -> int:
        return sum(1 for r in self.server.requests
                   if r.method == "sendMessage" and r.params.get("chat_id") != ADMIN)  # fmt: skip

    async def mark_all_sent(self, marks: Sequence[tuple[int, int, datetime]]) -> None:
        self.calls += 1
        if self.calls == self.at:
            if self.mode == "locked":
                await self.lock.take()
            # counted once the lock is really held: while take() waited for the bot's own
            # writes, other sends were still being recorded normally
            self.sends_at_failure = self._sends()
        broken = self.at <= self.calls and self.failed < self.failures
        if not broken and self.sends_at_failure is not None and self.sends_at_recovery is None:
            self.lock.release()
            self.sends_at_recovery = self._sends()
        if broken and self.mode == "full":
            self.failed += 1
            raise sqlite3.OperationalError("database or disk is full")
        try:
            await super().mark_all_sent(marks)
        except sqlite3.OperationalError:
            self.failed += 1
            raise


@pytest.fixture
async def server() -> AsyncIterator[OutageBotAPI]:
    async with OutageBotAPI() as fake:
        yield fake


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "records.sqlite3") as database:
        await database.conn.execute("PRAGMA busy_timeout=20")  # "locked for long", quickly
        yield database


@pytest.fixture
def lock(db) -> AsyncIterator[WriteLock]:
    held = WriteLock(db.path)
    yield held
    held.close()


def alerts_for(db: Database, bot) -> Alerts:
    return Alerts(send_text=alert_sender(bot), feeds=FeedRepo(db), stats=StatsRepo(db), log_repo=AlertLog(db),
                  admin_ids=[ADMIN], admin_chat_id=None, clock=datetime.now,
                  language="en")  # fmt: skip


@pytest.mark.parametrize("mode", ["locked", "full"])
async def test_unrecordable_sends_are_never_repeated(db, server, lock, mode):
    await fan_out(db)
    outbox = FailingRecords(db, lock, mode, at=30, failures=25, server=server)
    time = FakeTime()
    bot = server.make_bot()
    try:
        engine = driven_sender(bot, db, time, outbox=outbox, on_alert=alerts_for(db, bot).notify)
        await engine.drain(timeout=60)
        await engine.stop()  # lets the alerts go out
    finally:
        await bot.session.close()
    assert outbox.failed == 25 and outbox.sends_at_recovery is not None
    assert_each_part_once_in_order(server)
    # While sends could not be recorded, only those already in flight went out (≤ concurrency).
    assert outbox.sends_at_recovery - outbox.sends_at_failure <= 4
    rows = await db.fetchall("SELECT status, message_id FROM outbox")
    assert len(rows) == 2 * CHATS and all(r["status"] == "sent" and r["message_id"] for r in rows)
    assert engine.stats.unrecorded >= 1
    admin = [p["text"] for p in server.sent(ADMIN)]
    assert len(admin) == 2 and "cannot record" in admin[0] and "again" in admin[1]


async def test_stop_is_prompt_while_the_database_stays_locked(db, server, lock):
    """SIGTERM with sends unrecorded and the lock never released: stop() ends within its
    grace; after a restart only those unrecorded sends (≤ concurrency) can repeat."""
    await fan_out(db)
    outbox = FailingRecords(db, lock, "locked", at=30, failures=10**9, server=server)
    time = FakeTime()
    bot = server.make_bot()
    try:
        engine = driven_sender(bot, db, time, outbox=outbox)
        engine.start()
        async with asyncio.timeout(30):
            while not (engine.stats.unrecorded and not engine._sends):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        async with asyncio.timeout(10):
            await engine.stop(grace=3)
        assert engine._task is None and not engine._sends
        sends = outbox._sends()
        assert sends - outbox.sends_at_failure <= 4  # nothing new started while locked
        lock.release()
        restarted = driven_sender(bot, db, FakeTime())
        await restarted.drain(timeout=60)
    finally:
        await bot.session.close()
    counts = Counter(server.accepted().values())
    got = server.accepted()
    assert all(got[(n, f"{n} {p}")] >= 1 for n in range(1, CHATS + 1) for p in ("a", "b"))
    assert sum(c - 1 for c in got.values()) <= 4 and max(counts) <= 2
