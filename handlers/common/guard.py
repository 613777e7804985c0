"""Refusals for non-administrators who try to change a group's or channel's subscription."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.i18n.catalog import t
from handlers.common.commands import GUARDED_COMMANDS
from handlers.common.filters import CanConfigure

log = logging.getLogger(__name__)

# Refused: the commands that change what the chat receives (`guarded` in the registry); the
# others are for everyone, and every button is checked (below).
SHARED_CHATS = {ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL}


async def refuse_command(message: Message, lang: str) -> None:
    log.info("refused %s in chat %s", message.text and message.text.split()[0], message.chat.id)
    await message.reply(t(lang, "access.admins_only"))


async def refuse_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(t(lang, "access.admins_only"), show_alert=True)


def make_router() -> Router:
    router = Router(name="access")
    router.message.filter(F.chat.type.in_(SHARED_CHATS))
    router.callback_query.filter(F.message.chat.type.in_(SHARED_CHATS))
    router.message.register(refuse_command, Command(*GUARDED_COMMANDS), ~CanConfigure())
    router.callback_query.register(refuse_button, ~CanConfigure())
    return router
