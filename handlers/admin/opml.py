"""Admin: OPML import (send the file to the bot; progress edited in one message) and /exportopml."""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.admin.feeds import Added, AddFeed, AlreadyThere
from bot.i18n.catalog import t
from bot.ingest.fetcherrors import format_size
from bot.ingest.opml import MAX_OPML_BYTES, ExportFeed, OpmlError, OpmlFeed, build_opml, parse_opml
from handlers.admin.views import failure_reason
from storage.port import AuditStore, FeedStore

log = logging.getLogger(__name__)

CHECKS_AT_ONCE = 4
EDIT_EVERY = 1.5  # seconds between progress edits (Telegram limits edits like messages)
MAX_FAILURE_LINES = 15


class _Progress:
    def __init__(self, message: Message, lang: str, total: int) -> None:
        self.message, self.lang, self.total = message, lang, total
        self.done = self.added = self.existing = self.failed = 0
        self._last = 0.0

    async def tick(self, *, final: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not final and now - self._last < EDIT_EVERY:
            return
        self._last = now
        text = t(self.lang, "admin.opml_progress", done=self.done, total=self.total,
                 added=self.added, failed=self.failed)  # fmt: skip
        try:
            await self.message.edit_text(text)
        except TelegramBadRequest as exc:  # "not modified" and the like: progress is cosmetic
            log.debug("progress edit skipped: %s", exc)


async def on_opml_file(
    message: Message, bot: Bot, lang: str, feeds: FeedStore, add_feed: AddFeed, audit: AuditStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    doc = message.document
    assert doc is not None
    if doc.file_size is not None and doc.file_size > MAX_OPML_BYTES:
        await message.answer(t(lang, "admin.opml_too_big", limit=format_size(MAX_OPML_BYTES)))
        return
    buffer = io.BytesIO()
    await bot.download(doc, destination=buffer)
    try:
        parsed = parse_opml(buffer.getvalue())
    except OpmlError as exc:
        await message.answer(t(lang, "admin.opml_bad", reason=html.escape(str(exc))))
        return
    known = {f.url for f in await feeds.list()}
    fresh = [f for f in parsed.feeds if f.url not in known]
    status = await message.answer(t(lang, "admin.opml_reading", count=len(fresh)))
    progress = _Progress(status, lang, len(fresh))
    failures: list[tuple[str, str]] = list(parsed.skipped)
    slots = asyncio.Semaphore(CHECKS_AT_ONCE)

    async def one(item: OpmlFeed) -> None:
        async with slots:
            # No actor: one audit entry below stands for the whole file, not thousands.
            result = await add_feed(item.url, title=item.title)
            if isinstance(result, Added):
                progress.added += 1
            elif isinstance(result, AlreadyThere):  # redirected to a feed we have
                progress.existing += 1
            else:
                failures.append((item.url, failure_reason(lang, result.kind, result.reason)))
                progress.failed += 1
            progress.done += 1
            await progress.tick()

    await asyncio.gather(*(one(item) for item in fresh))
    await audit.record(message.chat.id, "feed.import", now=clock(),
                       details=f"{progress.added} added of {len(parsed.feeds)}")  # fmt: skip
    existing = len(parsed.feeds) - len(fresh) + progress.existing
    lines = [t(lang, "admin.opml_done", added=progress.added, existing=existing,
               failed=len(failures))]  # fmt: skip
    lines += [
        t(lang, "admin.opml_failed_line", url=html.escape(url[:120]), reason=html.escape(reason))
        for url, reason in failures[:MAX_FAILURE_LINES]
    ]
    try:
        await status.edit_text("\n".join(lines), disable_web_page_preview=True)
    except TelegramBadRequest:
        await message.answer("\n".join(lines), disable_web_page_preview=True)


async def cmd_exportopml(
    message: Message, lang: str, feeds: FeedStore, audit: AuditStore, clock: Callable[[], datetime]
) -> None:
    listed = await feeds.list()
    data = build_opml(
        [ExportFeed(f.url, f.display_name, f.site_url) for f in listed],
        title="diplodigest",
        now=clock(),
    )
    await audit.record(message.chat.id, "feed.export", now=clock(), details=str(len(listed)))
    await message.answer_document(
        BufferedInputFile(data, filename="diplodigest.opml"),
        caption=t(lang, "admin.opml_export_caption", count=len(listed)),
    )


def make_router() -> Router:
    router = Router(name="admin-opml")
    router.message.register(cmd_exportopml, Command("exportopml"))
    router.message.register(
        on_opml_file,
        F.document,
        F.document.file_name.lower().endswith((".opml", ".xml"))
        | F.document.mime_type.in_({"text/x-opml", "text/xml", "application/xml"}),
    )
    return router
