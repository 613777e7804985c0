"""/schedule: instant, daily at HH:MM, several times a day, weekly on a day at HH:MM."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.digests.slots import parse_time
from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common import keyboards as kb
from handlers.common.callbacks import Flow, Mode, ScheduleAction, ScheduleCb
from handlers.common.choices import PRESET_TIMES, mask_to_times, minutes_to_hhmm, times_to_mask
from handlers.common.filters import Subscribed
from handlers.common.screens import (
    after_change,
    ask_for_text,
    finish_onboarding,
    show,
    show_modes,
    show_summary,
)
from handlers.common.states import TextInput
from storage.port import ChatStore

log = logging.getLogger(__name__)

MAX_TIMES = 12


async def cmd_schedule(message: Message, clock: Callable[[], datetime], subscriber: Chat) -> None:
    await show_modes(message, subscriber, clock(), Flow.ALONE)


def _is_valid(data: ScheduleCb) -> bool:
    """Buttons carry the whole choice, so a forged one must not reach ChatStore.set_schedule."""
    weekday_ok = data.mode is not Mode.WEEKLY or 0 <= data.day <= 6
    match data.action:
        case ScheduleAction.TIME:
            return (
                0 <= data.value < 24 * 60 and data.mode in (Mode.DAILY, Mode.WEEKLY) and weekday_ok
            )
        case ScheduleAction.MASK | ScheduleAction.SAVE:
            return 0 <= data.value < 1 << len(PRESET_TIMES) and data.mode is Mode.TIMES
        case ScheduleAction.DAY:
            return data.mode is Mode.WEEKLY and weekday_ok
        case ScheduleAction.CUSTOM:
            return data.mode is not Mode.INSTANT and weekday_ok
    return True


async def on_schedule_button(
    query: CallbackQuery,
    callback_data: ScheduleCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
    state: FSMContext,
) -> None:
    now, data, lang, chat_id = clock(), callback_data, subscriber.language, subscriber.id
    if not _is_valid(data):
        log.warning("forged schedule button %r from chat %s", query.data, chat_id)
        await query.answer(t(lang, "errors.bad_button"), show_alert=True)
        return
    if data.action is ScheduleAction.SAVE and not data.value:
        await query.answer(t(lang, "schedule.pick_one"), show_alert=True)
        return
    await query.answer()
    action, mode, flow = data.action, data.mode, data.flow
    if action is ScheduleAction.MODES:
        await show_modes(query, subscriber, now, flow)
    elif action is ScheduleAction.KEEP and flow is Flow.ONBOARD:
        await finish_onboarding(query, chats, subscriber, classifier, now)
    elif action is ScheduleAction.KEEP:  # opened by /schedule: leave it as it is
        await show_summary(query, subscriber, classifier, now)
    elif action is ScheduleAction.CUSTOM:
        await state.set_state(TextInput.time)
        await state.update_data(mode=mode.value, day=data.day, flow=flow.value)
        key = "schedule.ask_times" if mode is Mode.TIMES else "schedule.ask_time"
        await ask_for_text(query, t(lang, key))
    elif action is ScheduleAction.MODE and mode is Mode.DAILY:
        await show(query, t(lang, "schedule.pick_time"), kb.times_keyboard(lang, mode, -1, flow))
    elif action is ScheduleAction.MODE and mode is Mode.WEEKLY:
        await show(query, t(lang, "schedule.pick_day"), kb.weekdays_keyboard(lang, flow))
    elif action is ScheduleAction.DAY:
        await show(
            query, t(lang, "schedule.pick_time"), kb.times_keyboard(lang, mode, data.day, flow)
        )
    elif (action is ScheduleAction.MODE and mode is Mode.TIMES) or action is ScheduleAction.MASK:
        # the picker starts from the chat's current times only if it already has several
        # (a weekly 18:00 must not stay ticked and be saved by accident)
        current = subscriber.times if subscriber.mode == Mode.TIMES.value else ()
        mask = data.value if action is ScheduleAction.MASK else times_to_mask(current)
        await show(query, t(lang, "schedule.pick_times"), kb.multi_times_keyboard(lang, mask, flow))
    else:  # a complete choice: instant, a preset time, or a saved set of times
        times = {
            ScheduleAction.TIME: [minutes_to_hhmm(data.value)],
            ScheduleAction.SAVE: mask_to_times(data.value),
        }.get(action, list(subscriber.times))
        chat = await chats.set_schedule(
            chat_id,
            mode=mode.value,
            times=times,
            weekday=data.day if mode is Mode.WEEKLY else None,
            now=now,
        )
        await after_change(query, chats, chat, classifier, now, flow, "timezone")


async def on_time_typed(
    message: Message,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    mode, lang = Mode(data["mode"]), subscriber.language
    parts = [p for p in re.split(r"[,;\s]+", message.text or "") if p]
    if mode is not Mode.TIMES:
        parts = [" ".join(parts)]
    try:
        if not parts or len(parts) > MAX_TIMES:
            raise ValueError("no time or too many times")
        times = [parse_time(p) for p in parts]
    except ValueError:
        shown = escape((message.text or "")[:40])
        await message.reply(t(lang, "schedule.bad_time", text=shown, most=MAX_TIMES))
        return
    await state.clear()
    weekday = data["day"] if mode is Mode.WEEKLY else None
    now = clock()
    chat = await chats.set_schedule(
        subscriber.id, mode=mode.value, times=times, weekday=weekday, now=now
    )
    await after_change(message, chats, chat, classifier, now, Flow(data["flow"]), "timezone")


def make_router() -> Router:
    router = Router(name="schedule")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_schedule, Command("schedule"))
    router.callback_query.register(on_schedule_button, ScheduleCb.filter())
    router.message.register(
        on_time_typed, StateFilter(TextInput.time), F.text, ~F.text.startswith("/")
    )
    return router
