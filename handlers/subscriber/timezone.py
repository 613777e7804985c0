"""/timezone: buttons for the common CIS zones, or a zone typed as text (Asia/Dushanbe, UTC+5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.digests.slots import parse_timezone
from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.callbacks import Flow, ZoneAction, ZoneCb
from handlers.common.choices import COMMON_ZONES, zone_by_city
from handlers.common.filters import Subscribed
from handlers.common.screens import (
    after_change,
    ask_for_text,
    finish_onboarding,
    show_summary,
    show_zones,
)
from handlers.common.states import TextInput
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def cmd_timezone(message: Message, clock: Callable[[], datetime], subscriber: Chat) -> None:
    await show_zones(message, subscriber, clock(), Flow.ALONE)


async def on_zone_button(
    query: CallbackQuery,
    callback_data: ZoneCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
    state: FSMContext,
) -> None:
    now, data, lang = clock(), callback_data, subscriber.language
    if data.action is ZoneAction.SET and not 0 <= data.index < len(COMMON_ZONES):
        log.warning("forged zone button %r from chat %s", query.data, subscriber.id)
        await query.answer(t(lang, "errors.bad_button"), show_alert=True)
        return
    await query.answer()
    if data.action is ZoneAction.SET:
        chat = await chats.set_timezone(subscriber.id, COMMON_ZONES[data.index], now)
        await after_change(query, chats, chat, classifier, now, data.flow, "finish")
    elif data.action is ZoneAction.KEEP and data.flow is Flow.ONBOARD:
        await finish_onboarding(query, chats, subscriber, classifier, now)
    elif data.action is ZoneAction.KEEP:  # opened by /timezone: leave it as it is
        await show_summary(query, subscriber, classifier, now)
    else:
        await state.set_state(TextInput.zone)
        await state.update_data(flow=data.flow.value)
        await ask_for_text(query, t(lang, "timezone.ask"))


async def on_zone_typed(
    message: Message,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
    state: FSMContext,
) -> None:
    lang, typed = subscriber.language, (message.text or "")[:64]
    zone = zone_by_city(typed)  # "Душанбе", "Tashkent": the city shown on a button
    if zone is None:
        try:
            zone = parse_timezone(typed)
        except ValueError:
            await message.reply(t(lang, "timezone.bad_zone", text=escape(typed[:40])))
            return
    flow = Flow((await state.get_data()).get("flow", Flow.ALONE.value))
    await state.clear()
    now = clock()
    chat = await chats.set_timezone(subscriber.id, zone, now)
    await after_change(message, chats, chat, classifier, now, flow, "finish")


def make_router() -> Router:
    router = Router(name="timezone")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_timezone, Command("timezone"))
    router.callback_query.register(on_zone_button, ZoneCb.filter())
    router.message.register(
        on_zone_typed, StateFilter(TextInput.zone), F.text, ~F.text.startswith("/")
    )
    return router
