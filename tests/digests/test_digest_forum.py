"""Forum routing and bans in DigestService on a real SQLite file: per-thread outbox parts for
scheduled, instant and /digest digests, one through the Sender to the fake Bot API; banned chats
get nothing even when active; split_digest (pure) keeps headings and the "more" footer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.sender import Sender
from bot.digests.forum import split_digest
from bot.digests.planner import DigestService
from bot.digests.render import Labels
from bot.digests.selection import Digest, DigestFilter, DigestPool
from bot.i18n.catalog import t
from storage.access import AccessRepo
from storage.broadcasts import BroadcastRepo
from storage.chats import ChatRepo
from storage.outbox import MESSAGE_TEXT, OutboxRepo
from storage.routing import ChatRouting
from storage.stores import stores_over
from tests.digests.test_digest import art
from tests.digests.test_digest_jobs import T0, Clock, add_article
from tests.support.adminharness import USER, running_admin_bot
from tests.support.fakebotapi import FakeBotAPI

ORDER = ("human_rights", "cis", "un")
NAMES = {"human_rights": "Права человека", "cis": "СНГ", "un": "ООН"}
LABELS = {"ru": Labels("ru", NAMES)}
FORUM, PLAIN = -1001, -1002
SLOT = T0 + timedelta(hours=1)  # 09:00 MSK


@pytest.fixture
def clock():
    return Clock(T0)


def make_service(db, clock, **kw) -> DigestService:
    return DigestService(
        stores_over(db), labels_for=LABELS.__getitem__, topic_order=ORDER, clock=clock, **kw
    )


async def subscribe(db, chat_id, *, mode="daily", routes=None, topics=ORDER):
    repo = ChatRepo(db)
    await repo.ensure(chat_id, type="supergroup", title="Forum", username=None, language="ru",
                      timezone="Europe/Moscow", now=T0)  # fmt: skip
    await repo.set_topics(chat_id, list(topics), T0)
    await repo.set_schedule(chat_id, mode=mode, times=() if mode == "instant" else ("09:00",),
                            weekday=None, now=T0)  # fmt: skip
    for topic, thread in (routes or {}).items():
        await ChatRouting(db).set_route(chat_id, topic, thread, by=None, now=T0)


async def outbox(db, chat_id) -> list[tuple[int, int | None, str, int]]:
    rows = await db.fetchall(
        f"SELECT part, thread_id, {MESSAGE_TEXT} AS text, digest_id FROM outbox WHERE chat_id = ? ORDER BY id",
        (chat_id,),
    )
    return [tuple(r) for r in rows]


async def add_stories(db) -> None:
    await add_article(db, topics=("human_rights",), title="HR story")
    await add_article(db, topics=("cis",), title="CIS story")
    await add_article(db, topics=("un",), title="UN story")
    await add_article(db, topics=("cis", "human_rights"), title="Both story")


def titles(text: str) -> set[str]:
    return {t for t in ("HR story", "CIS story", "UN story", "Both story") if t in text}


async def test_scheduled_forum_digest_is_split_per_thread(db, clock):
    service = make_service(db, clock)
    await subscribe(db, FORUM, routes={"human_rights": 11, "cis": 22})
    await subscribe(db, PLAIN)
    await add_stories(db)
    clock.now = SLOT
    assert (await service.tick()).queued == 2
    rows = await outbox(db, FORUM)
    assert [(part, thread) for part, thread, _, _ in rows] == [(0, 11), (1, 22), (2, None)]
    assert len({digest_id for *_, digest_id in rows}) == 1  # one digests row, consecutive parts
    by_thread = {thread: text for _, thread, text, _ in rows}
    assert titles(by_thread[11]) == {"HR story", "Both story"}  # catalog order: human_rights
    assert titles(by_thread[22]) == {"CIS story"}
    assert titles(by_thread[None]) == {"UN story"}  # no route and no '*': the general thread
    header = t("ru", "digest.header", title=t("ru", "digest.title"), date="02.06.2025")
    assert all(text.startswith(header) for text in by_thread.values())  # each thread: a header
    assert "<b>СНГ</b>" in by_thread[22] and "<b>ООН</b>" in by_thread[None]
    # a chat without routes is unchanged: one message, no thread
    [(part, thread, text, _)] = await outbox(db, PLAIN)
    assert (part, thread) == (0, None) and len(titles(text)) == 4
    digest = await db.fetchone("SELECT article_count, outcome FROM digests WHERE chat_id = ?",
                               (FORUM,))  # fmt: skip
    assert tuple(digest) == (4, "queued")
    assert (await ChatRepo(db).get(FORUM)).cursor_article_id == 4


async def test_star_route_and_a_topic_routed_to_its_own_thread_heading(db, clock):
    service = make_service(db, clock)
    await subscribe(db, FORUM, routes={"cis": 22, "*": 33})
    await add_stories(db)
    clock.now = SLOT
    await service.tick()
    rows = await outbox(db, FORUM)
    by_thread = {thread: text for _, thread, text, _ in rows}
    assert set(by_thread) == {22, 33}
    assert titles(by_thread[22]) == {"CIS story", "Both story"}  # human_rights has no route
    assert "Права человека" not in by_thread[22]  # shown under the heading of its thread's topic
    assert titles(by_thread[33]) == {"HR story", "UN story"}


async def test_instant_and_digest_now_are_split_too(db, clock):
    service = make_service(db, clock)
    await subscribe(db, FORUM, mode="instant", routes={"human_rights": 11, "cis": 22})
    await subscribe(db, PLAIN, routes={"un": 5})
    await add_stories(db)
    assert await service.deliver_instant() == 1
    assert [thread for _, thread, _, _ in await outbox(db, FORUM)] == [11, 22, None]
    preview = await service.preview(PLAIN)
    assert await service.digest_now(PLAIN) == 4
    rows = await outbox(db, PLAIN)
    assert [thread for _, thread, _, _ in rows] == [None, 5]  # human_rights/cis sections first
    assert [text for _, _, text, _ in rows] == preview  # the dry run shows what is queued
    assert titles(rows[1][2]) == {"UN story"}


async def test_routes_for_many_chats_in_one_query(db, clock):
    await subscribe(db, FORUM, routes={"cis": 22, "*": 33})
    await subscribe(db, PLAIN)
    await subscribe(db, -1003, routes={"un": 7})
    routing = ChatRouting(db)
    assert await routing.routes_for([FORUM, PLAIN, -1003, FORUM]) == {
        FORUM: {"*": 33, "cis": 22},
        -1003: {"un": 7},
    }
    assert await routing.routes_for([]) == {}
    if db.dialect != "sqlite":
        return  # the statement count below reads SQLite's trace hook
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    await add_stories(db)
    clock.now = SLOT
    assert (await make_service(db, clock).tick()).queued == 3
    await db.conn.set_trace_callback(None)
    assert sum("chat_routes" in s for s in statements) == 1


async def test_link_preview_rides_with_the_top_story_thread(db, clock):
    service = make_service(db, clock, preview_top_story=True)
    await subscribe(db, FORUM, routes={"un": 5})
    await add_article(db, topics=("cis",), title="CIS story")
    newest = await add_article(db, topics=("un",), title="UN story")  # same time, higher id
    await service.digest_now(FORUM)
    url = await db.fetchval("SELECT url FROM articles WHERE id = ?", (newest,))
    rows = await db.fetchall("SELECT thread_id, preview_url FROM outbox ORDER BY id")
    assert [tuple(r) for r in rows] == [(None, None), (5, url)]


async def test_forum_digest_through_the_sender_carries_message_thread_id(db, clock):
    async with FakeBotAPI() as server:
        bot = server.make_bot()
        sender = Sender(bot, stores_over(db), rate=0, idle_poll=0.2)
        service = make_service(db, clock, on_enqueued=sender.wake)
        await subscribe(db, FORUM, routes={"human_rights": 11, "cis": 22})
        await subscribe(db, PLAIN)
        await add_stories(db)
        sender.start()
        try:
            clock.now = SLOT
            assert (await service.tick()).queued == 2
            sent = await server.wait_sent(FORUM, 3)
            assert [m.get("message_thread_id") for m in sent] == [11, 22, None]
            assert titles(sent[0]["text"]) == {"HR story", "Both story"}
            [plain] = await server.wait_sent(PLAIN, 1)
            assert "message_thread_id" not in plain
        finally:
            await sender.stop()
            await bot.session.close()
    assert (await OutboxRepo(db).counts())["sent"] == 4


async def test_banned_chat_gets_nothing_even_when_resumed(db, clock):
    service = make_service(db, clock)
    access = AccessRepo(db)
    await subscribe(db, FORUM)
    await subscribe(db, PLAIN, mode="instant")
    await subscribe(db, -1003)
    for chat_id in (FORUM, PLAIN):
        await access.ban(chat_id, by=1, reason="spam", now=T0)
        assert (await ChatRepo(db).get(chat_id)).status == "paused"
        await ChatRepo(db).set_status(chat_id, "active", T0)  # an admin resumed it via /chat
    await add_stories(db)
    clock.now = SLOT
    report = await service.tick()
    assert (report.queued, report.instant) == (1, 0)
    assert await outbox(db, FORUM) == [] and await outbox(db, PLAIN) == []
    assert await BroadcastRepo(db).enqueue("news", by=1, now=SLOT) is not None
    assert await outbox(db, FORUM) == [] and await outbox(db, PLAIN) == []
    assert len(await outbox(db, -1003)) == 2  # the digest and the broadcast
    await access.unban(FORUM, SLOT)
    await access.unban(PLAIN, SLOT)
    assert await service.deliver_instant(SLOT) == 1
    clock.now = SLOT + timedelta(days=1)
    assert (await service.tick()).queued == 1  # the forum chat's next slot (chat -1003: empty)
    assert len(await outbox(db, FORUM)) == 1


def _digest(pool: DigestPool, topics=ORDER) -> Digest:
    return pool.select(DigestFilter(tuple(topics), ()), after_id=0, cap=2)


def test_split_digest_puts_the_more_footer_in_the_main_chat():
    pool = DigestPool([art(1, topics=("cis",)), art(2, topics=("un",)), art(3, topics=("cis",))],
                      ORDER)  # fmt: skip
    digest = _digest(pool)
    assert digest.more == 1
    assert split_digest(digest, {}) == [(None, digest)]
    split = split_digest(digest, {"cis": 22}, chosen=ORDER, topic_order=ORDER)
    assert [(thread, part.more) for thread, part in split] == [(22, 0), (None, 1)]
    only_routed = split_digest(digest, {"cis": 22, "un": 5}, chosen=ORDER, topic_order=ORDER)
    assert [(thread, part.more) for thread, part in only_routed] == [(22, 1), (5, 0)]


async def test_digest_command_from_a_banned_chat_is_refused_by_the_gate(tmp_path):
    # the harness has no DigestService (digests=None): only the ban gate can answer /digest
    async with running_admin_bot(tmp_path) as env:
        await env.send(USER, "/start", lang="en")
        await env.admin(f"/ban {USER}")
        await env.chats.set_status(USER, "active", T0)  # resumed by an admin, still banned
        (refused,) = await env.send(USER, "/digest", lang="en")
        assert refused["text"] == "This bot is not available to you."
        assert await outbox(env.db, USER) == []
