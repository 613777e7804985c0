"""The bot's own membership: blocked / removed, added to a group, a group upgraded to supergroup."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message

from bot.domain import Chat
from bot.i18n.catalog import t
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def on_bot_left(
    event: ChatMemberUpdated,
    chats: ChatStore,
    clock: Callable[[], datetime],
    subscriber: Chat | None,
) -> None:
    """Blocked by a user or removed from a group: keep the settings: a chat that comes back finds them as it left them."""
    if subscriber is not None and subscriber.status != "blocked":
        await chats.set_status(subscriber.id, "blocked", clock())
        log.info("chat %s blocked or removed the bot", subscriber.id)


async def on_bot_added(event: ChatMemberUpdated, lang: str) -> None:
    await event.answer(t(lang, "onboarding.added_to_group"))


async def on_group_upgraded(message: Message, chats: ChatStore) -> None:
    """Telegram moved the group to a new (supergroup) id: the subscription follows."""
    assert message.migrate_to_chat_id is not None
    await chats.migrate(message.chat.id, message.migrate_to_chat_id)


def make_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(on_bot_left, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.my_chat_member.register(
        on_bot_added,
        ChatMemberUpdatedFilter(JOIN_TRANSITION),
        F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}),
    )
    router.message.register(on_group_upgraded, F.migrate_to_chat_id)
    return router
