"""Admin end-to-end harness: the real Dispatcher (handlers.build_dispatcher) with the admin
services in its workflow data, long-polling a fake Bot API that also serves uploaded files,
a feed fetcher allowed only onto 127.0.0.1, and the real delivery engine for broadcasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.admin.feeds import AddFeed
from bot.app.fsm import DatabaseStorage
from bot.delivery.broadcast import Broadcaster
from bot.delivery.sender import Sender
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import AddressPolicy
from bot.ingest.poller import Ingestor
from bot.ingest.probe import FeedChecker
from bot.settings import Settings
from bot.understand.classify import Classifier
from handlers import build_dispatcher
from handlers.deps import AdminDeps
from storage.access import AccessRepo
from storage.alertlog import DraftRepo
from storage.articles import ArticleRepo
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepo
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.conversations import DialogRepo
from storage.db import Database
from storage.feeds import FeedRepo
from storage.routing import ChatRouting
from storage.stats import StatsRepo
from storage.stores import stores_over
from tests.support import fakebotapi_objects as obj
from tests.support.botharness import NOW, BotEnv, HandledTracker
from tests.support.fakebotapi import FakeBotAPI

ADMIN = 1001
USER = 2002
LOOPBACK_ONLY = AddressPolicy(extra_allowed=frozenset({ipaddress.ip_network("127.0.0.1/32")}))


class FileBotAPI(FakeBotAPI):
    """FakeBotAPI plus getFile and file downloads (documents users send to the bot)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.files: dict[str, bytes] = {}
        self._file_ids = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        super().add_routes(app)

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["path"].rsplit("/", 1)[-1])
        return web.Response(status=404) if data is None else web.Response(body=data)

    def _answer(self, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getFile" and p.get("file_id") in self.files:
            file_id = p["file_id"]
            result = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                      "file_size": len(self.files[file_id]), "file_path": f"documents/{file_id}"}  # fmt: skip
            return 200, {"ok": True, "result": result}
        return super()._answer(method, p)

    def push_document(self, chat_id: int, user_id: int, name: str, data: bytes,
                      size: int | None = None) -> dict[str, Any]:  # fmt: skip
        file_id = f"f{next(self._file_ids)}"
        self.files[file_id] = data
        message = self._message(chat_id, "private", "")
        del message["text"]
        message["from"] = obj.user(user_id, language_code="en")
        message["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                               "file_name": name, "mime_type": "application/octet-stream",
                               "file_size": len(data) if size is None else size}  # fmt: skip
        return self.push_update({"message": message})

    def push_forum_message(self, chat_id: int, user_id: int, text: str,
                           thread_id: int | None) -> dict[str, Any]:  # fmt: skip
        self.chat_types[chat_id] = "supergroup"
        message = self._message(chat_id, "supergroup", text)
        message["chat"]["is_forum"] = True
        message["from"] = obj.user(user_id, language_code="en")
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return self.push_update({"message": message})


@dataclass
class AdminEnv(BotEnv):
    access: AccessRepo | None = None
    audit: AuditLog | None = None
    routing: ChatRouting | None = None
    sender: Sender | None = None
    broadcaster: Broadcaster | None = None

    async def admin(self, text: str) -> list[dict[str, Any]]:
        return await self.send(ADMIN, text, lang="en")

    async def click(self, chat_id: int, label: str, *, user_id: int | None = None,
                    lang: str = "en") -> dict[str, Any]:  # fmt: skip
        """Press the button containing `label` on the newest bot message, as an English user."""
        message_id, _ = self.server.last_message(chat_id)
        buttons = self.server.buttons(chat_id, message_id)
        matches = [data for text, data in buttons if label in text]
        assert matches, f"no button {label!r} among {[text for text, _ in buttons]}"
        return await self.press(chat_id, message_id, matches[0], user_id=user_id, lang=lang)

    async def push(self, update: dict[str, Any]) -> None:
        await self.handled(update)

    async def eventually(self, check: Any, timeout: float = 5) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_admin_bot(tmp_path: Path, **settings: Any) -> AsyncIterator[AdminEnv]:
    db = await Database(tmp_path / "bot.sqlite3").connect()
    server = await FileBotAPI().start()
    bot = server.make_bot()
    config = Settings(_env_file=None, bot_token="123:x", default_timezone="Europe/Moscow",
                      admin_ids=frozenset({ADMIN}), **settings)  # fmt: skip
    chats, feeds, classifier = ChatRepo(db), FeedRepo(db), Classifier.load()
    clock_value = [NOW]

    def clock() -> Any:
        return clock_value[0]

    sender = Sender(bot, stores_over(db), rate=200, backoff_base=0.05)
    fetcher = Fetcher(policy=LOOPBACK_ONLY, timeout=5)
    broadcaster = Broadcaster(
        BroadcastRepo(db), clock=clock, on_enqueued=sender.wake, poll_seconds=0.05
    )
    access, audit, routing = AccessRepo(db), AuditLog(db), ChatRouting(db)
    admin = AdminDeps(
        access=access, audit=audit, routing=routing, stats=StatsRepo(db), drafts=DraftRepo(db),
        add_feed=AddFeed(feeds, FeedChecker(fetcher), audit, clock), broadcaster=broadcaster,
        ingestor=Ingestor(feeds=feeds, articles=ArticleRepo(db), fetcher=fetcher,
                          classifier=classifier, poll_interval=timedelta(minutes=30), clock=clock),
    )  # fmt: skip
    dp = build_dispatcher(storage=DatabaseStorage(DialogRepo(db), clock), chats=chats, digests=None, classifier=classifier, feeds=feeds,  # type: ignore[arg-type]
                          rules=RuleRepo(db), search=None, settings=config, clock=clock, admin=admin)  # type: ignore[arg-type]  # fmt: skip
    tracker = HandledTracker()
    dp.update.outer_middleware(tracker)
    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    env = AdminEnv(server, db, chats, feeds, classifier, config, dp, bot, tracker, clock_value,
                   access, audit, routing, sender, broadcaster)  # fmt: skip
    await server.wait_calls("getMe")
    try:
        yield env
    finally:
        await dp.stop_polling()
        await polling
        await broadcaster.aclose()
        await sender.stop(grace=1)
        await fetcher.aclose()
        await bot.session.close()
        await server.close()
        await db.close()
