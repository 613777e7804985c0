"""Groups and channels: only their administrators change settings; membership changes."""

from __future__ import annotations

import time

import pytest

from tests.support import fakebotapi_objects as obj
from tests.support.botharness import running_bot

GROUP, ADMIN, MEMBER, OWNER = -500, 11, 12, 13
CHANNEL = -1001234567890


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path) as env:
        env.server.set_member_status(GROUP, ADMIN, "administrator")
        env.server.set_member_status(GROUP, OWNER, "creator")
        env.server.set_member_status(CHANNEL, ADMIN, "administrator")
        yield env


async def group_says(env, user_id: int, text: str) -> list[dict]:
    return await env.send(GROUP, text, user_id=user_id, chat_type="group")


async def test_only_admins_subscribe_and_change_a_group(env):
    (refusal,) = await group_says(env, MEMBER, "/start")
    assert "администраторы" in refusal["text"] and await env.chats.get(GROUP) is None
    (welcome,) = await group_says(env, ADMIN, "/start@diplodigest_test_bot")
    assert "Темы" in welcome["text"]
    chat = await env.chats.get(GROUP)
    assert (chat.type, chat.added_by) == ("group", ADMIN)

    answer = await env.tap(GROUP, "ООН", user_id=MEMBER)
    assert answer["show_alert"] is True and "администраторы" in answer["text"]
    assert (await env.chats.get(GROUP)).topics == ()
    await env.tap(GROUP, "ООН", user_id=ADMIN)
    await env.tap(GROUP, "ОБСЕ", user_id=OWNER)
    assert (await env.chats.get(GROUP)).topics == ("un", "osce")

    for command in ("/settings", "/topics", "/pause", "/stop", "/digest"):
        (refused,) = await group_says(env, MEMBER, command)
        assert "администраторы" in refused["text"], command
    (help_,) = await group_says(env, MEMBER, "/help")
    assert "/search" in help_["text"]
    assert await group_says(env, MEMBER, "просто разговор") == []
    assert (await env.chats.get(GROUP)).status == "active"


async def test_group_admin_types_a_time_as_a_reply(env):
    await group_says(env, ADMIN, "/start")
    await env.tap(GROUP, "Готово", user_id=ADMIN)
    await env.tap(GROUP, "Раз в день", user_id=ADMIN)
    await env.tap(GROUP, "Другое время", user_id=ADMIN)
    prompt = env.server.sent(GROUP)[-1]
    assert prompt["reply_markup"]["force_reply"] is True
    await group_says(env, MEMBER, "06:45")  # someone else's message is not the answer
    assert (await env.chats.get(GROUP)).times == ("09:00",)
    await group_says(env, ADMIN, "07:15")
    assert (await env.chats.get(GROUP)).times == ("07:15",)


async def test_channel_start_and_admin_only_buttons(env):
    update = env.server.push_channel_post(CHANNEL, "/start")
    await env.handled(update)
    chat = await env.chats.get(CHANNEL)
    assert chat is not None and chat.type == "channel" and chat.onboarded
    assert "Канал подписан" in env.screen(CHANNEL)["text"]
    answer = await env.tap(CHANNEL, "Пауза", user_id=MEMBER)
    assert answer["show_alert"] is True
    await env.tap(CHANNEL, "Пауза", user_id=ADMIN)
    assert (await env.chats.get(CHANNEL)).status == "paused"


def bot_membership(chat_id: int, chat_type: str, old: str, new: str) -> dict:
    bot = obj.bot_user()
    return {
        "my_chat_member": {
            "chat": obj.chat(chat_id, chat_type),
            "from": obj.user(chat_id if chat_id > 0 else ADMIN),
            "date": int(time.time()),
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {
                "user": bot,
                "status": new,
                **({"until_date": 0} if new == "kicked" else {}),
            },
        }
    }


async def test_blocking_keeps_settings_and_start_reactivates(env):
    user = 77
    await env.send(user, "/start")
    await env.tap(user, "ООН")
    await env.tap(user, "Готово")
    await env.tap(user, "Оставить так")
    await env.handled(env.server.push_update(bot_membership(user, "private", "member", "kicked")))
    chat = await env.chats.get(user)
    assert chat.status == "blocked" and chat.topics == ("un",)
    await env.send(user, "/start")
    chat = await env.chats.get(user)
    assert chat.status == "active" and chat.topics == ("un",)


async def test_bot_added_to_group_greets_and_upgrade_moves_subscription(env):
    await env.handled(env.server.push_update(bot_membership(GROUP, "group", "left", "member")))
    assert "/start" in env.server.sent(GROUP)[-1]["text"]
    await group_says(env, ADMIN, "/start")
    message = {"message_id": 999, "date": int(time.time()), "chat": obj.chat(GROUP, "group"),
               "from": obj.user(ADMIN), "migrate_to_chat_id": -1009999}  # fmt: skip
    await env.handled(env.server.push_update({"message": message}))
    assert await env.chats.get(GROUP) is None
    assert (await env.chats.get(-1009999)).type == "supergroup"
