"""Screens of the conversation: a text and a keyboard shown in place of the pressed message.

The /start walk-through (`Flow.ONBOARD`) is a chain of these screens: topics → (countries) →
schedule → time zone → summary; each screen's "done" shows the next one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram.types import CallbackQuery, ForceReply, InlineKeyboardMarkup, Message

from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common import keyboards as kb
from handlers.common.callbacks import Flow
from handlers.common.views import (
    country_choices,
    schedule_text,
    summary_text,
    topic_choices,
    zone_text,
)
from storage.port import ChatStore

log = logging.getLogger(__name__)


async def show(
    target: CallbackQuery | Message, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message whose button was pressed; send a new one for a command (or if too old)."""
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            # A double tap re-renders the same screen; the identical edit Telegram refuses
            # counts as done (handlers.common.replies), like every edit's.
            await target.message.edit_text(text, reply_markup=markup)
            return
        if target.message is None:
            return
        await target.bot.send_message(target.message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    await target.answer(text, reply_markup=markup)


async def ask_for_text(query: CallbackQuery, text: str) -> None:
    """A prompt for typed input, as a new message (the pressed one keeps its buttons).

    In groups the bot sees only commands and replies to itself (privacy mode), so the prompt
    asks for a reply. Not `selective`: the pressing admin is neither mentioned nor replied to.
    """
    if query.message is None or query.bot is None:
        return
    chat = query.message.chat
    markup = ForceReply() if chat.type != "private" else None
    await query.bot.send_message(chat.id, text, reply_markup=markup)


async def show_topics(
    target: CallbackQuery | Message, chat: Chat, classifier: Classifier, flow: Flow
) -> None:
    lang = chat.language
    markup = kb.topics_keyboard(
        lang, topic_choices(classifier, lang), chat.topics, flow, chat.all_sources
    )
    intro = (
        t(lang, "onboarding.welcome") + "\n\n"
        if flow is Flow.ONBOARD and isinstance(target, Message)
        else ""
    )
    await show(target, intro + t(lang, "topics.prompt"), markup)


async def show_countries(
    target: CallbackQuery | Message, chat: Chat, classifier: Classifier, page: int, flow: Flow
) -> None:
    lang = chat.language
    markup = kb.countries_keyboard(
        lang, country_choices(classifier, lang), chat.countries, page, flow
    )
    await show(target, t(lang, "countries.prompt"), markup)


async def show_modes(
    target: CallbackQuery | Message, chat: Chat, now: datetime, flow: Flow
) -> None:
    lang = chat.language
    text = t(
        lang,
        "schedule.prompt",
        current=schedule_text(lang, chat),
        zone=zone_text(lang, chat.timezone, now),
    )
    await show(target, text, kb.modes_keyboard(lang, flow))


async def show_zones(
    target: CallbackQuery | Message, chat: Chat, now: datetime, flow: Flow
) -> None:
    lang = chat.language
    text = t(lang, "timezone.prompt", current=zone_text(lang, chat.timezone, now))
    await show(target, text, kb.zones_keyboard(lang, flow))


async def show_summary(
    target: CallbackQuery | Message,
    chat: Chat,
    classifier: Classifier,
    now: datetime,
    headline: str = "",
    latest: bool = False,
) -> None:
    lang = chat.language
    text = summary_text(lang, chat, classifier, now)
    await show(
        target,
        f"{headline}\n\n{text}" if headline else text,
        kb.settings_keyboard(lang, chat.status, latest),
    )


async def finish_onboarding(
    target: CallbackQuery | Message,
    chats: ChatStore,
    chat: Chat,
    classifier: Classifier,
    now: datetime,
) -> None:
    chat = await chats.mark_onboarded(chat.id, now)
    log.info("chat %s finished onboarding", chat.id)
    lang = chat.language
    if chat.mode == "instant":
        done = t(lang, "onboarding.done_instant")
    else:
        done = t(lang, "onboarding.done", schedule=schedule_text(lang, chat))
    await show_summary(target, chat, classifier, now, done, latest=True)


async def after_change(
    target: CallbackQuery | Message,
    chats: ChatStore,
    chat: Chat,
    classifier: Classifier,
    now: datetime,
    flow: Flow,
    next_step: str,
) -> None:
    """A section was saved. In the walk-through show `next_step` (schedule | timezone | finish);
    outside it confirm with the settings summary."""
    if flow is not Flow.ONBOARD:
        await show_summary(target, chat, classifier, now, t(chat.language, "settings.saved"))
    elif next_step == "schedule":
        await show_modes(target, chat, now, flow)
    elif next_step == "timezone":
        await show_zones(target, chat, now, flow)
    else:
        await finish_onboarding(target, chats, chat, classifier, now)
