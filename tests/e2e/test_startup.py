"""Operator mistakes at startup, as an operator makes them: `python -m bot …` in child processes
against the fake Bot API and a real SQLite file. Each one ends in one clear line and a non-zero
exit, and never costs a chat a digest or sends it one twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from storage.chats import ChatRepo
from storage.db import Database
from storage.instance import lock_path_for
from tests.e2e.test_app_run import Child, CountingBotAPI, eventually, query, schedule_poll_now
from tests.support.cli_env import SAMPLES, CliEnv, cli, make_env, start, with_new_item
from tests.support.fakebotapi import TOKEN

pytestmark = pytest.mark.timeout(240)

USER = 5151
KHOVAR = (SAMPLES / "khovar.xml").read_bytes()
NEW_TITLE = "Министры иностранных дел СНГ обсудили права человека в ООН"
SLOW = 90  # seconds: a hang guard on a loaded machine, not a speed check


@pytest.fixture
async def bot_api():
    server = await CountingBotAPI().start()
    try:
        yield server
    finally:
        await server.close()


async def started(env: CliEnv, server: CountingBotAPI) -> Child:
    """A `run` child that has reached long polling (or exited, which fails the test)."""
    child = Child(env, server)
    polls_before = server.long_polls
    child.proc = await start(env, "run", log=child.log)
    await eventually(lambda: server.long_polls > polls_before or child.exited(), "getUpdates", SLOW)
    assert not child.exited(), child.output()
    return child


async def instant_subscriber(db_path: Path, chat_id: int) -> None:
    now = datetime.now(UTC)
    async with Database(db_path) as db:
        chats = ChatRepo(db)
        await chats.ensure(
            chat_id, type="private", title=None, username=None, language="en",
            timezone="Europe/Moscow", now=now,
        )  # fmt: skip
        await chats.set_all_sources(chat_id, now)
        await chats.set_schedule(chat_id, mode="instant", times=[], weekday=None, now=now)
        await chats.mark_onboarded(chat_id, now)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


async def test_second_run_on_one_database_is_refused_and_kill9_leaves_no_stale_lock(
    tmp_path, feed_server, bot_api
):
    feed_server.add("/feed.xml", KHOVAR)
    env = make_env(
        tmp_path,
        [("Ховар", feed_server.url("/feed.xml"))],
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=bot_api.base_url,
        SCHEDULER_TICK_SECONDS="1",
    )
    assert (await cli(env, "poll", timeout=SLOW)).code == 0  # the backfill poll: nobody gets it
    await instant_subscriber(env.db_path, USER)
    first = await started(env, bot_api)
    third = None
    try:
        second = await cli(env, "run", timeout=SLOW)
        assert second.code != 0
        line = one_line(second.err + second.out)
        assert "already running" in line and str(env.db_path) in line
        assert f"pid {first.proc.pid}" in line
        assert not first.exited()

        # a new story, and the feed is due: exactly one copy reaches the chat
        now = format_datetime(datetime.now(UTC))
        feed_server.add("/feed.xml", with_new_item(KHOVAR, NEW_TITLE, "n1", now))
        await schedule_poll_now(env.db_path)
        digest = await eventually(lambda: bot_api.sent(USER), "the instant digest", SLOW)
        assert NEW_TITLE in digest[0]["text"]
        await eventually(
            lambda: query(env.db_path, "SELECT status FROM outbox") == [("sent",)],
            "the outbox row marked sent",
            SLOW,
        )
        assert len(bot_api.sent(USER)) == 1

        # kill -9: the kernel drops the lock with the process; the next `run` starts
        await first.kill()
        third = await started(env, bot_api)
        assert lock_path_for(env.db_path).read_text().strip() == str(third.proc.pid)
        assert await third.terminate(SLOW) == 0, third.output()
        assert len(bot_api.sent(USER)) == 1
    finally:
        await first.kill()
        if third is not None:
            await third.kill()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("malformed token", ("BOT_TOKEN", "not a Telegram bot token", "@BotFather")),
        ("refused token", ("Telegram refused BOT_TOKEN", "401", "@BotFather")),
        ("unreachable API", ("cannot reach", "TELEGRAM_API_URL", "127.0.0.1:9")),
    ],
)
async def test_telegram_mistakes_are_one_line_each(tmp_path, bot_api, case, words):
    env = make_env(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.base_url)
    if case == "malformed token":
        env = env.with_vars(BOT_TOKEN="not-a-token")
    elif case == "refused token":
        bot_api.fail_next("getMe", "401")
    else:
        env = env.with_vars(TELEGRAM_API_URL="http://127.0.0.1:9")  # nothing listens there
    result = await cli(env, "run", timeout=SLOW)
    assert result.code != 0, result
    line = one_line(result.err + result.out)  # no traceback, no "Unclosed client session"
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, line
    assert TOKEN not in line  # the secret is never printed
    assert bot_api.calls("getMe") == ([{}] if case == "refused token" else [])
    assert not env.db_path.exists()  # nothing touched the database


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("409", ("409 Conflict", "3 times", "another process is polling", "BOT_TOKEN", "stop it")),
        ("409_webhook", ("409 Conflict", "webhook is set", "deleteWebhook")),
    ],
)
async def test_polling_conflict_stops_run_in_one_line(tmp_path, bot_api, kind, words):
    """Another poller with this token (or a webhook) takes the updates: `run` says so and exits,
    after three 409s for a poller (one can be a restart's echo), at the first for a webhook."""
    env = make_env(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.base_url)
    bot_api.fail_next("getUpdates", kind, times=1000)
    result = await cli(env, "run", timeout=SLOW)
    assert result.code != 0, result
    line = one_line(result.err + result.out)  # no traceback, no aiogram retry log
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, line
    assert TOKEN not in line
    assert bot_api.long_polls == (3 if kind == "409" else 1)  # gave up, did not spin


async def test_one_409_is_waited_out_and_the_bot_answers(tmp_path, bot_api):
    """A single 409 (the previous process's poll still open at Telegram after a restart) is no
    reason to stop: polling resumes, a /start is answered exactly once, nothing is logged."""
    env = make_env(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.base_url)
    bot_api.fail_next("getUpdates", "409")
    child = await started(env, bot_api)
    try:
        await eventually(lambda: bot_api.long_polls >= 2 or child.exited(), "a second poll", SLOW)
        assert not child.exited(), child.output()
        bot_api.push_message(USER, USER, "/start", language_code="en")
        await eventually(lambda: bot_api.sent(USER), "the reply to /start", SLOW)
        assert await child.terminate(SLOW) == 0, child.output()
        assert len(bot_api.sent(USER)) == 1
        assert "Conflict" not in child.output() and "Traceback" not in child.output()
    finally:
        await child.kill()
