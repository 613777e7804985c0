"""DigestService on a real SQLite file: due slots, empty/skipped slots, instant batches,
/digest, /latest, preview, restart safety, and one run through the sender to the fake Bot API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.sender import Sender
from bot.digests.planner import DigestService
from bot.digests.render import Labels
from storage.chats import ChatRepo
from storage.outbox import MESSAGE_TEXT
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.support.fakebotapi import FakeBotAPI

T0 = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)  # Monday 08:00 in Moscow
LABELS = {"ru": Labels("ru", {"un": "ООН", "cis": "СНГ"}), "en": Labels("en", {"un": "UN"})}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def service(db, clock):
    return DigestService(
        stores_over(db), labels_for=LABELS.__getitem__, topic_order=("cis", "un"), clock=clock
    )


_counter = iter(range(1, 10**6))


async def add_article(db, *, topics=("un",), countries=(), backfill=False, cluster=None,
                      source="BelTA", title=None, published=T0) -> int:  # fmt: skip
    n = next(_counter)
    return await db.insert(
        "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at, backfill,"
        " topics, countries, cluster_id) VALUES (?, ?, ?, 'lead', ?, ?, ?, ?, ?, ?, ?)",
        (f"k{n}", f"https://example.org/{n}", title or f"Story {n}", source, to_db(published),
         to_db(T0), int(backfill), json.dumps(topics), json.dumps(countries), cluster),
    )  # fmt: skip


async def subscribe(db, chat_id=42, *, mode="daily", times=("09:00",), weekday=None,
                    tz="Europe/Moscow", now=T0):  # fmt: skip
    repo = ChatRepo(db)
    await repo.ensure(chat_id, type="private", title=None, username=None, language="ru",
                      timezone=tz, now=now)  # fmt: skip
    await repo.set_topics(chat_id, ["un", "cis"], now)
    return await repo.set_schedule(chat_id, mode=mode, times=times, weekday=weekday, now=now)


async def outbox_texts(db, chat_id=42) -> list[str]:
    rows = await db.fetchall(
        f"SELECT {MESSAGE_TEXT} AS text FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [r[0] for r in rows]


async def digests(db) -> list[tuple[str, str, str, int]]:
    rows = await db.fetchall(
        "SELECT kind, slot_at, outcome, article_count FROM digests ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def test_new_subscribers_first_digest_covers_the_last_24_hours_then_only_new(
    db, service, clock
):
    await add_article(db, title="Last week", published=T0 - timedelta(days=7))
    await add_article(db, title="Last evening", published=T0 - timedelta(hours=14))
    await add_article(db, title="Archive", published=T0 - timedelta(days=2), backfill=True)
    await subscribe(db)
    await add_article(db, title="Fresh UN story")
    await add_article(db, topics=("osce",))  # not a chosen topic
    await add_article(db, backfill=True, title="First poll, this morning")
    assert (await service.tick()).queued == 0  # 08:00: not due yet
    clock.now = T0 + timedelta(hours=1)  # 09:00 MSK
    report = await service.tick()
    assert report.queued == 1
    [text] = await outbox_texts(db)
    for title in ("Fresh UN story", "Last evening", "First poll, this morning"):
        assert title in text
    assert "Last week" not in text and "Archive" not in text
    chat = await ChatRepo(db).get(42)
    assert chat.cursor_article_id == 6 and chat.last_slot_at == clock.now
    assert chat.first_digest_at == clock.now
    assert await digests(db) == [("scheduled", "2025-06-02T06:00:00Z", "queued", 3)]
    # the next day: only what is new, and a new feed's first poll stays out
    await add_article(db, title="Next day", published=clock.now + timedelta(hours=3))
    await add_article(db, title="New feed's archive", backfill=True, published=clock.now)
    clock.now += timedelta(days=1)
    assert (await service.tick()).queued == 1
    second = (await outbox_texts(db))[1]
    assert "Next day" in second and "archive" not in second and "Last evening" not in second


async def test_first_digest_of_a_new_subscriber_is_capped(db, clock):
    service = DigestService(stores_over(db), labels_for=LABELS.__getitem__, clock=clock, cap=5)
    for n in range(12):
        await add_article(db, backfill=True, published=T0 - timedelta(hours=n))
    await subscribe(db)
    clock.now = T0 + timedelta(hours=1)
    assert (await service.tick()).queued == 1
    assert await digests(db) == [("scheduled", "2025-06-02T06:00:00Z", "queued", 5)]
    [text] = await outbox_texts(db)
    assert "+7" in text


async def test_new_subscriber_gets_no_old_items_then_daily_slot(db, service, clock):
    await add_article(db, title="Old news", published=T0 - timedelta(days=2))
    await subscribe(db)
    await add_article(db, title="Fresh UN story")
    await add_article(db, topics=("osce",))  # not a chosen topic
    await add_article(db, backfill=True, title="Backfilled", published=T0 - timedelta(days=3))
    assert (await service.tick()).queued == 0  # 08:00: not due yet
    clock.now = T0 + timedelta(hours=1)  # 09:00 MSK
    report = await service.tick()
    assert report.queued == 1
    [text] = await outbox_texts(db)
    assert "Fresh UN story" in text and "Old news" not in text and "Backfilled" not in text
    chat = await ChatRepo(db).get(42)
    assert chat.cursor_article_id == 4 and chat.last_slot_at == clock.now
    assert await digests(db) == [("scheduled", "2025-06-02T06:00:00Z", "queued", 1)]
    # the same minute again, and a fresh process: nothing more
    assert (await service.tick()).queued == 0
    again = DigestService(stores_over(db), labels_for=LABELS.__getitem__, clock=clock)
    clock.now += timedelta(seconds=30)
    assert (await again.tick()).queued == 0
    assert len(await outbox_texts(db)) == 1


async def test_empty_slot_is_recorded_and_sends_nothing(db, service, clock):
    await subscribe(db)
    clock.now = T0 + timedelta(hours=1, minutes=1)
    report = await service.tick()
    assert (report.queued, report.empty) == (0, 1)
    assert await outbox_texts(db) == []
    assert await digests(db) == [("scheduled", "2025-06-02T06:00:00Z", "empty", 0)]


async def test_downtime_catch_up_one_digest_or_skipped(db, service, clock):
    await subscribe(db, 1, mode="times", times=("09:00", "10:00", "11:00"))
    await subscribe(db, 2, mode="weekly", times=("09:00",), weekday=0)
    await add_article(db)
    clock.now = T0 + timedelta(days=3, hours=4)  # Thursday 12:00 MSK after 3 days down
    report = await service.tick()
    assert (report.queued, report.skipped) == (1, 1)
    rows = await db.fetchall("SELECT chat_id, slot_at, outcome FROM digests ORDER BY chat_id")
    assert [tuple(r) for r in rows] == [
        (1, "2025-06-05T08:00:00Z", "queued"),  # only the newest missed slot (11:00 MSK)
        (2, "2025-06-02T06:00:00Z", "skipped"),  # Monday's slot is 3 days old
    ]
    assert (await ChatRepo(db).get(2)).cursor_article_id == 0  # kept for the next digest
    assert (await service.tick()).queued == 0


async def test_schedule_change_recomputes_next_slot(db, service, clock):
    await subscribe(db)
    await service.tick()
    assert await db.fetchval("SELECT next_slot_at FROM chats") == "2025-06-02T06:00:00Z"
    await ChatRepo(db).set_schedule(42, mode="daily", times=["08:30"], weekday=None, now=clock.now)
    await add_article(db)
    clock.now = T0 + timedelta(minutes=30)
    assert (await service.tick()).queued == 1


async def test_instant_batches_one_poll_into_one_message(db, service, clock):
    await subscribe(db, mode="instant", times=())
    await subscribe(db, 43, mode="daily")
    assert await service.deliver_instant() == 0
    await add_article(db, title="First")
    await add_article(db, title="Second", topics=("cis",))
    await add_article(db, topics=("osce",))
    assert await service.deliver_instant() == 1
    [text] = await outbox_texts(db)
    assert "First" in text and "Second" in text
    assert await outbox_texts(db, 43) == []
    assert await service.deliver_instant() == 0
    await add_article(db, topics=("osce",))  # nothing matching: cursor moves, nothing recorded
    assert await service.deliver_instant() == 0
    assert (await ChatRepo(db).get(42)).cursor_article_id == 4
    assert [d[0] for d in await digests(db)] == ["instant"]


async def test_digest_now_latest_and_preview(db, service, clock):
    await subscribe(db)
    assert await service.digest_now(42) == 0
    for _ in range(3):
        await add_article(db)
    await add_article(db, cluster=9, source="Kabar")
    await add_article(db, cluster=9, source="Khovar")
    preview = await service.preview(42)
    assert len(preview) == 1 and "также: Khovar" in preview[0]
    assert (await ChatRepo(db).get(42)).cursor_article_id == 0  # preview changes nothing
    assert await service.digest_now(42) == 4
    assert await outbox_texts(db) == preview
    assert await service.digest_now(42) == 0
    latest = await service.latest(42, limit=2)
    assert len(latest) == 1 and latest[0].count("▪️") == 2 and "Последние новости" in latest[0]
    assert await service.latest(42, topic="cis") == []
    assert await service.latest(999) == []
    assert len(await outbox_texts(db)) == 1
    with pytest.raises(LookupError):
        await service.preview(999)


async def test_tick_to_telegram_end_to_end(db, clock):
    async with FakeBotAPI() as server:
        bot = server.make_bot()
        sender = Sender(bot, stores_over(db), rate=0, idle_poll=0.2)
        service = DigestService(stores_over(db), labels_for=LABELS.__getitem__, clock=clock,
                                on_enqueued=sender.wake)  # fmt: skip
        for chat_id in (1, 2, 3):
            await subscribe(db, chat_id)
        await add_article(db, title="Дипломаты встретились в Душанбе")
        sender.start()
        clock.now = T0 + timedelta(hours=1)
        assert (await service.tick()).queued == 3
        for chat_id in (1, 2, 3):
            [message] = await server.wait_sent(chat_id, 1)
            assert "Дипломаты встретились в Душанбе" in message["text"]
        await sender.stop()
        await bot.session.close()
