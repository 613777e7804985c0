"""/countries: the optional, paged country filter (CIS and neighbours first; none = any country)."""

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
from handlers.common.callbacks import CountryAction, CountryCb, Flow
from handlers.common.choices import page_count
from handlers.common.filters import Subscribed
from handlers.common.screens import after_change, show_countries
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def cmd_countries(message: Message, classifier: Classifier, subscriber: Chat) -> None:
    await show_countries(message, subscriber, classifier, 0, Flow.ALONE)


async def on_country_button(
    query: CallbackQuery,
    callback_data: CountryCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    now = clock()
    data, chat = callback_data, subscriber
    known = set(classifier.country_codes)
    if (data.action is CountryAction.TOGGLE and data.code not in known) or not (
        0 <= data.page < page_count(len(known))
    ):
        log.warning("forged country button %r from chat %s", query.data, chat.id)
        await query.answer(t(chat.language, "errors.bad_button"), show_alert=True)
        return
    if data.action is CountryAction.DONE:
        await query.answer()
        await after_change(query, chats, chat, classifier, now, data.flow, "schedule")
        return
    if data.action is CountryAction.TOGGLE:
        chat = await chats.toggle_country(chat.id, data.code, now)
    elif data.action is CountryAction.CLEAR:
        chat = await chats.set_countries(chat.id, [], now)
    await query.answer()
    await show_countries(query, chat, classifier, data.page, data.flow)


def make_router() -> Router:
    router = Router(name="countries")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_countries, Command("countries"))
    router.callback_query.register(on_country_button, CountryCb.filter())
    return router
