"""Gates before the conversation: banned users/chats are refused; /start obeys the access mode.

Both are routers early in the order (not middlewares) so that they are thin and visible; a
gate that lets an update through raises SkipHandler and the next routers see it unchanged.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject, CommandStart, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.types import Chat as TgChat
from aiogram.types import User as TgUser
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n.catalog import DEFAULT_LANGUAGE, t
from bot.settings import Settings
from handlers.admin.callbacks import DecisionCb
from handlers.common.filters import CanConfigure
from storage.port import AccessStore, ChatStore

log = logging.getLogger(__name__)


class Banned(Filter):
    """The sender or the chat is banned (admins never are); without AccessStore nothing is."""

    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def __call__(
        self,
        event: TelegramObject,
        access: AccessStore | None = None,
        event_chat: TgChat | None = None,
        event_from_user: TgUser | None = None,
    ) -> bool:
        if access is None or (event_from_user is not None and event_from_user.id in self.admin_ids):
            return False
        return await access.is_banned(
            event_from_user.id if event_from_user else None, event_chat.id if event_chat else None
        )


class AccessClosed(Filter):
    """The access mode is approval or invite (checked before any Telegram call)."""

    async def __call__(self, event: TelegramObject, access: AccessStore | None = None) -> bool:
        return access is not None and await access.mode() != "open"


async def refuse_banned_message(message: Message, lang: str) -> None:
    if (message.text or "").startswith("/"):  # other messages are ignored silently
        await message.answer(t(lang, "admin.banned"))


async def refuse_banned_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(t(lang, "admin.banned"), show_alert=True)


async def ignore_banned_post(post: Message) -> None:
    log.debug("ignored a post in banned channel %s", post.chat.id)


def make_ban_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name="ban-gate")
    router.message.register(refuse_banned_message, Banned(admin_ids))
    router.channel_post.register(ignore_banned_post, Banned(admin_ids))
    router.callback_query.register(refuse_banned_button, Banned(admin_ids))
    return router


def decision_keyboard(lang: str, chat_id: int) -> object:
    kb = InlineKeyboardBuilder()
    kb.button(text=t(lang, "admin.approve"), callback_data=DecisionCb(approve=True, chat=chat_id))
    kb.button(text=t(lang, "admin.reject"), callback_data=DecisionCb(approve=False, chat=chat_id))
    return kb.as_markup()


def admin_recipients(settings: Settings) -> tuple[int, ...]:
    if settings.admin_chat_id is not None:
        return (settings.admin_chat_id,)
    return tuple(sorted(settings.admin_ids))


async def _gate_start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    lang: str,
    chats: ChatStore,
    settings: Settings,
    clock: Callable[[], datetime],
    admin_ids: frozenset[int],
    access: AccessStore | None,
) -> None:
    user = message.from_user
    chat_id = message.chat.id
    if access is None or (user is not None and user.id in admin_ids):
        raise SkipHandler
    mode = await access.mode()
    if await chats.get(chat_id) is not None or await access.is_granted(chat_id):
        raise SkipHandler  # existing subscribers keep their access when the mode changes
    code = (command.args or "").strip()
    if code:
        if await access.redeem(code[:64], chat_id, clock()):
            log.info("chat %s joined with invite %s", chat_id, code)
            raise SkipHandler  # onboarding takes it from here
        await message.answer(t(lang, "admin.invite_invalid"))
        return
    if mode == "invite":
        await message.answer(t(lang, "admin.invite_needed"))
        return
    name = message.chat.title or (user.full_name if user else str(chat_id))
    created = await access.request(
        chat_id, user_id=user.id if user else chat_id, name=name, language=lang, now=clock()
    )
    if not created:
        await message.answer(t(lang, "admin.approval_already"))
        return
    await message.answer(t(lang, "admin.approval_pending"))
    for admin in admin_recipients(settings):
        try:
            await bot.send_message(
                admin,
                t(DEFAULT_LANGUAGE, "admin.approval_request", name=html.escape(name), id=chat_id),
                reply_markup=decision_keyboard(DEFAULT_LANGUAGE, chat_id),
            )
        except TelegramAPIError as exc:
            log.warning("could not tell admin %s about request %s: %s", admin, chat_id, exc)


def make_access_router(admin_ids: frozenset[int]) -> Router:
    """/start of a new chat while the mode is approval or invite (groups: their admins only)."""
    router = Router(name="access-gate")

    async def gate_start(
        message: Message,
        command: CommandObject,
        bot: Bot,
        lang: str,
        chats: ChatStore,
        settings: Settings,
        clock: Callable[[], datetime],
        access: AccessStore | None = None,
    ) -> None:
        await _gate_start(message, command, bot, lang, chats, settings, clock, admin_ids, access)

    closed = AccessClosed()
    router.message.register(gate_start, CommandStart(), closed, F.chat.type == ChatType.PRIVATE)
    router.message.register(gate_start, CommandStart(), closed, CanConfigure())
    return router
