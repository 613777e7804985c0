"""/digest (what is new for me now, marked delivered) and /latest [topic] (no state change)."""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.filters import Subscribed
from handlers.common.views import topic_choices

if TYPE_CHECKING:  # the service lives with the scheduler jobs; handlers only call it
    from bot.digests.planner import DigestService

log = logging.getLogger(__name__)

LATEST_LIMIT = 10


async def cmd_digest(message: Message, digests: DigestService, subscriber: Chat) -> None:
    """Queues the digest to the outbox (delivery sends it); only an empty one is answered here."""
    count = await digests.digest_now(subscriber.id)
    log.info("manual digest for chat %s: %d articles", subscriber.id, count)
    if count == 0:
        await message.answer(t(subscriber.language, "reading.nothing_new"))


def find_topic(classifier: Classifier, query: str) -> str | None:
    """A topic by slug or by its name in either language, case-insensitive."""
    wanted = query.strip().casefold().replace(" ", "_")
    for info in classifier.topics:
        names = (info.slug, info.name_ru, info.name_en)
        if wanted in {n.casefold().replace(" ", "_") for n in names}:
            return info.slug
    return None


async def cmd_latest(
    message: Message,
    command: CommandObject,
    digests: DigestService,
    classifier: Classifier,
    subscriber: Chat,
) -> None:
    lang, topic = subscriber.language, None
    if command.args:
        topic = find_topic(classifier, command.args[:100])
        if topic is None:
            names = ", ".join(
                f"<code>{escape(slug)}</code>" for slug, _ in topic_choices(classifier, lang)
            )
            await message.answer(t(lang, "reading.unknown_topic", topics=names))
            return
    await send_latest(message, digests, subscriber, topic)


async def send_latest(
    target: Message | CallbackQuery,
    digests: DigestService,
    subscriber: Chat,
    topic: str | None = None,
) -> None:
    """/latest and the "show the latest now" button: new messages, no state change."""
    message = target.message if isinstance(target, CallbackQuery) else target
    if not isinstance(message, Message):
        return  # a button on a message too old to answer
    parts = await digests.latest(subscriber.id, topic, LATEST_LIMIT)
    if not parts:
        await message.answer(t(subscriber.language, "reading.nothing_yet"))
    for part in parts:
        await message.answer(part)


def make_router() -> Router:
    router = Router(name="digest")
    router.message.filter(Subscribed())
    router.message.register(cmd_digest, Command("digest"))
    router.message.register(cmd_latest, Command("latest"))
    return router
