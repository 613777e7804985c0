"""`python -m bot run` as deployed: the real composition root in a child process, long-polling a
fake Bot API and polling a feed on 127.0.0.1; onboarding, an instant digest, SIGTERM, restart.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from storage.db import Database
from storage.feeds import FeedRepo
from tests.support.cli_env import SAMPLES, CliEnv, cli, make_env, start, with_new_item
from tests.support.fakebotapi import TOKEN, FakeBotAPI

pytestmark = pytest.mark.timeout(180)  # two cold starts of the whole bot on a loaded machine

USER = 4242
KHOVAR = (SAMPLES / "khovar.xml").read_bytes()
SEED_TITLE = "Представители внешнеполитических ведомств стран СНГ обсудили"
NEW_TITLE = "Министры иностранных дел СНГ обсудили права человека в ООН"


class CountingBotAPI(FakeBotAPI):
    """The fake Bot API, also counting getUpdates calls (which it does not record)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.long_polls = 0

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        self.long_polls += 1
        self._notify()
        return await super()._get_updates(params)


async def eventually(check: Callable[[], Any], what: str, timeout: float = 10) -> Any:  # noqa: ASYNC109
    """Poll `check()` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
    return result


def query(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


class Child:
    """One `run` child process; its output goes to a log file shown on failure."""

    def __init__(self, env: CliEnv, server: CountingBotAPI) -> None:
        self.env, self.server = env, server
        self.log = env.home / "run.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        calls_before = len(self.server.calls("setMyCommands"))
        polls_before = self.server.long_polls
        self.proc = await start(self.env, "run", log=self.log)
        # a fresh process loads the morphology dictionaries: slow on a busy machine, not a hang
        await eventually(
            lambda: len(self.server.calls("setMyCommands")) > calls_before or self.exited(),
            "setMyCommands",
            timeout=90,  # importing aiogram alone can take 15 s on a busy shared machine
        )
        await eventually(
            lambda: self.server.long_polls > polls_before or self.exited(),
            "getUpdates",
            timeout=90,
        )
        assert not self.exited(), self.output()

    async def eventually(self, check: Callable[[], Any], what: str, timeout: float = 30) -> Any:  # noqa: ASYNC109
        """`eventually`, showing this child's log when it times out (a loaded machine is slow)."""
        try:
            return await eventually(check, what, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the child's log:\n{self.output()}") from None

    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def terminate(self, timeout: float = 10) -> int:  # noqa: ASYNC109
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"no exit {timeout} s after SIGTERM:\n{self.output()}") from None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class User:
    """A private chat driving the bot through the fake server, without the in-process tracker."""

    def __init__(self, server: CountingBotAPI, chat_id: int) -> None:
        self.server, self.chat_id = server, chat_id

    def sent(self) -> list[dict[str, Any]]:
        return self.server.sent(self.chat_id)

    async def send(self, text: str) -> dict[str, Any]:
        before = len(self.sent())
        self.server.push_message(self.chat_id, self.chat_id, text, language_code="en")
        replies = await eventually(lambda: self.sent()[before:], f"a reply to {text!r}")
        return replies[0]

    def button(self, label: str) -> tuple[int, str] | None:
        if not any(cid == self.chat_id for cid, _ in self.server.messages):
            return None
        message_id, _ = self.server.last_message(self.chat_id)
        for text, data in self.server.buttons(self.chat_id, message_id):
            if label in text:
                return message_id, data
        return None

    async def tap(self, label: str) -> None:
        message_id, data = await eventually(lambda: self.button(label), f"button {label!r}")
        update = self.server.push_callback(self.chat_id, self.chat_id, message_id, data, "en")
        query_id = update["callback_query"]["id"]
        await eventually(
            lambda: any(
                a["callback_query_id"] == query_id for a in self.server.calls("answerCallbackQuery")
            ),
            f"the answer to {label!r}",
        )

    def screen(self) -> str:
        return self.server.last_message(self.chat_id)[1].get("text") or ""


@pytest.fixture
async def bot_api() -> AsyncIterator[CountingBotAPI]:
    server = await CountingBotAPI().start()
    try:
        yield server
    finally:
        await server.close()


async def schedule_poll_now(db_path: Path) -> None:
    """What time would do: make the (only) feed due, through the real repository."""
    async with Database(db_path) as db:
        feeds = FeedRepo(db)
        for feed in await feeds.list():
            await feeds.schedule_now(feed.id, datetime.now(UTC))


def polls_logged(db_path: Path) -> int:
    return query(db_path, "SELECT COUNT(*) FROM poll_log")[0][0]


async def test_run_onboards_delivers_instantly_and_survives_restart(tmp_path, feed_server, bot_api):
    feed_server.add("/feed.xml", KHOVAR)
    url = feed_server.url("/feed.xml")
    env = make_env(
        tmp_path,
        [("Ховар", url)],
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=bot_api.base_url,
        SCHEDULER_TICK_SECONDS="1",
        LOG_LEVEL="INFO",
        # each feed's own slot (a hash of its URL and port) comes once a day: only the test's
        # schedule_poll_now makes the feed due, never its phase landing inside the test
        POLL_INTERVAL_MINUTES="1440",
    )
    # An operator's `feeds add` (a new feed is due at once); `run` then loads no default sources.
    added = await cli(env, "feeds", "add", url)
    assert added.code == 0, added.err
    await schedule_poll_now(env.db_path)
    child, user = Child(env, bot_api), User(bot_api, USER)
    try:
        await child.start()
        assert bot_api.calls("getMe")
        commands = bot_api.calls("setMyCommands")[0]["commands"]
        assert {"start", "digest", "schedule"} <= {c["command"] for c in commands}

        # the first poll stores the feed's items as backfill: nobody gets them
        await child.eventually(lambda: polls_logged(env.db_path) >= 1, "the first poll")
        assert query(env.db_path, "SELECT COUNT(*), SUM(backfill) FROM articles") == [(6, 6)]

        welcome = await user.send("/start")
        assert "/start" not in welcome["text"] and welcome.get("reply_markup")
        await user.tap("Done")
        await user.tap("Keep this and finish")
        await user.send("/schedule")
        await user.tap("Instantly")
        await eventually(lambda: "Saved" in user.screen(), "the schedule saved")
        assert query(env.db_path, "SELECT mode, status FROM chats WHERE id = ?", (USER,)) == [
            ("instant", "active")
        ]
        before = len(user.sent())

        # a new item, and the feed is due: one message with just that story
        now = format_datetime(datetime.now(UTC))
        feed_server.add("/feed.xml", with_new_item(KHOVAR, NEW_TITLE, "n1", now))
        await schedule_poll_now(env.db_path)
        digest = (await child.eventually(lambda: user.sent()[before:], "the instant digest"))[0]
        assert NEW_TITLE in digest["text"] and SEED_TITLE not in digest["text"]
        await eventually(
            lambda: query(env.db_path, "SELECT status FROM outbox") == [("sent",)],
            "the outbox row marked sent",
        )
        assert len(user.sent()) == before + 1

        assert await child.terminate() == 0, child.output()

        # restart with the same database; the feed is due again and has changed its body
        changed = with_new_item(KHOVAR, NEW_TITLE, "n1", now).replace(
            b"Fri, 21 Feb 2025 06:12:00 +0000</lastBuildDate>",
            b"Sat, 22 Feb 2025 06:12:00 +0000</lastBuildDate>",
        )
        feed_server.add("/feed.xml", changed)
        await schedule_poll_now(env.db_path)
        polls, hits = polls_logged(env.db_path), feed_server.hits["/feed.xml"]
        await child.start()
        await child.eventually(lambda: polls_logged(env.db_path) > polls, "the poll after restart")
        # one poll; aiohttp re-sends a GET once by itself when the connection drops before the
        # answer (its idempotent-request retry), so the server may count that poll's GET twice
        assert hits + 1 <= feed_server.hits["/feed.xml"] <= hits + 2, child.output()
        assert query(env.db_path, "SELECT COUNT(*) FROM articles") == [(7,)]
        await user.send("/help")  # the bot is live and answering…
        await asyncio.sleep(2.5)  # …and a couple of ticks (1 s each) pass
        late = [m["text"] for m in user.sent()[before + 1 :]]
        assert len(late) == 1 and NEW_TITLE not in late[0], late  # only the /help answer
        assert query(env.db_path, "SELECT COUNT(*) FROM outbox") == [(1,)]
        assert polls_logged(env.db_path) == polls + 1, child.output()  # polled once, not again

        assert await child.terminate() == 0, child.output()
        assert " ERROR " not in child.output() and "Traceback" not in child.output()
    finally:
        await child.kill()
