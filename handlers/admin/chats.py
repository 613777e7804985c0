"""Admin: subscribed chats — /chats, /subscribe a group or channel, /chat settings by buttons."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.digests.render import shorten
from bot.domain import Chat
from bot.i18n.catalog import t
from bot.settings import Settings
from bot.understand.classify import Classifier
from handlers.admin.callbacks import ChatAct, ChatCb
from handlers.admin.views import PAGE_SIZE, chat_keyboard, chats_keyboard, pages
from handlers.common.views import topic_choices
from storage.errors import ChatNotFoundError
from storage.port import AccessStore, AuditStore, ChatStore

log = logging.getLogger(__name__)

CHATS_PAGE = PAGE_SIZE * 2
_ICONS = {"active": "🟢", "paused": "⏸", "blocked": "🚫"}
POSTING = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.CREATOR}


def _schedule(lang: str, chat: Chat) -> str:
    if chat.mode == "daily":
        return t(lang, "admin.chat_mode_daily", time=chat.times[0])
    if chat.mode == "times":
        return t(lang, "admin.chat_mode_times", times=", ".join(chat.times))
    return t(lang, f"admin.chat_mode_{chat.mode}")


def chat_settings_text(lang: str, chat: Chat, classifier: Classifier) -> str:
    names = dict(topic_choices(classifier, lang))
    topics = ", ".join(names.get(s, s) for s in chat.topics) or t(lang, "admin.chat_all_topics")
    # names for reading, codes for /chatcountries (the hint below)
    countries = ", ".join(f"{classifier.country_name(c, lang)} ({c})" for c in chat.countries)
    text = t(lang, "admin.chat_settings", title=html.escape(chat.title or chat.username or str(chat.id)),
             id=chat.id, kind=t(lang, f"admin.kind_{chat.type}"), status=t(lang, f"settings.status.{chat.status}"),
             topics=html.escape(topics), countries=countries or t(lang, "admin.chat_any_country"),
             schedule=_schedule(lang, chat),
             timezone=chat.timezone)  # fmt: skip
    return text + "\n" + t(lang, "admin.chat_countries_hint", id=chat.id)


async def chats_page(lang: str, page: int, chats: ChatStore, access: AccessStore):  # type: ignore[no-untyped-def]
    listed = await chats.list()
    if not listed:
        return t(lang, "admin.chats_empty"), None
    counts = await chats.counts()
    banned = {b.subject_id for b in await access.bans()}
    count = pages(len(listed), CHATS_PAGE)
    page = min(max(page, 0), count - 1)
    shown = listed[page * CHATS_PAGE : (page + 1) * CHATS_PAGE]
    lines = [t(lang, "admin.chats_header", total=counts["total"], active=counts["active"],
               paused=counts["paused"], blocked=counts["blocked"], page=page + 1, pages=count)]  # fmt: skip
    for c in shown:
        lines.append(t(lang, "admin.chat_line", icon=_ICONS.get(c.status, "•"), id=c.id,
                       kind=t(lang, f"admin.kind_{c.type}"),
                       title=html.escape(shorten(c.title or (f"@{c.username}" if c.username else ""), 80)),
                       banned=t(lang, "admin.chat_banned_mark") if c.id in banned else ""))  # fmt: skip
    return "\n".join(lines), chats_keyboard(lang, shown, page, count)


async def cmd_chats(message: Message, lang: str, chats: ChatStore, access: AccessStore) -> None:
    text, markup = await chats_page(lang, 0, chats, access)
    await message.answer(text, reply_markup=markup)


async def cmd_subscribe(
    message: Message, command: CommandObject, bot: Bot, lang: str, chats: ChatStore,
    classifier: Classifier, settings: Settings, audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    arg = (command.args or "").strip()
    target: int | str | None = (
        int(arg) if arg.lstrip("-").isdigit() else (arg if arg.startswith("@") else None)
    )
    if target is None:
        await message.answer(t(lang, "admin.subscribe_usage"))
        return
    try:
        tg_chat = await bot.get_chat(target)
        member = await bot.get_chat_member(tg_chat.id, bot.id)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        await message.answer(t(lang, "admin.chat_not_found", reason=html.escape(exc.message)))
        return
    title = tg_chat.title or tg_chat.full_name or str(tg_chat.id)
    can_post = member.status in POSTING and (
        tg_chat.type != ChatType.CHANNEL
        or member.status == ChatMemberStatus.CREATOR
        or (
            member.status == ChatMemberStatus.ADMINISTRATOR
            and member.can_post_messages is not False
        )
    )
    if not can_post:
        status = t(lang, f"admin.member_status.{member.status}")
        await message.answer(t(lang, "admin.chat_not_member", title=html.escape(title), status=status))
        return
    now = clock()
    chat = await chats.ensure(tg_chat.id, type=tg_chat.type, title=tg_chat.title, username=tg_chat.username,
                              language=lang, timezone=settings.default_timezone, now=now,
                              added_by=message.chat.id)  # fmt: skip
    chat = await chats.mark_onboarded(chat.id, now)
    await audit.record(message.chat.id, "chat.subscribe", now=now, target=chat.id, details=title)
    text = (
        t(lang, "admin.chat_subscribed", title=html.escape(title))
        + "\n\n"
        + chat_settings_text(lang, chat, classifier)
    )
    await message.answer(
        text, reply_markup=chat_keyboard(lang, chat, topic_choices(classifier, lang))
    )


async def cmd_chat(
    message: Message, command: CommandObject, lang: str, chats: ChatStore, classifier: Classifier
) -> None:
    arg = (command.args or "").strip()
    chat = await chats.get(int(arg)) if arg.lstrip("-").isdigit() else None
    if not arg:
        await message.answer(t(lang, "admin.chat_usage"))
    elif chat is None:
        await message.answer(t(lang, "admin.chat_unknown"))
    else:
        markup = chat_keyboard(lang, chat, topic_choices(classifier, lang))
        await message.answer(chat_settings_text(lang, chat, classifier), reply_markup=markup)


async def cmd_chatcountries(
    message: Message, command: CommandObject, lang: str, chats: ChatStore, classifier: Classifier,
    audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2 or not parts[0].lstrip("-").isdigit():
        await message.answer(t(lang, "admin.chat_countries_usage"))
        return
    codes = (
        []
        if parts[1].strip() == "-"
        else [c.strip().lower() for c in parts[1].replace(" ", ",").split(",") if c.strip()]
    )
    unknown = [c for c in codes if c not in set(classifier.country_codes)]
    if unknown:
        await message.answer(
            t(lang, "admin.chat_countries_bad", codes=html.escape(", ".join(unknown[:20])))
        )
        return
    try:
        chat = await chats.set_countries(int(parts[0]), codes, clock())
    except ChatNotFoundError:
        await message.answer(t(lang, "admin.chat_unknown"))
        return
    await audit.record(
        message.chat.id, "chat.countries", now=clock(), target=chat.id, details=",".join(codes)
    )
    markup = chat_keyboard(lang, chat, topic_choices(classifier, lang))
    await message.answer(chat_settings_text(lang, chat, classifier), reply_markup=markup)


async def on_chat_button(
    query: CallbackQuery, callback_data: ChatCb, lang: str, chats: ChatStore, access: AccessStore,
    classifier: Classifier, audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    act, now, message = callback_data.act, clock(), query.message
    if act is ChatAct.PAGE:
        await query.answer()
        text, markup = await chats_page(lang, int(callback_data.value or 0), chats, access)
        await message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]
        return
    chat_id, value = callback_data.chat, callback_data.value
    try:
        if act is ChatAct.SHOW:
            chat = await chats.get(chat_id)
            if chat is None:
                raise ChatNotFoundError(chat_id)
        elif act is ChatAct.TOPIC and value in {i.slug for i in classifier.topics}:
            chat = await chats.toggle_topic(chat_id, value, now)
        elif act is ChatAct.ALL:
            chat = await chats.set_topics(chat_id, [], now)
        elif act is ChatAct.MODE and value == "instant":
            chat = await chats.set_schedule(
                chat_id, mode="instant", times=[], weekday=None, now=now
            )
        elif act is ChatAct.TIME:
            hhmm = f"{value[:2]}:{value[2:]}"  # ':' separates callback data fields
            chat = await chats.set_schedule(
                chat_id, mode="daily", times=[hhmm], weekday=None, now=now
            )
        elif act in (ChatAct.PAUSE, ChatAct.RESUME):
            chat = await chats.set_status(
                chat_id, "paused" if act is ChatAct.PAUSE else "active", now
            )
        else:
            await query.answer()
            return
    except (ChatNotFoundError, ValueError):
        await query.answer(t(lang, "admin.chat_unknown"), show_alert=True)
        return
    if act is not ChatAct.SHOW:
        await audit.record(
            query.from_user.id,
            f"chat.{act.name.lower()}",
            now=now,
            target=chat_id,
            details=value or None,
        )
    await query.answer()
    markup = chat_keyboard(lang, chat, topic_choices(classifier, lang))
    text = chat_settings_text(lang, chat, classifier)
    if act is ChatAct.SHOW:
        await message.answer(text, reply_markup=markup)  # type: ignore[union-attr]
    else:
        await message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]


def make_router() -> Router:
    router = Router(name="admin-chats")
    router.message.register(cmd_chats, Command("chats"))
    router.message.register(cmd_subscribe, Command("subscribe"))
    router.message.register(cmd_chat, Command("chat"))
    router.message.register(cmd_chatcountries, Command("chatcountries"))
    router.callback_query.register(on_chat_button, ChatCb.filter())
    return router
