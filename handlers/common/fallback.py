"""Whatever no area handled: hints for unknown commands and stray text, stale or forged buttons."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.domain import Chat
from bot.i18n.catalog import t
from handlers.common.commands import SUBSCRIPTION_COMMANDS

log = logging.getLogger(__name__)


async def cmd_cancel(message: Message, state: FSMContext, lang: str) -> None:
    had_input = await state.get_state() is not None
    await state.clear()
    await message.answer(
        t(lang, "fallback.cancelled" if had_input else "fallback.nothing_to_cancel")
    )


async def unknown_command(message: Message, subscriber: Chat | None, lang: str) -> None:
    word = (message.text or "/").split(maxsplit=1)[0][1:]
    name, _, mention = word.partition("@")
    me = await message.bot.me()  # type: ignore[union-attr]
    if mention and mention.lower() != (me.username or "").lower():
        return  # a command for another bot in the same group
    if subscriber is None and name.lower() in SUBSCRIPTION_COMMANDS:
        await message.answer(t(lang, "fallback.start_first"))
    else:
        await message.answer(t(lang, "fallback.unknown_command"))


async def stray_message(message: Message, lang: str) -> None:
    """Free text outside a dialog (in groups the bot keeps quiet: people talk to each other)."""
    await message.answer(t(lang, "fallback.hint"))


async def stale_button(query: CallbackQuery, subscriber: Chat | None, lang: str) -> None:
    """Forged or outdated data (no area's factory could unpack it), or a chat that said /stop."""
    log.info("unhandled button %r from chat %s", query.data, subscriber and subscriber.id)
    key = "fallback.start_first" if subscriber is None else "errors.bad_button"
    await query.answer(t(lang, key), show_alert=True)


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.register(cmd_cancel, Command("cancel"))
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(stray_message, F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(stale_button)
    return router
