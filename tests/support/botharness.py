"""End-to-end harness: the real Dispatcher (handlers.build_dispatcher) long-polling the fake Bot API,
real repositories (typed-input state too) on a SQLite file. Tests push updates and wait until the bot has handled them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import TelegramObject, Update

from bot.app.fsm import DatabaseStorage
from bot.settings import Settings
from bot.understand.classify import Classifier
from handlers import build_dispatcher
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.conversations import DialogRepo
from storage.db import Database
from storage.engines import open_database
from storage.feeds import FeedRepo
from tests.support.fakebotapi import FakeBotAPI

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


class HandledTracker(BaseMiddleware):
    """Outermost-but-one update middleware: records each update id once its handling ended."""

    def __init__(self) -> None:
        self.done: set[int] = set()
        self.changed = asyncio.Event()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            assert isinstance(event, Update)
            self.done.add(event.update_id)
            self.changed.set()


@dataclass
class BotEnv:
    server: FakeBotAPI
    db: Database
    chats: ChatRepo
    feeds: FeedRepo
    classifier: Classifier
    settings: Settings
    dp: Dispatcher
    bot: Bot
    tracker: HandledTracker
    clock_value: list[datetime] = field(default_factory=lambda: [NOW])

    async def handled(self, update: dict[str, Any], timeout: float = 5) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while update["update_id"] not in self.tracker.done:
                self.tracker.changed.clear()
                await self.tracker.changed.wait()

    async def send(self, chat_id: int, text: str, *, user_id: int | None = None,
                   chat_type: str = "private", lang: str | None = "ru") -> list[dict[str, Any]]:  # fmt: skip
        """A user's message; returns what the bot sent to the chat while handling it."""
        before = len(self.server.sent(chat_id))
        update = self.server.push_message(chat_id, user_id or chat_id, text, chat_type, lang)
        await self.handled(update)
        return self.server.sent(chat_id)[before:]

    async def press(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None,
                    lang: str | None = "ru") -> dict[str, Any]:  # fmt: skip
        """A button press; returns the answerCallbackQuery params for it."""
        update = self.server.push_callback(chat_id, user_id or chat_id, message_id, data, lang)
        await self.handled(update)
        query_id = update["callback_query"]["id"]
        answers = [
            a
            for a in self.server.calls("answerCallbackQuery")
            if a["callback_query_id"] == query_id
        ]
        assert len(answers) == 1, f"callback {data!r} answered {len(answers)} times"
        return answers[0]

    async def tap(self, chat_id: int, label: str, *, message_id: int | None = None,
                  user_id: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Press the button whose text contains `label` on the newest (or given) bot message."""
        if message_id is None:
            message_id, _ = self.server.last_message(chat_id)
        buttons = self.server.buttons(chat_id, message_id)
        matches = [data for text, data in buttons if label in text]
        assert matches, f"no button {label!r} among {[text for text, _ in buttons]}"
        return await self.press(chat_id, message_id, matches[0], user_id=user_id)

    def screen(self, chat_id: int) -> dict[str, Any]:
        """The newest bot message in the chat, as edited."""
        return self.server.last_message(chat_id)[1]


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    services: Callable[[Database, Classifier, Callable[[], datetime]], dict] | None = None,
    *,
    location: Path | str | None = None,
) -> AsyncIterator[BotEnv]:
    """The bot polling a fresh fake server. `services(db, classifier, clock)` returns the
    `digests` and `search` services; without it they are None (tests that never use them).
    `location`: the database (a SQLite path or a PostgreSQL URL; the `db_location` fixture
    gives one per engine); by default a SQLite file in `tmp_path`."""
    db = await open_database(location or tmp_path / "bot.sqlite3").connect()
    server = await FakeBotAPI().start()
    bot = server.make_bot()
    settings = Settings(_env_file=None, bot_token="123:x", default_timezone="Europe/Moscow")
    chats, feeds, classifier = ChatRepo(db), FeedRepo(db), Classifier.load()
    clock_value = [NOW]

    def clock() -> datetime:
        return clock_value[0]

    extra = services(db, classifier, clock) if services else {}
    dp = build_dispatcher(
        storage=DatabaseStorage(DialogRepo(db), clock),
        chats=chats,
        rules=RuleRepo(db),
        digests=extra.get("digests"),
        classifier=classifier,
        feeds=feeds,
        search=extra.get("search"),
        settings=settings,
        clock=clock,
    )
    tracker = HandledTracker()
    dp.update.outer_middleware(tracker)
    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    env = BotEnv(server, db, chats, feeds, classifier, settings, dp, bot, tracker, clock_value)
    await server.wait_calls("getMe")  # polling has started: stop_polling() is safe from here
    try:
        yield env
    finally:
        await dp.stop_polling()
        await polling
        await bot.session.close()
        await server.close()
        await db.close()
