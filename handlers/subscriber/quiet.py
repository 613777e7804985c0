"""/quiet 23:00-08:00 (instant-mode items found in quiet hours wait and come as one message when
they end), /quiet off, and /quiet alone: the current setting with preset buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.digests.slots import parse_quiet
from bot.domain import Chat
from bot.i18n.catalog import t
from handlers.common.callbacks import QuietCb
from handlers.common.filters import Subscribed
from handlers.common.screens import show
from storage.port import ChatStore

log = logging.getLogger(__name__)

PRESETS: tuple[tuple[str, str], ...] = (("23:00", "08:00"), ("22:00", "07:00"), ("00:00", "07:00"))
OFF_WORDS = frozenset({"off", "выкл", "нет", "no", "0"})


def quiet_text(lang: str, chat: Chat) -> str:
    if chat.quiet is None:
        current = t(lang, "quiet.none")
    else:
        current = t(lang, "quiet.window", start=chat.quiet[0], end=chat.quiet[1])
    note = "" if chat.mode == "instant" else "\n" + t(lang, "quiet.scheduled_note")
    return t(lang, "quiet.prompt", current=current) + note


def quiet_keyboard(lang: str, chat: Chat) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for index, (start, end) in enumerate(PRESETS):
        mark = "✅ " if chat.quiet == (start, end) else ""
        kb.button(text=f"{mark}{start}–{end}", callback_data=QuietCb(index=index))
    kb.button(
        text=("✅ " if chat.quiet is None else "") + t(lang, "quiet.off_button"),
        callback_data=QuietCb(index=-1),
    )
    kb.adjust(3, 1)
    return kb.as_markup()


async def cmd_quiet(
    message: Message,
    command: CommandObject,
    chats: ChatStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang, args = subscriber.language, (command.args or "").strip()[:40]
    if not args:
        await message.answer(
            quiet_text(lang, subscriber), reply_markup=quiet_keyboard(lang, subscriber)
        )
        return
    if args.casefold() in OFF_WORDS:
        await chats.set_quiet(subscriber.id, None, clock())
        await message.answer(t(lang, "quiet.turned_off"))
        return
    try:
        window = parse_quiet(args)
    except ValueError:
        await message.answer(t(lang, "quiet.bad", text=escape(args)))
        return
    await chats.set_quiet(subscriber.id, window, clock())
    await message.answer(t(lang, "quiet.saved", start=window[0], end=window[1]))


async def on_quiet_button(
    query: CallbackQuery,
    callback_data: QuietCb,
    chats: ChatStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang, index = subscriber.language, callback_data.index
    if not -1 <= index < len(PRESETS):
        log.warning("forged quiet button %r from chat %s", query.data, subscriber.id)
        await query.answer(t(lang, "errors.bad_button"), show_alert=True)
        return
    chat = await chats.set_quiet(subscriber.id, PRESETS[index] if index >= 0 else None, clock())
    await query.answer(t(lang, "quiet.turned_off") if chat.quiet is None else "")
    await show(query, quiet_text(lang, chat), quiet_keyboard(lang, chat))


def make_router() -> Router:
    router = Router(name="quiet")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_quiet, Command("quiet"))
    router.callback_query.register(on_quiet_button, QuietCb.filter())
    return router
