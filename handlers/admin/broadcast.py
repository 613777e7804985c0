"""Admin: /broadcast — preview, confirm, then progress edited in one message until the final tally."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.delivery.broadcast import Broadcaster
from bot.domain import BroadcastTally
from bot.i18n.catalog import t
from handlers.admin.callbacks import BroadcastCb
from handlers.admin.views import broadcast_keyboard
from storage.port import AuditStore, ChatStore, DraftStore

log = logging.getLogger(__name__)

# Tags an admin may type (Telegram's own HTML subset); any other "<…>" stays text.
_TYPED_TAG = re.compile(
    r"&lt;(/?)(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote|tg-spoiler)&gt;"
    r"|&lt;a href=(?:\"|'|&quot;|&#x27;)(https?://[^\s\"'<>]+?)(?:\"|'|&quot;|&#x27;)&gt;|&lt;/a&gt;"
)


def _typed_tags(match: re.Match[str]) -> str:
    if match.group(2):
        return f"<{match.group(1)}{match.group(2)}>"
    if match.group(3):
        return f'<a href="{match.group(3)}">'
    return "</a>"


def broadcast_html(html_text: str) -> str:
    """The admin's text as Telegram HTML: formatting made with Telegram's buttons (already in
    `html_text`) plus the tags typed by hand, e.g. <b>…</b> or <a href="https://…">…</a>."""
    return _TYPED_TAG.sub(_typed_tags, html_text)


async def cmd_broadcast(
    message: Message, command: CommandObject, lang: str, chats: ChatStore, drafts: DraftStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    # The text after the command, with the admin's formatting kept as HTML.
    text = (message.html_text or "").split(maxsplit=1)[1:] if message.text else []
    body = broadcast_html(text[0].strip()) if text else ""
    if not body:
        await message.answer(t(lang, "admin.broadcast_usage"))
        return
    try:
        await message.answer(body)  # the preview is the message itself: invalid HTML fails here
    except TelegramBadRequest as exc:
        await message.answer(t(lang, "admin.broadcast_bad_html", error=html.escape(exc.message)))
        return
    count = (await chats.counts())["active"]
    draft = await drafts.put("broadcast", body, by=message.chat.id, now=clock())
    await message.answer(
        t(lang, "admin.broadcast_preview", count=count),
        reply_markup=broadcast_keyboard(lang, draft, count),
    )


async def on_broadcast_button(
    query: CallbackQuery, callback_data: BroadcastCb, bot: Bot, lang: str, drafts: DraftStore,
    broadcaster: Broadcaster, audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    body = await drafts.take(callback_data.draft, "broadcast")
    message = query.message
    assert message is not None
    if body is None:
        await query.answer(t(lang, "admin.broadcast_gone"), show_alert=True)
        return
    await query.answer()
    if not callback_data.send:
        await message.edit_text(t(lang, "admin.broadcast_cancelled"))  # type: ignore[union-attr]
        return
    chat_id, message_id = message.chat.id, message.message_id

    async def report(tally: BroadcastTally) -> None:
        key = "admin.broadcast_done" if tally.done else "admin.broadcast_progress"
        text = t(lang, key, id=tally.broadcast_id, sent=tally.sent, failed=tally.failed,
                 pending=tally.pending, total=tally.recipients)  # fmt: skip
        try:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramBadRequest as exc:
            log.debug("broadcast progress edit skipped: %s", exc)

    tally = await broadcaster.start(body, by=query.from_user.id, report=report)
    await audit.record(query.from_user.id, "broadcast", now=clock(), target=tally.broadcast_id,
                       details=f"{tally.recipients} chats: {body[:100]}")  # fmt: skip


def make_router() -> Router:
    router = Router(name="admin-broadcast")
    router.message.register(cmd_broadcast, Command("broadcast"))
    router.callback_query.register(on_broadcast_button, BroadcastCb.filter())
    return router
