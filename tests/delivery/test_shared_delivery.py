"""Several processes on one PostgreSQL database: each message still reaches its chat exactly once.

Each "process" here is its own connection pool and its own Sender with its own claim owner,
exactly what two `worker` processes have; the Bot API is the fake on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import CLAIM_ROUNDS, Sender
from storage.engines import open_database
from storage.outbox import OutboxRepo
from storage.stores import stores_over
from tests.support.outage import START, FakeTime, OutageBotAPI, fan_out

CHATS = 20
PARTS = ("a", "b", "c")


def each_part_once_in_order(server, chats: int, parts: tuple[str, ...]) -> None:
    for n in range(1, chats + 1):
        got = [p["text"] for p in server.sent(n)]
        assert got == [f"{n} {p}" for p in parts], f"chat {n} got {got}"


async def test_two_workers_share_the_outbox_without_a_repeat(pg_template):
    url = await pg_template.fresh_database()
    async with OutageBotAPI() as server, open_database(url) as db_a, open_database(url) as db_b:
        await fan_out(db_a, CHATS, PARTS)
        bot = server.make_bot()
        workers = [
            Sender(bot, stores_over(db), rate=0, idle_poll=0.05, exclusive=False, concurrency=3)
            for db in (db_a, db_b)
        ]
        try:
            for worker in workers:
                worker.start()
            async with asyncio.timeout(60):
                while len(server.sends()) < CHATS * len(PARTS) or await db_a.fetchval(  # noqa: ASYNC110
                    "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
                ):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a repeat, if any, would arrive now
        finally:
            for worker in workers:
                await worker.stop()
            await bot.session.close()
        each_part_once_in_order(server, CHATS, PARTS)
        assert sum(w.stats.sent for w in workers) == CHATS * len(PARTS)
        assert all(w.stats.sent for w in workers), "one worker did everything: no sharing shown"
        left = await db_a.fetchall(
            "SELECT id, chat_id, status, claimed_by, claimed_until, sent_at FROM outbox WHERE claimed_by IS NOT NULL"
        )
        assert [tuple(r) for r in left] == [], [w.owner for w in workers]


async def test_a_dead_workers_claim_is_taken_over_when_its_lease_ends(pg_template):
    """A worker claimed chat 1's first part and was killed before Telegram got it: nobody sends
    that chat anything until the lease ends (its parts stay in order), then another worker
    sends it — once; every other chat is served meanwhile."""
    url = await pg_template.fresh_database()
    time = FakeTime()
    lease = timedelta(seconds=90)
    async with OutageBotAPI() as server, open_database(url) as db:
        await fan_out(db, 5, PARTS)
        outbox = OutboxRepo(db)
        [head] = [m for m in await outbox.due_heads(START, 100) if m.chat_id == 1]
        assert await outbox.claim(head.id, "killed-worker", START, START + lease)
        # a claim is exclusive: nobody else takes it while the lease runs
        assert not await outbox.claim(head.id, "someone-else", START, START + lease)
        bot = server.make_bot()
        survivor = Sender(bot, stores_over(db), rate=0, idle_poll=1.0, clock=time.now, sleep=time.sleep,
                          limiter=RateLimiter(0, clock=time.monotonic), exclusive=False,
                          lease=lease, request_timeout=5)  # fmt: skip
        try:
            await survivor.drain(timeout=60)
        finally:
            await bot.session.close()
        each_part_once_in_order(server, 5, PARTS)
        first = min(r.received_at for r in server.sends(1))
        others = max(r.received_at for r in server.sends() if r.chat_id != 1)
        assert others < first, "chat 1 went before its dead worker's lease ended"
        assert time.now() >= START + lease


async def _run_two(url, server, *, chats: int, rate: float, until_sent: int) -> list[Sender]:
    async with open_database(url) as db_a, open_database(url) as db_b:
        bot = server.make_bot()
        workers = [
            # a short lease: each claims a second's worth of sends at a time (4 at rate 4)
            Sender(
                bot,
                stores_over(db),
                rate=rate,
                idle_poll=0.05,
                exclusive=False,
                concurrency=4,
                lease=timedelta(seconds=4),
                request_timeout=1,
            )
            for db in (db_a, db_b)
        ]
        try:
            for worker in workers:
                worker.start()
            async with asyncio.timeout(60):
                while len([r for r in server.sends() if r.ok]) < until_sent:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            for worker in workers:
                await worker.stop()
            await bot.session.close()
    return workers


async def test_delivery_rate_holds_for_all_workers_together(pg_template):
    """DELIVERY_RATE=4: two workers together still send 4 a second, not 4 each."""
    url = await pg_template.fresh_database()
    async with OutageBotAPI() as server:
        async with open_database(url) as db:
            await fan_out(db, 10, ("a",))
        workers = await _run_two(url, server, chats=10, rate=4, until_sent=10)
        times = sorted(r.received_at for r in server.sends())
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # the slots are 0.25 s apart; a little slack for the HTTP hop (never half a slot)
        assert min(gaps) >= 0.2, gaps
        assert all(w.stats.sent for w in workers), [w.stats for w in workers]
        each_part_once_in_order(server, 10, ("a",))


async def test_a_flood_wait_seen_by_one_worker_pauses_the_other(pg_template):
    """A 429 in a private chat is the bot-wide limit: nobody sends until retry_after passed."""
    url = await pg_template.fresh_database()
    async with OutageBotAPI() as server:
        async with open_database(url) as db:
            await fan_out(db, 8, ("a",))
        server.fail_next("sendMessage", "429", chat_id=1, retry_after=2)
        await _run_two(url, server, chats=8, rate=4, until_sent=8)
        [refused] = [r for r in server.sends() if r.status == 429]
        after = [r.received_at for r in server.sends() if r.received_at > refused.received_at]
        assert after and min(after) - refused.received_at >= 2.0, "a worker ignored the pause"
        each_part_once_in_order(server, 8, ("a",))


async def test_a_worker_claims_a_few_rounds_of_its_sends_not_the_whole_backlog(pg_template):
    """The rest stays free for the other workers: a busy one must not sit on the backlog (a
    claim of 200 heads left one worker sending the last of them alone)."""
    url = await pg_template.fresh_database()
    async with OutageBotAPI() as server, open_database(url) as db:
        await fan_out(db, 100, ("only",))
        server.fail_next("sendMessage", "hang", times=10**6)  # every send held: nothing ends
        bot = server.make_bot()
        worker = Sender(
            bot, stores_over(db), rate=0, idle_poll=0.05, exclusive=False, concurrency=2
        )
        worker.start()
        try:
            async with asyncio.timeout(30):
                while len(server.requests) < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # had it claimed more, the claim would be written by now
            held = await db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE claimed_by = ?", (worker.owner,)
            )
            assert 2 <= held <= 2 * CLAIM_ROUNDS
            now = datetime.now(UTC)  # the worker's clock: its claims have not expired
            other = await OutboxRepo(db).claim_heads(
                now, 200, owner="another worker", until=now + timedelta(minutes=5)
            )
            assert len(other) == 100 - held
        finally:
            server.release_hung()
            await worker.stop()
            await bot.session.close()
