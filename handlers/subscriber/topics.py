"""/topics: the multi-select of topics (ticks toggle in place; nothing ticked = every topic)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.callbacks import Flow, TopicAction, TopicCb
from handlers.common.filters import Subscribed
from handlers.common.screens import after_change, show_topics
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def cmd_topics(message: Message, classifier: Classifier, subscriber: Chat) -> None:
    await show_topics(message, subscriber, classifier, Flow.ALONE)


async def on_topic_button(
    query: CallbackQuery,
    callback_data: TopicCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    now = clock()
    lang = subscriber.language
    if callback_data.action is TopicAction.TOGGLE:
        if callback_data.slug not in {i.slug for i in classifier.topics}:
            log.warning("forged topic %r from chat %s", callback_data.slug, subscriber.id)
            await query.answer(t(lang, "errors.bad_button"), show_alert=True)
            return
        chat = await chats.toggle_topic(subscriber.id, callback_data.slug, now)
        await query.answer()
        await show_topics(query, chat, classifier, callback_data.flow)
    elif callback_data.action is TopicAction.ALL:
        chat = await chats.set_topics(subscriber.id, [], now)
        await query.answer(t(lang, "topics.all_hint"))
        await show_topics(query, chat, classifier, callback_data.flow)
    elif callback_data.action is TopicAction.EVERYTHING:
        chat = await chats.set_all_sources(subscriber.id, now)
        await query.answer(t(lang, "topics.everything_hint"))
        await show_topics(query, chat, classifier, callback_data.flow)
    else:
        await query.answer()
        await after_change(
            query, chats, subscriber, classifier, now, callback_data.flow, "schedule"
        )


def make_router() -> Router:
    router = Router(name="topics")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_topics, Command("topics"))
    router.callback_query.register(on_topic_button, TopicCb.filter())
    return router
