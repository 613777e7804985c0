"""Per-update context: the subscribed chat (if any) and the language to answer in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat as TgChat
from aiogram.types import TelegramObject, User

from bot.i18n.catalog import pick_language
from storage.port import ChatStore


class ChatContextMiddleware(BaseMiddleware):
    """Adds `subscriber: bot.domain.Chat | None` and `lang: str` to the handler data.

    Registered as an outer middleware on `dp.update` after aiogram's own user-context middleware,
    so `event_chat` / `event_from_user` are already known. The language is the chat's saved one,
    else the sender's Telegram language.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chats: ChatStore = data["chats"]
        chat: TgChat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        subscriber = await chats.get(chat.id) if chat is not None else None
        data["subscriber"] = subscriber
        data["lang"] = (
            subscriber.language if subscriber else pick_language(user and user.language_code)
        )
        return await handler(event, data)
