"""Quiet hours and muted sources end to end: the real Dispatcher, DigestService and SQLite file;
what each chat is sent is read from the outbox (one row per message)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.digests.slots import in_quiet_hours, parse_quiet, zone_for
from storage.outbox import MESSAGE_TEXT
from storage.timefmt import to_db
from tests.e2e.test_e2e_reading import services, subscribe_to_un
from tests.support.botharness import NOW, running_bot

USER = 6006
MSK = zone_for("Europe/Moscow")


def msk(hour: int, minute: int = 0, day: int = 0) -> datetime:
    local = NOW.astimezone(MSK).replace(hour=hour, minute=minute) + timedelta(days=day)
    return local.astimezone(NOW.tzinfo)


async def add_article(env, title: str, feed_id: int | None = None, published=None) -> int:
    when = to_db(published or env.clock_value[0])
    return await env.db.insert(
        "INSERT INTO articles (feed_id, key, url, title, lead, source, published_at, fetched_at,"
        " backfill, topics, countries) VALUES (?, ?, ?, ?, 'lead', 'Agency', ?, ?, 0, ?, '[]')",
        (feed_id, title, f"https://example.org/{title}", title, when, when, json.dumps(["un"])),
    )  # fmt: skip


async def outbox(env, chat_id: int = USER) -> list[str]:
    rows = await env.db.fetchall(
        f"SELECT {MESSAGE_TEXT} AS text FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [r[0] for r in rows]


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path, services) as env:
        await subscribe_to_un(env, USER)
        yield env


@pytest.mark.parametrize(
    ("text", "window"),
    [("23:00-08:00", ("23:00", "08:00")), ("23-8", ("23:00", "08:00")),
     ("22.30 – 7", ("22:30", "07:00")), ("0:00 - 6:30", ("00:00", "06:30"))],
)  # fmt: skip
def test_parse_quiet(text, window):
    assert parse_quiet(text) == window


@pytest.mark.parametrize("text", ["", "23:00", "8-8", "25:00-07:00", "a-b", "1-2-3"])
def test_parse_quiet_refuses(text):
    with pytest.raises(ValueError):
        parse_quiet(text)


@pytest.mark.parametrize(
    ("hour", "minute", "inside"),
    [(22, 59, False), (23, 0, True), (2, 0, True), (7, 59, True), (8, 0, False), (12, 0, False)],
)
def test_quiet_window_across_midnight(hour, minute, inside):
    assert in_quiet_hours(("23:00", "08:00"), MSK, msk(hour, minute)) is inside
    assert in_quiet_hours(None, MSK, msk(hour, minute)) is False


async def test_instant_items_found_in_quiet_hours_come_as_one_message_when_they_end(env):
    await env.send(USER, "/schedule")
    await env.tap(USER, "Сразу")
    (saved,) = await env.send(USER, "/quiet 23:00-08:00")
    assert "с 23:00 до 08:00" in saved["text"]
    digests = env.dp.workflow_data["digests"]
    env.clock_value[0] = msk(22, 50)
    await add_article(env, "Before quiet")
    assert await digests.deliver_instant() == 1
    for n, (hour, minute) in enumerate([(23, 10), (1, 0), (5, 30), (7, 59)]):
        env.clock_value[0] = msk(hour, minute, day=0 if hour == 23 else 1)
        await add_article(env, f"Night story {n}")
        assert await digests.deliver_instant() == 0  # waits
    assert len(await outbox(env)) == 1
    env.clock_value[0] = msk(8, 0, day=1)
    assert await digests.deliver_instant() == 1
    texts = await outbox(env)
    assert len(texts) == 2  # one message for the whole night
    assert all(f"Night story {n}" in texts[1] for n in range(4))
    assert await digests.deliver_instant() == 0  # and nothing twice
    (off,) = await env.send(USER, "/quiet off")
    assert "выключены" in off["text"] and (await env.chats.get(USER)).quiet is None


async def test_quiet_buttons_and_a_bad_window(env):
    (screen,) = await env.send(USER, "/quiet")
    screen_id, _ = env.server.last_message(USER)
    assert "Тихие часы" in screen["text"] and "выключены" in screen["text"]
    await env.tap(USER, "22:00–07:00")
    assert (await env.chats.get(USER)).quiet == ("22:00", "07:00")
    assert "✅ 22:00–07:00" in [b for b, _ in env.server.buttons(USER, screen_id)]
    await env.tap(USER, "Выключить")
    assert (await env.chats.get(USER)).quiet is None
    (bad,) = await env.send(USER, "/quiet <b>ночью</b>")
    assert "Не понял «&lt;b&gt;ночью&lt;/b&gt;»" in bad["text"]
    assert (await env.chats.get(USER)).quiet is None


async def test_a_muted_source_never_reaches_the_chat(env):
    belta = await env.feeds.add("https://belta.by/rss", now=NOW, title="BelTA")
    khovar = await env.feeds.add("https://khovar.tj/rss", now=NOW, title="Khovar")
    (listing,) = await env.send(USER, "/sources")
    listing_id, _ = env.server.last_message(USER)
    assert "BelTA" in listing["text"] and "Khovar" in listing["text"]
    await env.tap(USER, "🔊 BelTA")
    assert "🔇 BelTA" in [b for b, _ in env.server.buttons(USER, listing_id)]
    await add_article(env, "From BelTA", belta.id)
    await add_article(env, "From Khovar", khovar.id)
    (latest,) = await env.send(USER, "/latest")
    assert "From Khovar" in latest["text"] and "From BelTA" not in latest["text"]
    await env.send(USER, "/digest")
    (queued,) = await outbox(env)
    assert "From Khovar" in queued and "From BelTA" not in queued
    # another chat is not affected by this chat's choice
    other = USER + 1
    await env.send(other, "/start")
    assert (await env.chats.muted_feeds([USER, other])) == {USER: frozenset({belta.id})}
    await env.tap(USER, "🔇 BelTA", message_id=listing_id)
    (latest,) = await env.send(USER, "/latest")
    assert "From BelTA" in latest["text"]


async def test_sources_pages_and_a_forged_source(env):
    for n in range(45):
        await env.feeds.add(f"https://agency{n}.example/rss", now=NOW, title=f"Agency {n:02d}")
    (page1,) = await env.send(USER, "/sources")
    page1_id, _ = env.server.last_message(USER)
    assert "Agency 00" in page1["text"] and "Agency 20" not in page1["text"]
    assert "1/3" in page1["text"] and len(page1["text"]) < 4096
    await env.tap(USER, "▶️")
    assert "Agency 20" in env.screen(USER)["text"]
    answer = await env.press(USER, page1_id, "mu:99999:0")
    assert answer["show_alert"] and await env.chats.muted_feeds([USER]) == {}
