"""A typed-input dialog outlives its process: asked for a time zone or a time by one bot process,
the user answers a new process (Dispatcher and storage built afresh on the same database file),
which accepts it once; a dialog left for more than a day is over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.botharness import NOW, running_bot

USER = 3003


async def _subscribe(env) -> None:
    await env.send(USER, "/start", lang="en")
    await env.tap(USER, "Done")
    await env.tap(USER, "Keep this and finish")


DIALOGS = [
    # (command, buttons, typed, what the chat holds afterwards)
    ("/timezone", ["Other zone"], "Asia/Dushanbe", {"timezone": "Asia/Dushanbe"}),
    ("/timezone", ["Other zone"], "Ташкент", {"timezone": "Asia/Tashkent"}),
    ("/schedule", ["Once a day", "Other time"], "8.30", {"mode": "daily", "times": ("08:30",)}),
    # the dialog's data (mode, weekday) comes through the restart too
    ("/schedule", ["Once a week", "Fri", "Other time"], "07:15",
     {"mode": "weekly", "times": ("07:15",), "weekday": 4}),
]  # fmt: skip


@pytest.mark.parametrize(("command", "buttons", "typed", "expected"), DIALOGS)
async def test_a_dialog_asked_before_a_restart_is_answered_after_it(
    tmp_path, db_location, command, buttons, typed, expected
):
    async with running_bot(tmp_path, location=db_location) as env:
        await _subscribe(env)
        before = await env.chats.get(USER)
        await env.send(USER, command)
        for label in buttons:
            await env.tap(USER, label)
        assert "/cancel" in env.screen(USER)["text"]  # asked to type
    async with running_bot(tmp_path, location=db_location) as env:  # a new process, same database
        env.clock_value[0] = NOW + timedelta(hours=23)
        (reply,) = await env.send(USER, typed)
        assert "Saved" in reply["text"], reply["text"]
        chat = await env.chats.get(USER)
        assert {name: getattr(chat, name) for name in expected} == expected
        assert chat != before
        (after,) = await env.send(USER, typed)  # the dialog is over: a hint, nothing saved
        assert "/help" in after["text"]
        assert await env.chats.get(USER) == chat


@pytest.mark.parametrize(("command", "buttons", "typed", "expected"), DIALOGS[::2])
async def test_a_dialog_left_for_over_a_day_is_over(tmp_path, command, buttons, typed, expected):
    async with running_bot(tmp_path) as env:
        await _subscribe(env)
        before = await env.chats.get(USER)
        await env.send(USER, command)
        for label in buttons:
            await env.tap(USER, label)
    async with running_bot(tmp_path) as env:
        env.clock_value[0] = NOW + timedelta(hours=25)
        (reply,) = await env.send(USER, typed)
        assert "/help" in reply["text"], reply["text"]  # stray text, not "is not a time"
        assert await env.chats.get(USER) == before
        (cancel,) = await env.send(USER, "/cancel")
        assert "Nothing to cancel" in cancel["text"]
