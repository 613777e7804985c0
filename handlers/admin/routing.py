"""/route in a forum group: the group's admins send a topic's digest items to the current thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import DEFAULT_ROUTE
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.filters import CanConfigure
from storage.errors import ConflictError
from storage.port import RoutingStore

log = logging.getLogger(__name__)


async def cmd_route(
    message: Message,
    command: CommandObject,
    lang: str,
    classifier: Classifier,
    clock: Callable[[], datetime],
    routing: RoutingStore,
) -> None:
    slugs = [i.slug for i in classifier.topics]
    names = {i.slug: (i.name_ru if lang == "ru" else i.name_en) for i in classifier.topics}
    names[DEFAULT_ROUTE] = "*"
    thread = message.message_thread_id if message.is_topic_message else None
    if not message.chat.is_forum or thread is None:
        await message.reply(t(lang, "admin.route_not_forum"))
        return
    args = (command.args or "").split()
    remove = bool(args) and args[0].lower() == "off"
    if remove:
        args = args[1:]
    if len(args) != 1 or (args[0] not in slugs and args[0] != DEFAULT_ROUTE):
        await message.reply(t(lang, "admin.route_usage", topics=", ".join(slugs)))
        return
    topic = args[0]
    if remove:
        await routing.remove_route(message.chat.id, topic)
        await message.reply(t(lang, "admin.route_removed", topic=names[topic]))
        return
    user_id = message.from_user.id if message.from_user else None
    try:
        await routing.set_route(message.chat.id, topic, thread, by=user_id, now=clock())
    except ConflictError:  # no subscription row for this chat yet
        await message.reply(t(lang, "admin.route_not_subscribed"))
        return
    log.info("chat %s routes %s to thread %s", message.chat.id, topic, thread)
    await message.reply(t(lang, "admin.route_set", topic=names[topic]))


async def refuse_route(message: Message, lang: str) -> None:
    await message.reply(t(lang, "admin.route_admins_only"))


def make_router() -> Router:
    router = Router(name="forum-routing")
    router.message.filter(Command("route"), F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
    router.message.register(cmd_route, CanConfigure())
    router.message.register(refuse_route)
    return router
