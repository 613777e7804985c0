"""/settings (summary with a button per part), /language, /pause, /resume and /stop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.domain import Chat
from bot.i18n.catalog import LANGUAGES, t
from bot.understand.classify import Classifier
from handlers.common import keyboards as kb
from handlers.common.callbacks import Flow, LanguageCb, Section, SettingsCb, StopCb
from handlers.common.filters import Subscribed
from handlers.common.screens import (
    show,
    show_countries,
    show_modes,
    show_summary,
    show_topics,
    show_zones,
)
from handlers.subscriber.digest import send_latest
from handlers.subscriber.quiet import quiet_keyboard, quiet_text
from storage.port import ChatStore

if TYPE_CHECKING:  # the service lives with the scheduler jobs; handlers only call it
    from bot.digests.planner import DigestService

log = logging.getLogger(__name__)


async def cmd_settings(
    message: Message, classifier: Classifier, clock: Callable[[], datetime], subscriber: Chat
) -> None:
    await show_summary(message, subscriber, classifier, clock())


async def cmd_language(message: Message, subscriber: Chat) -> None:
    await message.answer(
        t(subscriber.language, "settings.pick_language"),
        reply_markup=kb.language_keyboard(subscriber.language),
    )


async def cmd_pause_resume(
    message: Message,
    command: CommandObject,
    chats: ChatStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    pause = command.command == "pause"
    chat = await chats.set_status(subscriber.id, "paused" if pause else "active", clock())
    await message.answer(t(chat.language, "settings.paused" if pause else "settings.resumed"))


async def cmd_stop(message: Message, subscriber: Chat) -> None:
    await message.answer(
        t(subscriber.language, "settings.stop_confirm"),
        reply_markup=kb.stop_keyboard(subscriber.language),
    )


async def on_settings_button(
    query: CallbackQuery,
    callback_data: SettingsCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
    digests: DigestService,
) -> None:
    now, chat, section = clock(), subscriber, callback_data.section
    await query.answer()
    if section is Section.LATEST:
        await send_latest(query, digests, chat)
    elif section is Section.TOPICS:
        await show_topics(query, chat, classifier, Flow.ALONE)
    elif section is Section.COUNTRIES:
        await show_countries(query, chat, classifier, 0, Flow.ALONE)
    elif section is Section.SCHEDULE:
        await show_modes(query, chat, now, Flow.ALONE)
    elif section is Section.TIMEZONE:
        await show_zones(query, chat, now, Flow.ALONE)
    elif section is Section.LANGUAGE:
        await show(
            query, t(chat.language, "settings.pick_language"), kb.language_keyboard(chat.language)
        )
    elif section is Section.FORMAT:
        chat = await chats.set_digest_format(
            chat.id, "compact" if chat.digest_format == "rich" else "rich", now
        )
        await show_summary(query, chat, classifier, now, t(chat.language, "settings.saved"))
    elif section is Section.QUIET:
        await show(query, quiet_text(chat.language, chat), quiet_keyboard(chat.language, chat))
    elif section is Section.STOP:
        await show(
            query, t(chat.language, "settings.stop_confirm"), kb.stop_keyboard(chat.language)
        )
    else:
        if section in (Section.PAUSE, Section.RESUME):
            chat = await chats.set_status(
                chat.id, "paused" if section is Section.PAUSE else "active", now
            )
        await show_summary(query, chat, classifier, now)


async def on_language_button(
    query: CallbackQuery,
    callback_data: LanguageCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    if callback_data.lang not in LANGUAGES:
        await query.answer(t(subscriber.language, "errors.bad_button"), show_alert=True)
        return
    now = clock()
    chat = await chats.set_language(subscriber.id, callback_data.lang, now)
    await query.answer()
    await show_summary(query, chat, classifier, now, t(chat.language, "settings.language_set"))


async def on_stop_button(
    query: CallbackQuery,
    callback_data: StopCb,
    chats: ChatStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang = subscriber.language
    await query.answer()
    if not callback_data.confirm:
        await show_summary(query, subscriber, classifier, clock())
        return
    await chats.delete(subscriber.id)
    log.info("chat %s unsubscribed and was forgotten", subscriber.id)
    await show(query, t(lang, "settings.stopped"), None)


def make_router() -> Router:
    router = Router(name="settings")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_language, Command("language"))
    router.message.register(cmd_pause_resume, Command("pause", "resume"))
    router.message.register(cmd_stop, Command("stop"))
    router.callback_query.register(on_settings_button, SettingsCb.filter())
    router.callback_query.register(on_language_button, LanguageCb.filter())
    router.callback_query.register(on_stop_button, StopCb.filter())
    return router
