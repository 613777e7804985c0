"""The admin area's routers, in order: ban gate, admin commands, refusals, access gate, forum routes.

`get_admin_routers(admin_ids)` is spliced into handlers.get_routers right after the errors router.
Admin commands are checked on the server: the admin router filters on the sender's id (and a
private chat); a non-admin who tries one gets a polite refusal and the attempt is logged and audited.
The refusals cover the registry's admin-only commands (handlers.common.commands) and the admin
buttons' prefixes (handlers.admin.callbacks), so a new command or button is never "unknown".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.i18n.catalog import t
from handlers.admin import access as admin_access
from handlers.admin import broadcast as admin_broadcast
from handlers.admin import chats as admin_chats
from handlers.admin import gate as admin_gate
from handlers.admin import opml as admin_opml
from handlers.admin import routing as admin_routing
from handlers.admin import rules as admin_rules
from handlers.admin import sources as admin_sources
from handlers.admin import stats as admin_stats
from handlers.admin.callbacks import ADMIN_PREFIXES
from handlers.common.commands import ADMIN_COMMANDS, admin_help_text
from storage.port import AuditStore

log = logging.getLogger(__name__)


async def cmd_admin(message: Message, lang: str) -> None:
    await message.answer(admin_help_text(lang))


async def refuse_command(
    message: Message,
    lang: str,
    clock: Callable[[], datetime],
    admin_ids: frozenset[int],
    audit: AuditStore | None = None,
) -> None:
    user_id = message.from_user.id if message.from_user else 0
    command = (message.text or "").split(maxsplit=1)[0][:64]
    if user_id in admin_ids:  # an admin in a group: answers could leak there
        await message.reply(t(lang, "admin.private_only"))
        return
    log.warning("non-admin %s tried %s in chat %s", user_id, command, message.chat.id)
    if audit is not None:
        await audit.record(user_id, "denied", now=clock(), target=message.chat.id, details=command)
    await message.reply(t(lang, "admin.refused"))


async def refuse_button(
    query: CallbackQuery,
    lang: str,
    clock: Callable[[], datetime],
    audit: AuditStore | None = None,
) -> None:
    log.warning("non-admin %s pressed admin button %r", query.from_user.id, query.data)
    if audit is not None:
        await audit.record(
            query.from_user.id, "denied", now=clock(), details=(query.data or "")[:64]
        )
    await query.answer(t(lang, "admin.refused"), show_alert=True)


def make_admin_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name="admin")
    router.message.filter(F.from_user.id.in_(admin_ids), F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(
        F.from_user.id.in_(admin_ids), F.message.chat.type == ChatType.PRIVATE
    )
    router.message.register(cmd_admin, Command("admin"))
    router.include_routers(
        admin_sources.make_router(),
        admin_opml.make_router(),
        admin_chats.make_router(),
        admin_rules.make_router(),
        admin_access.make_router(admin_ids),
        admin_stats.make_router(),
        admin_broadcast.make_router(),
    )
    return router


def make_refusal_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name="admin-refusals")

    async def refuse(
        message: Message,
        lang: str,
        clock: Callable[[], datetime],
        audit: AuditStore | None = None,
    ) -> None:
        await refuse_command(message, lang, clock, admin_ids, audit)

    router.message.register(refuse, Command(*ADMIN_COMMANDS))
    router.callback_query.register(refuse_button, F.data.regexp(rf"^({'|'.join(ADMIN_PREFIXES)}):"))
    return router


def get_admin_routers(admin_ids: frozenset[int]) -> list[Router]:
    """Fresh routers for one Dispatcher; the order matters (see the module docstring)."""
    return [
        admin_gate.make_ban_router(admin_ids),
        make_admin_router(admin_ids),
        make_refusal_router(admin_ids),
        admin_gate.make_access_router(admin_ids),
        admin_routing.make_router(),
    ]
