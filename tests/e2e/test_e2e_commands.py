"""Every settings command end to end, and the bad inputs: wrong time, unknown zone, huge text,
unknown commands, forged buttons."""

from __future__ import annotations

import pytest

from handlers.common.callbacks import Flow, Mode, ScheduleAction, ScheduleCb, TopicAction, TopicCb
from handlers.common.menu import set_commands
from tests.support.botharness import running_bot

USER = 2002


@pytest.fixture
async def env(tmp_path, db_location):
    async with running_bot(tmp_path, location=db_location) as env:
        await env.send(USER, "/start", lang="en")
        await env.tap(USER, "Done")
        await env.tap(USER, "Keep this and finish")
        yield env


async def test_topics_command_toggles_and_confirms(env):
    (msg,) = await env.send(USER, "/topics")
    assert "Topics" in msg["text"]
    await env.tap(USER, "OSCE")
    await env.tap(USER, "Done")
    assert "Saved" in env.screen(USER)["text"] and "OSCE" in env.screen(USER)["text"]
    assert (await env.chats.get(USER)).topics == ("osce",)
    await env.send(USER, "/topics")
    await env.tap(USER, "All topics")
    assert (await env.chats.get(USER)).topics == ()


@pytest.mark.parametrize(
    ("buttons", "mode", "times", "weekday"),
    [
        (["Instantly"], "instant", ("09:00",), None),
        (["Once a day", "18:00"], "daily", ("18:00",), None),
        (
            # the daily 09:00 is not pre-ticked: only what is ticked here is saved
            ["Several times", "07:00", "12:00", "21:00", "07:00", "Save"],
            "times",
            ("12:00", "21:00"),
            None,
        ),
        (["Once a week", "Fri", "10:00"], "weekly", ("10:00",), 4),
    ],
)
async def test_schedule_modes_by_buttons(env, buttons, mode, times, weekday):
    await env.send(USER, "/schedule")
    for label in buttons:
        await env.tap(USER, label)
    chat = await env.chats.get(USER)
    assert (chat.mode, chat.times, chat.weekday) == (mode, times, weekday)
    assert "Saved" in env.screen(USER)["text"]


async def test_typed_time_with_bad_input_first(env):
    await env.send(USER, "/schedule")
    await env.tap(USER, "Once a day")
    await env.tap(USER, "Other time")
    (bad,) = await env.send(USER, "25:99")
    assert "is not a time" in bad["text"] and "25:99" in bad["text"]
    (huge,) = await env.send(USER, "9" * 10_000)
    assert "is not a time" in huge["text"] and len(huge["text"]) < 400
    assert (await env.chats.get(USER)).times == ("09:00",)
    (ok,) = await env.send(USER, "8.30")
    assert "Saved" in ok["text"]
    assert (await env.chats.get(USER)).times == ("08:30",)
    (after,) = await env.send(USER, "hello")
    assert "/help" in after["text"]  # out of the dialog again


async def test_several_typed_times(env):
    await env.send(USER, "/schedule")
    await env.tap(USER, "Several times")
    await env.tap(USER, "Type my own")
    await env.send(USER, "08:30, 13:00 19:45")
    chat = await env.chats.get(USER)
    assert (chat.mode, chat.times) == ("times", ("08:30", "13:00", "19:45"))


async def test_timezone_buttons_and_text(env):
    await env.send(USER, "/timezone")
    await env.tap(USER, "Almaty")
    assert (await env.chats.get(USER)).timezone == "Asia/Almaty"
    await env.send(USER, "/timezone")
    await env.tap(USER, "Other zone")
    (bad,) = await env.send(USER, "Mars/Base")
    assert "don't know the time zone" in bad["text"]
    assert (await env.chats.get(USER)).timezone == "Asia/Almaty"
    await env.send(USER, "UTC+5")
    assert (await env.chats.get(USER)).timezone == "UTC+05:00"
    await env.send(USER, "/timezone")
    await env.tap(USER, "Other zone")
    await env.send(USER, "/cancel")
    (hint,) = await env.send(USER, "asia/dushanbe")
    assert "/help" in hint["text"]
    assert (await env.chats.get(USER)).timezone == "UTC+05:00"


async def test_several_times_picker_starts_from_the_current_times_only_when_several(env):
    await env.send(USER, "/schedule")
    for label in ("Several times", "07:00", "21:00", "Save"):
        await env.tap(USER, label)
    assert (await env.chats.get(USER)).times == ("07:00", "21:00")
    await env.send(USER, "/schedule")
    await env.tap(USER, "Several times")
    ticked = [text for text, _ in env.server.buttons(USER, env.server.last_message(USER)[0])]
    assert "✅ 07:00" in ticked and "✅ 21:00" in ticked and "✅ 09:00" not in ticked
    await env.tap(USER, "Save")
    assert (await env.chats.get(USER)).times == ("07:00", "21:00")


@pytest.mark.parametrize("command", ["/schedule", "/timezone"])
async def test_schedule_and_timezone_can_be_left_as_they_are(env, command):
    before = await env.chats.get(USER)
    await env.send(USER, command)
    await env.tap(USER, "Leave as is")
    after = await env.chats.get(USER)
    assert (after.mode, after.times, after.timezone) == (before.mode, before.times, before.timezone)
    assert after.last_slot_at == before.last_slot_at  # the slot clock was not reset either
    assert "Settings" in env.screen(USER)["text"]


@pytest.mark.parametrize(
    ("typed", "zone", "shown"),
    [
        ("Tashkent", "Asia/Tashkent", "Tashkent"),
        ("Душанбе", "Asia/Dushanbe", "Dushanbe"),
        ("ташкент", "Asia/Tashkent", "Tashkent"),
        ("Astana", "Asia/Almaty", "Almaty, Astana"),
        ("Samarkand", "Asia/Samarkand", "Asia/Samarkand"),
    ],
)
async def test_a_typed_city_is_a_time_zone_and_settings_show_the_city(env, typed, zone, shown):
    await env.send(USER, "/timezone")
    await env.tap(USER, "Other zone")
    await env.send(USER, typed)
    assert (await env.chats.get(USER)).timezone == zone
    (summary,) = await env.send(USER, "/settings")
    assert shown in summary["text"]
    if zone in ("Asia/Tashkent", "Asia/Dushanbe"):
        assert zone not in summary["text"]  # the city, not the IANA id


async def test_settings_language_pause_resume(env):
    (summary,) = await env.send(USER, "/settings")
    assert "Settings" in summary["text"] and "daily at 09:00" in summary["text"]
    await env.tap(USER, "Pause")
    assert (await env.chats.get(USER)).status == "paused"
    await env.tap(USER, "Resume")
    assert (await env.chats.get(USER)).status == "active"
    await env.tap(USER, "Language")
    await env.tap(USER, "Русский")
    assert (await env.chats.get(USER)).language == "ru"
    assert "Настройки" in env.screen(USER)["text"]
    (paused,) = await env.send(USER, "/pause")
    assert "приостановлена" in paused["text"]
    assert (await env.chats.get(USER)).status == "paused"
    await env.send(USER, "/resume")
    assert (await env.chats.get(USER)).status == "active"
    await env.send(USER, "/language")
    await env.tap(USER, "English")
    assert (await env.chats.get(USER)).language == "en"


async def test_stop_asks_and_deletes(env):
    await env.send(USER, "/stop")
    await env.tap(USER, "Cancel")
    assert await env.chats.get(USER) is not None
    await env.send(USER, "/stop")
    await env.tap(USER, "Yes, delete")
    assert await env.chats.get(USER) is None
    assert "unsubscribed" in env.screen(USER)["text"]
    (hint,) = await env.send(USER, "/topics", lang="en")
    assert "/start" in hint["text"]


async def test_help_unknown_command_and_stray_text(env):
    (help_,) = await env.send(USER, "/help")
    assert "/search" in help_["text"]
    (unknown,) = await env.send(USER, "/frobnicate")
    assert "don't know that command" in unknown["text"]
    (stray,) = await env.send(USER, "x" * 10_000)
    assert "/help" in stray["text"]
    assert await env.send(USER, "/start@some_other_bot") == []


@pytest.mark.parametrize(
    "data",
    [
        TopicCb(action=TopicAction.TOGGLE, slug="astrology", flow=Flow.ALONE).pack(),
        "tp:zz:un:s",  # unknown action
        "tp",  # bad packing
        "nonsense:1:2:3",
        ScheduleCb(action=ScheduleAction.TIME, mode=Mode.DAILY, value=99999).pack(),
        ScheduleCb(action=ScheduleAction.SAVE, mode=Mode.DAILY, value=3).pack(),
        "tz:s:999:s",
        "lg:xx",
    ],
)
async def test_forged_callbacks_change_nothing(env, data):
    before = await env.chats.get(USER)
    edits = len(env.server.calls("editMessageText", USER))
    message_id, _ = env.server.last_message(USER)
    answer = await env.press(USER, message_id, data)
    assert answer.get("show_alert") is True and answer["text"]
    after = await env.chats.get(USER)
    assert after == before
    assert len(env.server.calls("editMessageText", USER)) == edits


async def test_set_commands_per_language(env):
    await set_commands(env.bot)
    ru, en = env.server.calls("setMyCommands")
    assert ru["language_code"] == "ru" and "language_code" not in en
    assert {c["command"] for c in en["commands"]} >= {"start", "digest", "search", "stop"}
    assert ru["commands"][0]["description"] != en["commands"][0]["description"]
