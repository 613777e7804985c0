"""/start (the walk-through: topics → schedule → time zone), /help, and /start in channels."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.domain import Chat
from bot.i18n.catalog import t
from bot.settings import Settings
from bot.understand.classify import Classifier
from handlers.common.callbacks import Flow
from handlers.common.commands import help_text
from handlers.common.screens import show_summary, show_topics
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def subscribe(
    message: Message,
    chats: ChatStore,
    settings: Settings,
    subscriber: Chat | None,
    lang: str,
    now: datetime,
) -> Chat:
    """The chat's subscription: created with defaults, or reactivated if it had blocked the bot."""
    chat = message.chat
    if subscriber is None:
        user = message.from_user
        return await chats.ensure(
            chat.id,
            type=chat.type,
            title=chat.title or chat.full_name,
            username=chat.username,
            language=lang,
            timezone=settings.default_timezone,
            now=now,
            added_by=user.id if user and chat.type != "private" else None,
        )
    if subscriber.status == "blocked":
        log.info("chat %s is back after blocking the bot", chat.id)
        return await chats.reactivate(chat.id, now) or subscriber
    return subscriber


async def cmd_start(
    message: Message,
    chats: ChatStore,
    classifier: Classifier,
    settings: Settings,
    clock: Callable[[], datetime],
    subscriber: Chat | None,
    lang: str,
) -> None:
    now = clock()
    chat = await subscribe(message, chats, settings, subscriber, lang, now)
    if chat.onboarded:
        await show_summary(
            message, chat, classifier, now, t(chat.language, "onboarding.welcome_back")
        )
    else:
        await show_topics(message, chat, classifier, Flow.ONBOARD)


async def channel_start(
    post: Message,
    chats: ChatStore,
    classifier: Classifier,
    settings: Settings,
    clock: Callable[[], datetime],
    subscriber: Chat | None,
    lang: str,
) -> None:
    """Minimal channel support: /start posted in a channel subscribes it with the defaults and
    shows the settings buttons (presses are checked against the channel's administrators).
    Other channel commands are left to the admin issue."""
    now = clock()
    chat = await subscribe(post, chats, settings, subscriber, lang, now)
    if not chat.onboarded:
        chat = await chats.mark_onboarded(chat.id, now)
    await show_summary(post, chat, classifier, now, t(chat.language, "onboarding.channel"))


async def cmd_help(message: Message, lang: str) -> None:
    await message.answer(help_text(lang))


def make_router() -> Router:
    router = Router(name="onboarding")
    router.message.register(cmd_start, CommandStart())
    router.channel_post.register(channel_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    return router
