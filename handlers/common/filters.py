"""Filters on who may do what: subscribed chats, and chat administrators in groups and channels."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.filters import Filter
from aiogram.types import Chat as TgChat
from aiogram.types import Message, TelegramObject, User

from bot.domain import Chat

ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.CREATOR})


class Subscribed(Filter):
    """The chat has a subscription (a row in `chats`)."""

    async def __call__(self, event: TelegramObject, subscriber: Chat | None = None) -> bool:
        return subscriber is not None


class CanConfigure(Filter):
    """Anyone in a private chat; in groups and channels only their administrators."""

    async def __call__(
        self,
        event: TelegramObject,
        bot: Bot,
        event_chat: TgChat | None = None,
        event_from_user: User | None = None,
    ) -> bool:
        if event_chat is None or event_chat.type == ChatType.PRIVATE:
            return True
        # Channel posts and anonymous group admins speak as the chat itself.
        if (
            isinstance(event, Message)
            and event.sender_chat
            and event.sender_chat.id == event_chat.id
        ):
            return True
        if event_from_user is None:
            return False
        member = await bot.get_chat_member(event_chat.id, event_from_user.id)
        return member.status in ADMIN_STATUSES
