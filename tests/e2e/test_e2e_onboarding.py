"""/start end to end: buttons through the real Dispatcher, settings saved in the SQLite file."""

from __future__ import annotations

import pytest

from handlers.common.callbacks import CountryAction, CountryCb, Flow
from tests.support.botharness import running_bot

USER = 1001


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path) as env:
        yield env


async def test_onboarding_by_buttons_saves_settings(env):
    (welcome,) = await env.send(USER, "/start")
    assert "Здравствуйте" in welcome["text"]
    await env.tap(USER, "ООН")
    await env.tap(USER, "Права человека")
    assert [label for label, _ in env.server.buttons(USER, 2) if label.startswith("✅")] == [
        "✅ Права человека",
        "✅ ООН",
    ]
    await env.tap(USER, "Готово")
    assert "Когда присылать" in env.screen(USER)["text"]
    await env.tap(USER, "Раз в день")
    await env.tap(USER, "08:00")
    assert "Часовой пояс" in env.screen(USER)["text"]
    await env.tap(USER, "Душанбе")
    assert "Готово!" in env.screen(USER)["text"]

    chat = await env.chats.get(USER)
    assert chat is not None and chat.onboarded and chat.status == "active"
    assert set(chat.topics) == {"un", "human_rights"}
    assert (chat.mode, chat.times, chat.timezone) == ("daily", ("08:00",), "Asia/Dushanbe")
    assert chat.language == "ru" and chat.type == "private"
    # all of it was edits of the one welcome message
    assert len(env.server.sent(USER)) == 1


async def test_two_taps_keep_the_defaults(env):
    await env.send(USER, "/start", lang="en")
    await env.tap(USER, "Done")
    await env.tap(USER, "Keep this and finish")
    chat = await env.chats.get(USER)
    assert chat.onboarded and chat.language == "en" and chat.topics == ()
    assert (chat.mode, chat.times, chat.timezone) == ("daily", ("09:00",), "Europe/Moscow")
    assert "All set" in env.screen(USER)["text"]


async def test_countries_are_paged_with_cis_first(env):
    await env.send(USER, "/start")
    await env.tap(USER, "Страны")
    labels = [label for label, _ in env.server.buttons(USER, 2)]
    assert labels[:3] == ["▫️ Россия", "▫️ Беларусь", "▫️ Казахстан"]
    await env.tap(USER, "Таджикистан")
    await env.tap(USER, "▶️")
    page2 = [label for label, _ in env.server.buttons(USER, 2)]
    assert "◀️" in page2 and "▫️ Россия" not in page2
    await env.tap(USER, page2[0].removeprefix("▫️ "))
    chat = await env.chats.get(USER)
    assert len(chat.countries) == 2 and chat.countries[0] == "tj"
    await env.tap(USER, "Готово")
    assert "Когда присылать" in env.screen(USER)["text"]
    forged = CountryCb(action=CountryAction.TOGGLE, code="zz", flow=Flow.ONBOARD).pack()
    answer = await env.press(USER, 2, forged)
    assert answer["show_alert"] is True
    assert (await env.chats.get(USER)).countries == chat.countries


async def test_start_again_shows_summary_and_blocked_user_is_reactivated(env):
    await env.send(USER, "/start")
    await env.tap(USER, "Готово")
    await env.tap(USER, "Оставить так")
    await env.chats.set_status(USER, "blocked", env.clock_value[0])
    await env.chats.toggle_topic(USER, "osce", env.clock_value[0])
    (reply,) = await env.send(USER, "/start")
    assert "С возвращением" in reply["text"] and "ОБСЕ" in reply["text"]
    chat = await env.chats.get(USER)
    assert chat.status == "active" and chat.topics == ("osce",) and chat.onboarded
