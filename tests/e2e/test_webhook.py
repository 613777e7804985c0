"""Webhook mode as Telegram drives it: `python -m bot run` with TELEGRAM_MODE=webhook in a child
process, updates POSTed to it over HTTP with and without the secret, the replies counted at the
fake Bot API; and two webhook servers on one database, as behind one URL, handling each update
once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app.core import utc_now
from bot.app.fsm import DatabaseStorage
from bot.app.webhook import WebhookConfig, build_webhook_app
from bot.settings import Settings
from bot.understand.classify import Classifier
from handlers import build_dispatcher
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.conversations import DialogRepo
from storage.engines import open_database
from storage.feeds import FeedRepo
from storage.webhook_updates import UpdateLedger
from tests.e2e.test_app_run import Child, eventually
from tests.e2e.test_startup import bot_api, one_line  # noqa: F401 (fixture)
from tests.support.cli_env import cli, make_env, start
from tests.support.fakebotapi import TOKEN, FakeBotAPI

pytestmark = pytest.mark.timeout(240)

USER = 6262
SECRET = "s3cret-Token_1"
SLOW = 90  # seconds: a hang guard on a loaded machine, not a speed check


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def post(url: str, update: dict, secret: str | None) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        return r.status


async def test_webhook_run_answers_posted_updates_once_and_only_with_the_secret(
    tmp_path,
    bot_api,  # noqa: F811
):
    port = free_port()
    env = make_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=bot_api.base_url,
        TELEGRAM_MODE="webhook",
        WEBHOOK_URL="https://bot.example.org/tg/hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
    )
    child = Child(env, bot_api)
    child.proc = await start(env, "run", log=child.log)
    try:
        await eventually(lambda: bot_api.calls("setWebhook") or child.exited(), "setWebhook", SLOW)
        assert not child.exited(), child.output()
        (hook,) = bot_api.calls("setWebhook")
        assert hook["url"] == "https://bot.example.org/tg/hook"
        assert hook["secret_token"] == SECRET
        assert "message" in hook["allowed_updates"]
        url = f"http://127.0.0.1:{port}/tg/hook"

        update_id, payload = bot_api.message_update(USER, USER, "/start", language_code="en")
        update = {"update_id": update_id, **payload}
        # wrong or missing secret: refused, nothing handled
        assert await post(url, update, "wrong") in (401, 403)
        assert await post(url, update, None) in (401, 403)
        assert bot_api.sent(USER) == []

        # the answer comes once the update is handled: the replies are there when it returns
        assert await post(url, update, SECRET) == 200
        replies = len(bot_api.sent(USER))
        assert replies >= 1
        # Telegram redelivers an update it saw no 200 for: the same update_id is handled once
        assert await post(url, update, SECRET) == 200
        assert len(bot_api.sent(USER)) == replies

        # a webhook-mode process never polls
        assert bot_api.long_polls == 0
        assert await child.terminate(SLOW) == 0, child.output()
    finally:
        await child.kill()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"WEBHOOK_URL": "http://bot.example.org/hook"}, ("WEBHOOK_URL", "https")),
        ({"WEBHOOK_URL": ""}, ("WEBHOOK_URL", "https")),
        ({"WEBHOOK_SECRET": ""}, ("WEBHOOK_SECRET",)),
        ({"WEBHOOK_LISTEN": "8080"}, ("WEBHOOK_LISTEN", "host:port")),
        ({"TELEGRAM_MODE": "push"}, ("TELEGRAM_MODE", "polling or webhook")),
    ],
)
async def test_webhook_misconfiguration_is_one_line(tmp_path, extra, words):
    good = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_MODE": "webhook",
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
    }
    env = make_env(tmp_path, **(good | extra))
    result = await cli(env, "run", timeout=SLOW)
    assert result.code == 1
    line = one_line(result.err + result.out)
    assert all(w in line for w in words), line
    assert not env.db_path.exists()  # refused before anything opened the database


@contextlib.asynccontextmanager
async def webhook_process(
    location: Path | str, server: FakeBotAPI, classifier: Classifier
) -> AsyncIterator[str]:
    """What `run` builds in webhook mode, in this process: its own database connection,
    Dispatcher, Bot and HTTP server on a free port; yields the URL to post updates to."""
    settings = Settings(_env_file=None, bot_token=TOKEN, default_timezone="Europe/Moscow")
    port = free_port()
    config = WebhookConfig("https://bot.example.org/tg/hook", "/tg/hook", SECRET, "127.0.0.1", port)
    async with open_database(location) as db:
        dp = build_dispatcher(
            storage=DatabaseStorage(DialogRepo(db), utc_now),
            chats=ChatRepo(db), digests=None, classifier=classifier, feeds=FeedRepo(db),  # type: ignore[arg-type]
            rules=RuleRepo(db), search=None, settings=settings, clock=utc_now,  # type: ignore[arg-type]
        )  # fmt: skip
        app = build_webhook_app(dp, server.make_bot(), config, UpdateLedger(db), utc_now)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", port).start()
            yield f"http://127.0.0.1:{port}/tg/hook"
        finally:
            await runner.cleanup()


async def test_two_webhook_processes_on_one_database_handle_an_update_once(db_location):
    classifier = Classifier.load()
    path = db_location  # a SQLite file, then a PostgreSQL database
    async with (
        FakeBotAPI() as server,
        webhook_process(path, server, classifier) as first,
        webhook_process(path, server, classifier) as second,
    ):
        update_id, payload = server.message_update(USER, USER, "/start", language_code="en")
        update = {"update_id": update_id, **payload}
        # a request without the secret is refused and takes nothing: the update stays to handle
        assert await post(second, update, "wrong") in (401, 403)
        assert await post(first, update, SECRET) == 200
        replies = len(server.sent(USER))
        assert replies >= 1
        # Telegram redelivers it to the other process behind the URL: answered, not handled
        assert await post(second, update, SECRET) == 200
        assert await post(first, update, SECRET) == 200
        assert len(server.sent(USER)) == replies

        # the same update reaching both at once: one handles it, the other answers "done" (200)
        # or "being handled" (503, Telegram delivers it again later and then gets "done")
        other = USER + 1
        update_id, payload = server.message_update(other, other, "/start", language_code="en")
        update = {"update_id": update_id, **payload}
        statuses = sorted(await asyncio.gather(
            post(first, update, SECRET), post(second, update, SECRET)))  # fmt: skip
        assert statuses[0] == 200 and statuses[1] in (200, 503), statuses
        assert await post(second, update, SECRET) == 200
        assert len(server.sent(other)) == replies
    async with open_database(path) as db:  # both updates recorded as handled
        handled = await db.fetchall("SELECT update_id, handled_at FROM webhook_updates")
        assert len(handled) == 2 and all(row["handled_at"] for row in handled)
