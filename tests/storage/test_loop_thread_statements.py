"""The sender's two statements per message on the event loop's own thread (`fetch_now`,
`execute_each`): they never make the loop wait for another writer, they fall back to the worker
thread when the database is busy, and the WAL stays small although that connection never
checkpoints itself."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from storage.db import CHECKPOINT_EVERY, Database
from storage.outbox import OutboxRepo
from tests.delivery.test_delivery_promises import fill

NOW = datetime(2025, 6, 1, 6, tzinfo=UTC)
MARK = "UPDATE outbox SET status = 'sent', message_id = ? WHERE id = ? AND status <> 'sent'"


def hold_write_lock(path) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_write_while_another_writer_holds_the_database_waits_off_the_loop(tmp_path):
    path = tmp_path / "busy.sqlite3"
    await fill(path, (1, 2), parts=1)
    async with Database(path) as db:
        ids = [m.id for m in await OutboxRepo(db).due_heads(NOW, 10)]
        other = hold_write_lock(path)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        write = asyncio.create_task(db.execute_each(MARK, [(501, ids[0]), (502, ids[1])]))
        await asyncio.sleep(0.3)
        assert not write.done()  # it waits for the lock (the worker thread's busy timeout)…
        assert ticks >= 10  # …while the loop keeps running
        # a read on the loop thread does not wait for the writer either (WAL)
        rows = await db.fetch_now("SELECT status FROM outbox WHERE id = ?", (ids[0],))
        assert rows[0]["status"] == "pending"
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(write, 10)
        beat.cancel()
        rows = await db.fetchall("SELECT message_id FROM outbox ORDER BY id")
    assert [r["message_id"] for r in rows] == [501, 502]


async def test_a_write_error_that_is_not_busy_reaches_the_caller(tmp_path):
    path = tmp_path / "error.sqlite3"
    await fill(path, (1,), parts=1)
    async with Database(path) as db:
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            await db.execute_each("UPDATE outbox SET nonsense = 1 WHERE id = ?", [(1,)])
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await db.fetch_now("SELECT * FROM nowhere")


async def test_the_wal_stays_small_through_a_long_run_of_marks(tmp_path):
    path = tmp_path / "wal.sqlite3"
    chats = range(1, 8 * CHECKPOINT_EVERY + 1)
    await fill(path, chats, parts=1)
    wal = path.with_name(path.name + "-wal")
    async with Database(path) as db:
        repo = OutboxRepo(db)
        heads = await repo.due_heads(NOW, len(chats))
        start = wal.stat().st_size
        for n, head in enumerate(heads):
            await repo.mark_all_sent([(head.id, 1000 + n, NOW)])
        grown = wal.stat().st_size - start
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == len(chats)
    # 2,000 marks without a checkpoint grow the WAL by ~36 MB; with one every
    # CHECKPOINT_EVERY marks, the WAL is reused and grows by a few MB at most
    assert grown < 12 * 1024 * 1024, f"the WAL grew by {grown / 1e6:.1f} MB"


async def test_an_in_memory_database_takes_the_worker_thread(tmp_path):
    """A second connection to ":memory:" would be another, empty database."""
    async with Database(":memory:") as db:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        await db.execute("INSERT INTO t (id, v) VALUES (1, 0)")
        await db.execute_each("UPDATE t SET v = ? WHERE id = ?", [(7, 1)])
        assert [r["v"] for r in await db.fetch_now("SELECT v FROM t")] == [7]
