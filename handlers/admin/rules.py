"""Admin: another chat's keyword rules from a private chat — /chatrule CHAT_ID terms (the same
archive test and Save / Cancel as /rule) and /chatrules CHAT_ID (each with a delete button)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.i18n.catalog import t
from bot.understand.chatrules import MAX_RULES, ChatRule, RuleError
from bot.understand.classify import Classifier
from handlers.admin.callbacks import ChatRuleCb
from handlers.subscriber.rules import (
    RuleAction,
    confirm_keyboard,
    error_text,
    parse,
    rules_view,
    test_rule,
)
from handlers.subscriber.rules import test_text as rule_test_text
from storage.errors import TooManyRulesError
from storage.port import AuditStore, ChatStore, RuleStore

log = logging.getLogger(__name__)


def _data(chat_id: int) -> Callable[[RuleAction, int], CallbackData]:
    def make(action: RuleAction, row_id: int) -> CallbackData:
        return ChatRuleCb(act=action.value, id=row_id, chat=chat_id)

    return make


def _target(args: str | None) -> tuple[int | None, str]:
    head, _, rest = (args or "").strip().partition(" ")
    return (int(head) if head.lstrip("-").isdigit() else None), rest


async def cmd_chatrule(
    message: Message, command: CommandObject, lang: str, chats: ChatStore, rules: RuleStore,
    classifier: Classifier, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    chat_id, rest = _target(command.args)
    if chat_id is None:
        await message.answer(t(lang, "admin.chat_rule_usage"))
        return
    if await chats.get(chat_id) is None:
        await message.answer(t(lang, "admin.chat_unknown"))
        return
    try:
        spec = parse(classifier, rest)
    except RuleError as exc:
        await message.answer(error_text(lang, exc))
        return
    repo, now = rules, clock()
    if await repo.count(chat_id) >= MAX_RULES:
        await message.answer(t(lang, "rules.err_too_many_rules", limit=MAX_RULES))
        return
    result = await test_rule(repo, spec, now)
    draft = await repo.add_draft(chat_id, spec.text, spec.to_json(), by=message.chat.id, now=now)
    text = (
        t(lang, "admin.chat_rule_for", id=chat_id)
        + "\n"
        + rule_test_text(lang, spec, result)
        + "\n\n"
        + t(lang, "rules.confirm")
    )
    await message.answer(text, reply_markup=confirm_keyboard(lang, draft, _data(chat_id)))


async def cmd_chatrules(
    message: Message, command: CommandObject, lang: str, chats: ChatStore, rules: RuleStore
) -> None:
    chat_id, _ = _target(command.args)
    if chat_id is None:
        await message.answer(t(lang, "admin.chat_rules_usage"))
        return
    if await chats.get(chat_id) is None:
        await message.answer(t(lang, "admin.chat_unknown"))
        return
    stored = [ChatRule.from_stored(r) for r in await rules.list(chat_id)]
    text, markup = rules_view(lang, stored, _data(chat_id))
    await message.answer(
        t(lang, "admin.chat_rule_for", id=chat_id) + "\n" + text, reply_markup=markup
    )


async def on_chat_rule_button(
    query: CallbackQuery, callback_data: ChatRuleCb, lang: str, rules: RuleStore,
    audit: AuditStore, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    message, repo, chat_id, now = query.message, rules, callback_data.chat, clock()
    if not isinstance(message, Message) or callback_data.act not in {a.value for a in RuleAction}:
        await query.answer(t(lang, "errors.bad_button"), show_alert=True)
        return
    action = RuleAction(callback_data.act)
    header = t(lang, "admin.chat_rule_for", id=chat_id) + "\n"
    if action is RuleAction.DELETE:
        deleted = await repo.delete(chat_id, callback_data.id)
        if deleted:
            await audit.record(query.from_user.id, "chat.rule_delete", now=now, target=chat_id,
                               details=str(callback_data.id))  # fmt: skip
        await query.answer(t(lang, "rules.deleted" if deleted else "rules.gone"))
        rules = [ChatRule.from_stored(r) for r in await repo.list(chat_id)]
        text, markup = rules_view(lang, rules, _data(chat_id))
        await message.edit_text(header + text, reply_markup=markup)
        return
    draft = await repo.take_draft(chat_id, callback_data.id)
    if draft is None:
        await query.answer(t(lang, "rules.gone"), show_alert=True)
        await message.edit_reply_markup(reply_markup=None)
        return
    text, spec = draft
    if action is RuleAction.CANCEL:
        await query.answer()
        await message.edit_text(
            header + t(lang, "rules.cancelled", rule=html.escape(text, quote=False))
        )
        return
    try:
        await repo.add(chat_id, text, spec, by=query.from_user.id, now=now)
    except TooManyRulesError:
        await query.answer(t(lang, "rules.err_too_many_rules", limit=MAX_RULES), show_alert=True)
        await message.edit_reply_markup(reply_markup=None)
        return
    await audit.record(query.from_user.id, "chat.rule_add", now=now, target=chat_id, details=text)
    await query.answer()
    await message.edit_text(header + t(lang, "rules.saved", rule=html.escape(text, quote=False)))


def make_router() -> Router:
    router = Router(name="admin-rules")
    router.message.register(cmd_chatrule, Command("chatrule"))
    router.message.register(cmd_chatrules, Command("chatrules"))
    router.callback_query.register(on_chat_rule_button, ChatRuleCb.filter())
    return router
