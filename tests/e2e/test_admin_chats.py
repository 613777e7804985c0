"""Chats end to end: /subscribe a group or channel (bot membership checked), settings by buttons,
/chats, /chatcountries; group settings for group admins only; forum thread routing by /route."""

from __future__ import annotations

import pytest

from tests.support.adminharness import ADMIN, USER, running_admin_bot
from tests.support.botharness import NOW

GROUP, CHANNEL, FORUM = -1000000001500, -1000000001600, -1000000001800


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def test_subscribe_group_then_set_topics_schedule_and_countries(env):
    (bad,) = await env.admin("/subscribe")
    assert "Usage" in bad["text"]
    (msg,) = await env.admin(f"/subscribe {GROUP}")
    assert "is subscribed" in msg["text"]
    chat = await env.chats.get(GROUP)
    assert chat.type == "supergroup" and chat.added_by == ADMIN and chat.onboarded
    await env.click(ADMIN, "CIS")
    await env.click(ADMIN, "Human rights")
    await env.click(ADMIN, "18:00")
    chat = await env.chats.get(GROUP)
    assert set(chat.topics) == {"cis", "human_rights"}
    assert (chat.mode, chat.times) == ("daily", ("18:00",))
    assert "✅ CIS" in str(env.screen(ADMIN)["reply_markup"])
    await env.click(ADMIN, "Pause")
    assert (await env.chats.get(GROUP)).status == "paused"
    (bad_codes,) = await env.admin(f"/chatcountries {GROUP} kz,xx")
    assert "xx" in bad_codes["text"]
    (ok,) = await env.admin(f"/chatcountries {GROUP} kz, UZ")
    assert "Countries: Kazakhstan (kz), Uzbekistan (uz)\n" in ok["text"]
    assert (await env.chats.get(GROUP)).countries == ("kz", "uz")
    (listed,) = await env.admin("/chats")
    assert str(GROUP) in listed["text"] and "1 paused" in listed["text"]
    await env.click(ADMIN, "Chat")
    assert ", paused\n" in env.screen(ADMIN)["text"]
    assert (
        "Topics: Human rights, CIS" in env.screen(ADMIN)["text"]
        or "Topics: CIS, Human rights" in env.screen(ADMIN)["text"]
    )
    actions = {e.action for e in await env.audit.recent()}
    assert {"chat.subscribe", "chat.topic", "chat.time", "chat.pause", "chat.countries"} <= actions


async def test_subscribe_refuses_where_the_bot_cannot_post(env):
    env.server.set_member_status(GROUP, env.bot.id, "left")
    (msg,) = await env.admin(f"/subscribe {GROUP}")
    assert "cannot post" in msg["text"] and "«not a member (left)»" in msg["text"]
    env.server.chat_types[CHANNEL] = "channel"
    (channel,) = await env.admin(f"/subscribe {CHANNEL}")
    assert "cannot post" in channel["text"]  # a plain member of a channel cannot post
    env.server.set_member_status(CHANNEL, env.bot.id, "administrator")
    (ok,) = await env.admin(f"/subscribe {CHANNEL}")
    assert "is subscribed" in ok["text"]
    env.server.fail_next("getChat", "400")
    (missing,) = await env.admin("/subscribe -100999")
    assert "chat not found" in missing["text"]
    assert {c.id for c in await env.chats.list()} == {CHANNEL}


async def test_chat_command_for_unknown_chat(env):
    (msg,) = await env.admin("/chat -5")
    assert "not subscribed" in msg["text"]
    (empty,) = await env.admin("/chats")
    assert "No subscribed chats" in empty["text"]


async def test_group_settings_only_for_group_admins(env):
    env.server.set_member_status(GROUP, USER, "member")
    (refused,) = await env.send(GROUP, "/start", user_id=USER, chat_type="supergroup", lang="en")
    assert "administrators" in refused["text"]
    assert await env.chats.get(GROUP) is None
    env.server.set_member_status(GROUP, USER, "administrator")
    (welcome, *_) = await env.send(GROUP, "/start", user_id=USER, chat_type="supergroup", lang="en")
    assert "Hello" in welcome["text"]


async def push_route(env, text, user=USER, thread=7):
    before = len(env.server.sent(FORUM))
    await env.push(env.server.push_forum_message(FORUM, user, text, thread))
    return env.server.sent(FORUM)[before:]


async def test_forum_route_by_group_admin(env):
    env.server.set_member_status(FORUM, USER, "administrator")
    (not_subscribed,) = await push_route(env, "/route cis")
    assert "run /start first" in not_subscribed["text"]
    await env.chats.ensure(FORUM, type="supergroup", title="Forum", username=None, language="en",
                           timezone="UTC", now=NOW)  # fmt: skip
    (ok,) = await push_route(env, "/route cis", thread=7)
    assert "this thread" in ok["text"]
    await push_route(env, "/route human_rights", thread=9)
    await push_route(env, "/route *", thread=11)
    assert await env.routing.routes(FORUM) == {"*": 11, "cis": 7, "human_rights": 9}
    (usage,) = await push_route(env, "/route nonsense")
    assert "Usage" in usage["text"]
    (outside,) = await push_route(env, "/route cis", thread=None)
    assert "inside a topic" in outside["text"]
    (removed,) = await push_route(env, "/route off cis")
    assert "removed" in removed["text"]
    assert await env.routing.routes(FORUM) == {"*": 11, "human_rights": 9}
    env.server.set_member_status(FORUM, 4004, "member")
    (refused,) = await push_route(env, "/route un", user=4004)
    assert "Only the group's administrators" in refused["text"]
