"""A ban holds at planning time, for scheduled and instant digests alike, on a real SQLite file:
a banned chat that an admin resumed (status active again) is never planned — no outbox row, no
digest row, its cursor and slot untouched — while an unbanned neighbour with the same schedule
is planned in the same tick. (The send-time check is tested in tests/delivery; these tests look
at the outbox before any sender runs, so they fail if planning alone forgets the ban.)"""

from __future__ import annotations

import pytest

from storage.access import AccessRepo
from storage.chats import ChatRepo
from storage.db import Database
from tests.digests.test_digest_forum import SLOT, add_stories, make_service, outbox, subscribe
from tests.digests.test_digest_jobs import T0, Clock

BANNED, NEIGHBOUR = -2001, -2002


async def ban_and_resume(db, chat_id: int) -> None:
    assert await AccessRepo(db).ban(chat_id, by=1, reason="spam", now=T0)
    await ChatRepo(db).set_status(chat_id, "active", T0)  # an admin resumed it; the ban stays


async def digest_rows(db, chat_id: int) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM outbox WHERE chat_id = ?", (chat_id,))
    return row[0]


@pytest.mark.parametrize("banned_first", [True, False])
async def test_scheduled_digest_is_not_planned_for_a_banned_chat(tmp_path, banned_first):
    async with Database(tmp_path / "bans.sqlite3") as db:
        clock = Clock(T0)
        service = make_service(db, clock)
        order = (BANNED, NEIGHBOUR) if banned_first else (NEIGHBOUR, BANNED)
        for chat_id in order:
            await subscribe(db, chat_id)
        await ban_and_resume(db, BANNED)
        await add_stories(db)
        clock.now = SLOT
        report = await service.run_due(SLOT)
        assert report.queued == 1
        assert await outbox(db, BANNED) == []
        assert len(await outbox(db, NEIGHBOUR)) == 1
        before = await ChatRepo(db).get(BANNED)
        for day in range(1, 4):  # and on every later slot while the ban holds
            await add_stories(db)
            assert (await service.run_due(SLOT.replace(day=SLOT.day + day))).queued == 1
        assert await digest_rows(db, BANNED) == 0
        after = await ChatRepo(db).get(BANNED)
        assert after.cursor_article_id == before.cursor_article_id


async def test_instant_digest_is_not_planned_for_a_banned_chat(tmp_path):
    async with Database(tmp_path / "bans.sqlite3") as db:
        clock = Clock(T0)
        service = make_service(db, clock)
        for chat_id in (BANNED, NEIGHBOUR):
            await subscribe(db, chat_id, mode="instant")
        await ban_and_resume(db, BANNED)
        await add_stories(db)
        assert await service.deliver_instant(SLOT) == 1
        assert await outbox(db, BANNED) == []
        assert len(await outbox(db, NEIGHBOUR)) >= 1
        await add_stories(db)
        assert await service.deliver_instant(SLOT) == 1  # the next poll's items: still not planned
        assert await digest_rows(db, BANNED) == 0


async def test_a_ban_after_subscribing_stops_planning_from_the_next_tick(tmp_path):
    async with Database(tmp_path / "bans.sqlite3") as db:
        clock = Clock(T0)
        service = make_service(db, clock)
        await subscribe(db, BANNED, mode="instant")
        await add_stories(db)
        assert await service.deliver_instant(SLOT) == 1
        sent_before = await digest_rows(db, BANNED)
        assert sent_before >= 1
        await ban_and_resume(db, BANNED)
        await add_stories(db)
        assert await service.deliver_instant(SLOT) == 0
        assert await digest_rows(db, BANNED) == sent_before
