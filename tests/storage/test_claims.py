"""Claims that let several processes share one database: due feeds and outbox messages.

Run on both engines (the `db` fixture); the concurrent cases use two connection pools on one
PostgreSQL database, as two processes would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.engines import open_database
from storage.feeds import FeedRepo
from tests.support.outage import START, fan_out

NOW = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


async def add_feeds(db, n: int) -> list[int]:
    feeds = FeedRepo(db)
    return [(await feeds.add(f"https://agency{i}.example/rss", now=NOW)).id for i in range(n)]


async def test_a_claimed_feed_is_not_due_for_anyone_until_its_lease_ends(db):
    ids = await add_feeds(db, 3)
    feeds = FeedRepo(db)
    assert sorted(f.id for f in await feeds.claim_due(NOW, LEASE)) == ids
    assert await feeds.claim_due(NOW + timedelta(minutes=1), LEASE) == []
    # the claimer was killed mid-poll: the feeds come back when the lease ends
    back = await feeds.claim_due(NOW + LEASE, LEASE)
    assert sorted(f.id for f in back) == ids


async def test_a_paused_or_inactive_feed_is_never_claimed(db):
    first, second = await add_feeds(db, 2)
    feeds = FeedRepo(db)
    await feeds.set_paused(first, True, NOW)
    assert [f.id for f in await feeds.claim_due(NOW, LEASE)] == [second]


async def test_an_outbox_claim_is_exclusive_until_it_expires(db):
    await fan_out(db, 1, ("a",))
    from storage.outbox import OutboxRepo

    outbox = OutboxRepo(db)
    [head] = await outbox.due_heads(START, 10)
    until = START + LEASE
    assert await outbox.claim(head.id, "w1", START, until)
    assert await outbox.claim(head.id, "w1", START, until)  # the holder may renew
    assert not await outbox.claim(head.id, "w2", START, until)
    assert await outbox.due_heads(START, 10, owner="w2") == []  # w2 leaves the chat alone
    assert [m.id for m in await outbox.due_heads(START, 10, owner="w1")] == [head.id]
    assert await outbox.next_due_at(owner="w2") == until
    assert await outbox.claim(head.id, "w2", until, until + LEASE)  # the lease ran out
    await outbox.mark_sent(head.id, 7, until)
    assert not await outbox.claim(head.id, "w1", until + LEASE, until + 2 * LEASE)  # sent


async def test_two_processes_claiming_at_once_split_the_due_feeds(pg_template):
    url = await pg_template.fresh_database()
    async with open_database(url) as first, open_database(url) as second:
        ids = await add_feeds(first, 40)
        for _ in range(5):  # a few rounds: each round every feed is claimed by exactly one
            a, b = await asyncio.gather(
                FeedRepo(first).claim_due(NOW, LEASE), FeedRepo(second).claim_due(NOW, LEASE)
            )
            taken = [f.id for f in a] + [f.id for f in b]
            assert sorted(taken) == ids, "a feed was claimed twice or by nobody"
            await first.execute("UPDATE feeds SET next_poll_at = ?", ("2025-06-01T06:00:00Z",))
