"""Admin: access mode, invites, approval decisions, bans and the audit log."""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.digests.render import pack, shorten
from bot.domain import ACCESS_MODES
from bot.i18n.catalog import t
from handlers.admin.callbacks import AuditCb, DecisionCb
from handlers.admin.gate import decision_keyboard
from handlers.admin.views import audit_keyboard, pages
from storage.port import AccessStore, AuditStore

log = logging.getLogger(__name__)

AUDIT_PAGE = 15
TAIL_SHOWN = 80  # characters of an audit entry's target and of its details: 15 entries fit one page
BANS_SHOWN = 50
REASON_SHOWN = 120
MAX_INVITE_USES = 1000


async def cmd_access(
    message: Message, command: CommandObject, lang: str, access: AccessStore, audit: AuditStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    arg = (command.args or "").strip().lower()
    if not arg:
        mode = await access.mode()
        await message.answer(
            t(lang, "admin.access_mode", mode=t(lang, f"admin.mode_{mode}"))
            + "\n"
            + t(lang, "admin.access_usage")
        )
    elif arg not in ACCESS_MODES:
        await message.answer(t(lang, "admin.access_usage"))
    else:
        await access.set_mode(arg)
        await audit.record(message.chat.id, "access.mode", now=clock(), details=arg)
        await message.answer(t(lang, "admin.access_set", mode=t(lang, f"admin.mode_{arg}")))


async def cmd_invite(
    message: Message, command: CommandObject, bot: Bot, lang: str, access: AccessStore,
    audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    arg = (command.args or "1").strip()
    if not arg.isdigit() or not 1 <= int(arg) <= MAX_INVITE_USES:
        await message.answer(t(lang, "admin.invite_usage"))
        return
    code = secrets.token_urlsafe(12)
    invite = await access.create_invite(code, max_uses=int(arg), by=message.chat.id, now=clock())
    me = await bot.me()
    await audit.record(message.chat.id, "access.invite", now=clock(), target=code, details=arg)
    link = f"https://t.me/{me.username}?start={code}"
    await message.answer(t(lang, "admin.invite_created", count=invite.max_uses, link=link))


async def cmd_invites(message: Message, lang: str, access: AccessStore) -> None:
    """The invites that still let someone in, each with its code for /revokeinvite."""
    usable = await access.invites()
    if not usable:
        await message.answer(t(lang, "admin.invites_none"))
        return
    lines = [
        t(lang, "admin.invites_line", code=html.escape(i.code), used=i.uses, count=i.max_uses,
          created=f"{i.created_at:%Y-%m-%d %H:%M} UTC")
        for i in usable
    ]  # fmt: skip
    await message.answer("\n".join([t(lang, "admin.invites_header"), *lines]))


async def cmd_revoke_invite(
    message: Message, command: CommandObject, lang: str, access: AccessStore, audit: AuditStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    code = (command.args or "").strip()
    if not code:
        await message.answer(t(lang, "admin.revoke_usage"))
    elif await access.revoke_invite(code):
        await audit.record(message.chat.id, "access.revoke", now=clock(), target=code)
        await message.answer(t(lang, "admin.revoked", code=html.escape(code)))
    else:
        await message.answer(t(lang, "admin.revoke_unknown", code=html.escape(code[:40])))


async def cmd_requests(message: Message, lang: str, access: AccessStore) -> None:
    pending = await access.pending_requests()
    if not pending:
        await message.answer(t(lang, "admin.requests_empty"))
    for r in pending[:10]:
        text = t(lang, "admin.approval_request", name=html.escape(r.name or ""), id=r.chat_id)
        await message.answer(text, reply_markup=decision_keyboard(lang, r.chat_id))


async def on_decision(
    query: CallbackQuery, callback_data: DecisionCb, bot: Bot, lang: str, access: AccessStore,
    audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    now = clock()
    request = await access.decide(
        callback_data.chat, approve=callback_data.approve, by=query.from_user.id, now=now
    )
    if request is None:
        await query.answer(t(lang, "admin.approval_stale"), show_alert=True)
        return
    await audit.record(
        query.from_user.id, f"access.{request.status}", now=now, target=request.chat_id
    )
    await query.answer()
    key = (
        "admin.approval_approved_user" if callback_data.approve else "admin.approval_rejected_user"
    )
    try:
        await bot.send_message(request.chat_id, t(request.language, key))
    except TelegramAPIError as exc:
        log.warning("could not tell %s about the decision: %s", request.chat_id, exc)
    decision = t(lang, f"admin.decision_{request.status}")
    await query.message.edit_text(  # type: ignore[union-attr]
        t(
            lang,
            "admin.approval_decided",
            name=html.escape(request.name or ""),
            id=request.chat_id,
            decision=decision,
            admin=html.escape(query.from_user.full_name),
        )
    )


def _subject(command: CommandObject) -> tuple[int | None, str | None]:
    parts = (command.args or "").split(maxsplit=1)
    if not parts or not parts[0].lstrip("-").isdigit():
        return None, None
    return int(parts[0]), (parts[1].strip()[:200] if len(parts) > 1 else None)


def make_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name="admin-access")

    async def cmd_ban(
        message: Message, command: CommandObject, lang: str, access: AccessStore, audit: AuditStore,
        clock: Callable[[], datetime],
    ) -> None:  # fmt: skip
        subject, reason = _subject(command)
        if subject is None:
            await message.answer(t(lang, "admin.ban_usage"))
        elif subject in admin_ids:
            await message.answer(t(lang, "admin.ban_admin"))
        elif await access.ban(subject, by=message.chat.id, reason=reason, now=clock()):
            await audit.record(message.chat.id, "ban", now=clock(), target=subject, details=reason)
            await message.answer(t(lang, "admin.banned_ok", id=subject))
        else:
            await message.answer(t(lang, "admin.banned_already", id=subject))

    router.message.register(cmd_ban, Command("ban"))
    router.message.register(cmd_unban, Command("unban"))
    router.message.register(cmd_bans, Command("bans"))
    router.message.register(cmd_access, Command("access"))
    router.message.register(cmd_invite, Command("invite"))
    router.message.register(cmd_invites, Command("invites"))
    router.message.register(cmd_revoke_invite, Command("revokeinvite"))
    router.message.register(cmd_requests, Command("requests"))
    router.message.register(cmd_audit, Command("audit"))
    router.callback_query.register(on_decision, DecisionCb.filter())
    router.callback_query.register(on_audit_page, AuditCb.filter())
    return router


async def cmd_unban(
    message: Message, command: CommandObject, lang: str, access: AccessStore, audit: AuditStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    subject, _ = _subject(command)
    if subject is None:
        await message.answer(t(lang, "admin.unban_usage"))
    elif await access.unban(subject, clock()):
        await audit.record(message.chat.id, "unban", now=clock(), target=subject)
        await message.answer(t(lang, "admin.unbanned_ok", id=subject))
    else:
        await message.answer(t(lang, "admin.unbanned_not", id=subject))


async def cmd_bans(message: Message, lang: str, access: AccessStore) -> None:
    bans = await access.bans()
    if not bans:
        await message.answer(t(lang, "admin.bans_empty"))
        return
    lines = [
        f"<code>{b.subject_id}</code> {b.banned_at:%Y-%m-%d} "
        + html.escape(shorten(b.reason or "", REASON_SHOWN))
        for b in bans[:BANS_SHOWN]
    ]
    if len(bans) > BANS_SHOWN:
        lines.append(t(lang, "admin.bans_more", n=len(bans) - BANS_SHOWN))
    for part in pack(lines, t(lang, "admin.bans_header"), sep="\n"):
        await message.answer(part)


async def audit_page(lang: str, page: int, audit: AuditStore):  # type: ignore[no-untyped-def]
    total = await audit.count()
    if not total:
        return t(lang, "admin.audit_empty"), None
    count = pages(total, AUDIT_PAGE)
    page = min(max(page, 0), count - 1)
    entries = await audit.recent(limit=AUDIT_PAGE, offset=page * AUDIT_PAGE)
    lines = [t(lang, "admin.audit_header", page=page + 1, pages=count)]
    for e in entries:
        # One page is one (edited) message: each entry's free text is kept short.
        tail = " ".join(html.escape(shorten(x, TAIL_SHOWN)) for x in (e.target, e.details) if x)
        lines.append(
            f"{e.at:%Y-%m-%d %H:%M} <code>{e.actor_id}</code> <b>{html.escape(e.action)}</b> {tail}".rstrip()
        )
    return "\n".join(lines), audit_keyboard(lang, page, count)


async def cmd_audit(message: Message, lang: str, audit: AuditStore) -> None:
    text, markup = await audit_page(lang, 0, audit)
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def on_audit_page(
    query: CallbackQuery, callback_data: AuditCb, lang: str, audit: AuditStore
) -> None:
    await query.answer()
    text, markup = await audit_page(lang, callback_data.page, audit)
    await query.message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)  # type: ignore[union-attr]
