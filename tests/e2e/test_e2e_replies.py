"""Interactive answers under flood control and transient failures, end to end: the real
Dispatcher against the fake Bot API answering the first try with a 429, a 500 or a dropped
connection. Every command family's chat gets exactly one answer — the same one it gets when
nothing fails — and an identical edit is no error. The digest sender sharing the bot still sees
each 429 itself."""

from __future__ import annotations

from typing import Any

import pytest

from bot.delivery.sender import Sender
from handlers.common.replies import ReplyScope
from storage.stores import stores_over
from tests.delivery.test_delivery import queue, subscribe
from tests.e2e.test_e2e_reading import USER, add_article, services
from tests.support.adminharness import ADMIN, running_admin_bot
from tests.support.botharness import running_bot
from tests.support.feedgen import Item, rss

FAILURES = [("429", {"retry_after": 1}), ("500", {}), ("drop", {})]


def ok_calls(env, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
    return [
        r.params
        for r in env.server.requests
        if r.method == method and r.ok and (chat_id is None or r.params.get("chat_id") == chat_id)
    ]


async def same_answer_despite(env, chat_id: int, text: str, method: str, kind: str, **kw) -> list:
    """Send `text` twice: cleanly, then with the first `method` call failing as `kind`."""
    clean = await env.send(chat_id, text, lang="en")
    assert clean, f"{text} sent nothing"
    env.server.fail_next(method, kind, chat_id=chat_id, **kw)
    failed_before = len(env.server.calls(method, chat_id))
    again = await env.send(chat_id, text, lang="en")
    assert len(env.server.calls(method, chat_id)) - failed_before == len(again) + 1  # one retry
    strip = [{k: v for k, v in p.items() if k not in ("photo", "document")} for p in clean]
    assert [{k: v for k, v in p.items() if k not in ("photo", "document")} for p in again] == strip
    return again


async def press(env, chat_id: int, message_id: int, data: str) -> list[dict[str, Any]]:
    """A button press; returns the successful answerCallbackQuery calls for it."""
    update = env.server.push_callback(chat_id, chat_id, message_id, data, "en")
    await env.handled(update)
    query_id = update["callback_query"]["id"]
    return [a for a in ok_calls(env, "answerCallbackQuery") if a["callback_query_id"] == query_id]


def button(env, chat_id: int, label: str) -> tuple[int, str]:
    message_id, _ = env.server.last_message(chat_id)
    (data,) = [d for text, d in env.server.buttons(chat_id, message_id) if label in text]
    return message_id, data


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path, services) as env:
        await env.send(USER, "/start")
        await env.tap(USER, "ООН")
        await env.tap(USER, "Готово")
        await env.tap(USER, "Оставить так")
        await add_article(env, "Совбез ООН обсудил Афганистан", "Заседание Совета.", ("un",))
        yield env


@pytest.mark.parametrize(("kind", "kw"), FAILURES)
@pytest.mark.parametrize("command", ["/help", "/settings", "/latest", "/search Совбез", "/sources"])
async def test_commands_answer_once_despite_a_failure(env, command, kind, kw):
    if command == "/sources":
        await env.feeds.add("https://khovar.tj/rss", now=env.clock_value[0], title="Khovar")
    (answer,) = await same_answer_despite(env, USER, command, "sendMessage", kind, **kw)
    assert "Что-то пошло не так" not in answer["text"]


async def test_start_answers_once_despite_a_429(tmp_path):
    async with running_bot(tmp_path) as env:
        env.server.fail_next("sendMessage", "429", chat_id=7, retry_after=1)
        (welcome,) = await env.send(7, "/start", lang="en")
        assert "went wrong" not in welcome["text"] and welcome.get("reply_markup")
        assert len(env.server.calls("sendMessage", 7)) == 2


async def test_digest_reply_answers_once_despite_a_429(env):
    assert await env.send(USER, "/digest") == []  # queued for the sender
    env.server.fail_next("sendMessage", "429", chat_id=USER, retry_after=1)
    (reply,) = await env.send(USER, "/digest")
    assert "Ничего нового" in reply["text"]


@pytest.mark.parametrize("method", ["answerCallbackQuery", "editMessageText"])
async def test_settings_buttons_survive_a_429_on_answer_or_edit(env, method):
    await env.send(USER, "/topics")
    message_id, data = button(env, USER, "ОБСЕ")
    edits_before = len(ok_calls(env, "editMessageText", USER))
    env.server.fail_next(method, "429", retry_after=1)
    answers = await press(env, USER, message_id, data)
    assert len(answers) == 1 and not answers[0].get("show_alert")
    assert len(ok_calls(env, "editMessageText", USER)) == edits_before + 1
    assert "ОБСЕ" in str(env.server.message(USER, message_id)["reply_markup"])


async def test_a_flood_wait_beyond_the_budget_is_not_waited_out(env):
    env.server.fail_next("sendMessage", "429", chat_id=USER, retry_after=3600)
    before = len(env.server.sent(USER))
    await env.send(USER, "/help")
    # The error handler runs after the update counts as handled: wait for its apology.
    (apology,) = (await env.server.wait_sent(USER, before + 1))[before:]
    assert "Что-то пошло не так" in apology["text"]  # at once, not after an hour
    assert len(env.server.calls("sendMessage", USER)) == before + 2  # help once, apology once


@pytest.fixture
async def admin_env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        await env.feeds.add("https://khovar.tj/rss", now=env.clock_value[0], title="Khovar")
        yield env


@pytest.mark.parametrize(("kind", "kw"), FAILURES)
@pytest.mark.parametrize("command", ["/admin", "/feeds", "/chats", "/audit"])
async def test_admin_screens_answer_once_despite_a_failure(admin_env, command, kind, kw):
    await same_answer_despite(admin_env, ADMIN, command, "sendMessage", kind, **kw)


async def test_stats_answers_once_despite_a_429_on_text_and_chart(admin_env):
    admin_env.server.fail_next("sendMessage", "429", chat_id=ADMIN, retry_after=1)
    admin_env.server.fail_next("sendPhoto", "429", chat_id=ADMIN, retry_after=1)
    sent = await admin_env.admin("/stats")
    clean = await admin_env.admin("/stats")
    assert len(sent) == len(clean) >= 1
    assert [p.get("text") for p in sent] == [p.get("text") for p in clean]


async def test_feeds_poll_now_that_changes_nothing_is_no_error(admin_env, feed_server):
    feed_server.add("/rss", rss([Item("A story", "https://khovar.tj/1", guid="1")], title="Khovar"))
    feed = (await admin_env.feeds.list())[0]
    await admin_env.db.execute("UPDATE feeds SET url = ? WHERE id = ?", (feed_server.url("/rss"), feed.id))
    await admin_env.admin("/feeds")
    message_id, data = button(admin_env, ADMIN, "Poll now")
    await press(admin_env, ADMIN, message_id, data)  # the first poll: the screen changes
    answers = await press(admin_env, ADMIN, message_id, data)  # the same body again
    assert len(answers) == 1 and not answers[0].get("show_alert")
    assert "Polled Khovar: the feed has not changed" in answers[0]["text"]
    refused = [r for r in admin_env.server.requests if r.method == "editMessageText" and not r.ok]
    assert len(refused) == 1  # Telegram did refuse the identical edit; the bot took it as done
    assert not [p for p in admin_env.server.sent(ADMIN) if "went wrong" in p["text"]]


async def test_the_sender_on_the_same_bot_still_handles_429_itself(admin_env):
    """Started inside an update's handling, the sender still runs outside the reply scope."""
    engine = Sender(admin_env.bot, stores_over(admin_env.db), rate=0, backoff_base=0.01, idle_poll=0.05)
    await subscribe(admin_env.db, 55)
    await queue(admin_env.db, 55, "digest text")
    admin_env.server.fail_next("sendMessage", "429", chat_id=55, retry_after=1)

    async def handler(event: Any, data: dict[str, Any]) -> None:
        engine.start()

    await ReplyScope()(handler, None, {})  # type: ignore[arg-type]
    try:
        await admin_env.server.wait_sent(55, 1, timeout=10)
    finally:
        await engine.stop(grace=1)
    assert [p["text"] for p in admin_env.server.sent(55)] == ["digest text"]
    assert engine.stats.flood_waits == 1  # the 429 reached the sender's own logic
