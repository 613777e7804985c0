"""Group commit in the sender: the sends in flight together ask the database together (one
round trip for several), and a send still ends only once it is recorded — the sends that repeat
after a crash stay those in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import pytest

from bot.delivery.coalesce import Coalescer
from bot.delivery.sender import Sender
from storage.db import Database
from storage.outbox import OutboxRepo
from storage.stores import stores_over
from tests.delivery.test_delivery_promises import assert_each_chat_got_its_digest_once, fill

# -- the coalescer alone


class Recorder:
    """A batch function that records its batches and waits for `gate` while it runs."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.fail_when: int | None = None  # a batch with this item fails

    async def __call__(self, items: Sequence[int]) -> dict[int, str]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail_when in items:
            raise OSError("disk I/O error")
        return {i: f"done {i}" for i in items if i % 2 == 0}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_first_call_goes_alone_and_calls_made_meanwhile_go_together():
    run = Recorder()
    ask = Coalescer(run)
    first = asyncio.create_task(ask(2))
    await settle()
    assert run.batches == [[2]]  # nothing waited for company
    others = [asyncio.create_task(ask(n)) for n in (3, 4, 5)]
    await settle()
    assert run.batches == [[2]]  # they wait while the first batch runs…
    run.gate.set()
    assert await first == "done 2"
    assert await asyncio.gather(*others) == [None, "done 4", None]
    assert run.batches == [[2], [3, 4, 5]]  # …and then go in one
    assert ask.batches == 2
    assert await ask(6) == "done 6" and run.batches[-1] == [6]


async def test_a_failed_batch_fails_each_of_its_callers_and_not_the_next():
    run = Recorder()
    ask = Coalescer(run)
    leader = asyncio.create_task(ask(0))
    await settle()
    failing = [asyncio.create_task(ask(n)) for n in (1, 2)]
    await settle()
    run.fail_when = 1
    run.gate.set()
    assert await leader == "done 0"
    for task in failing:
        with pytest.raises(OSError, match="disk I/O error"):
            await task
    assert await ask(4) == "done 4"
    assert run.batches == [[0], [1, 2], [4]]


async def test_a_cancelled_caller_leaves_the_others_their_batch():
    run = Recorder()
    ask = Coalescer(run)
    gone = asyncio.create_task(ask(2))  # runs its batch of one itself
    await settle()
    stays = [asyncio.create_task(ask(n)) for n in (4, 6)]
    gone_late = asyncio.create_task(ask(8))
    await settle()
    gone.cancel()  # a stop's grace ran out: its own batch stops…
    gone_late.cancel()  # …and one waiting in the queue leaves it
    await settle()
    run.gate.set()
    assert await asyncio.gather(*stays) == ["done 4", "done 6"]  # the others still go
    assert gone.cancelled() and gone_late.cancelled()
    assert run.batches == [[2], [4, 6, 8]]
    await settle()  # the queued batch's task is done
    assert await ask(10) == "done 10" and run.batches[-1] == [10]


# -- in the sender, on a real SQLite file and the fake Bot API


class HeldRecords(OutboxRepo):
    """The outbox whose first recording of sends waits until `release` is set; the number of
    sends each recording holds is kept."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.sizes: list[int] = []
        self.release = asyncio.Event()
        self.held = asyncio.Event()

    async def mark_all_sent(self, marks: Sequence[tuple[int, int, datetime]]) -> None:
        self.sizes.append(len(marks))
        if len(self.sizes) == 1:
            self.held.set()
            await self.release.wait()
        await super().mark_all_sent(marks)


async def test_sends_recorded_while_one_recording_runs_share_the_next(tmp_path, server, bot):
    expected = await fill(tmp_path / "c.sqlite3", range(1, 13), parts=1)
    async with Database(tmp_path / "c.sqlite3") as db:
        outbox = HeldRecords(db)
        engine = Sender(bot, stores_over(db), rate=0, concurrency=4, idle_poll=0.1, outbox=outbox)
        engine.start()
        try:
            await asyncio.wait_for(outbox.held.wait(), 10)
            # the other three sends in flight are accepted while the first recording hangs…
            await server.wait_until(lambda: len(server.sends()) == 4, timeout=10, what="4 sends")
            await asyncio.sleep(0.2)
            # …and no fifth starts: a send's slot is free only once its send is recorded
            assert len(server.sends()) == 4
            outbox.release.set()
            await server.wait_until(lambda: len(server.sends()) == 12, timeout=10, what="all")
        finally:
            await engine.stop()
        # the four sends in flight took two recordings at most (one held, one for the sends
        # accepted meanwhile), not four
        first, second = outbox.sizes[:2]
        assert first == 4 or first + second == 4, outbox.sizes
        assert sum(outbox.sizes) == 12
        statuses = await db.fetchall("SELECT status, message_id FROM outbox")
        assert all(r["status"] == "sent" and r["message_id"] for r in statuses)
    assert_each_chat_got_its_digest_once(server, expected)


async def test_a_message_recorded_twice_keeps_its_first_record(tmp_path):
    """A recording retried after a partial failure leaves the rows it did write as they were."""
    await fill(tmp_path / "r.sqlite3", (1, 2), parts=1)
    async with Database(tmp_path / "r.sqlite3") as db:
        repo = OutboxRepo(db)
        first, second = (m.id for m in await repo.due_heads(datetime.now().astimezone(), 10))
        stamp = datetime.now().astimezone()
        await repo.mark_all_sent([(first, 501, stamp)])
        await repo.mark_all_sent([(first, 777, stamp), (second, 502, stamp)])
        rows = await db.fetchall("SELECT id, message_id, attempts FROM outbox ORDER BY id")
    assert [(r["message_id"], r["attempts"]) for r in rows] == [(501, 1), (502, 1)]
