"""/rule terms (test against the archive, then Save / Cancel), /testrule terms and /rules (each
with a delete button): a chat's personal keyword rules (bot.understand.chatrules).

Buttons carry only a row id (a pending draft or a saved rule, both in the database), so a bot
restart strands nobody and the callback data stays a few bytes. In groups and channels only
administrators add or delete rules (handlers.common.guard refuses the rest before this router).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.digests.render import shorten
from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.chatrules import MAX_RULES, ChatRule, RuleError, RuleSpec, parse_rule
from bot.understand.classify import Classifier
from handlers.common.filters import Subscribed
from storage.errors import TooManyRulesError
from storage.port import RuleStore

log = logging.getLogger(__name__)

TEST_WINDOW = timedelta(days=7)
TEST_TITLES = 5
TITLE_LIMIT = 120
BUTTON_LIMIT = 40
CANDIDATE_LIMIT = 5000  # archive articles a test checks at most (the count then shows "N+")


class RuleAction(StrEnum):
    SAVE = "s"
    CANCEL = "c"
    DELETE = "d"


class RuleCb(CallbackData, prefix="kr"):
    action: RuleAction
    id: int  # a draft's id (save, cancel) or a saved rule's (delete)


ButtonData = Callable[[RuleAction, int], CallbackData]


@dataclass(frozen=True, slots=True)
class RuleTest:
    count: int
    capped: bool  # more candidates than were checked
    titles: tuple[str, ...]  # the newest matches


async def test_rule(repo: RuleStore, spec: RuleSpec, now: datetime) -> RuleTest:
    """What the rule would have matched in the last 7 days of the archive."""
    candidates = await repo.recent_candidates(
        spec.required, now - TEST_WINDOW, limit=CANDIDATE_LIMIT
    )
    matched = []
    for c in candidates:
        seq = c.terms.split()
        if spec.matches(seq, set(seq), c.countries):
            matched.append(c.title)
    # candidates come newest first
    return RuleTest(len(matched), len(candidates) >= CANDIDATE_LIMIT, tuple(matched[:TEST_TITLES]))


def _esc(text: str) -> str:
    return html.escape(text, quote=False)  # message text, never an attribute


def parse(classifier: Classifier, args: str | None) -> RuleSpec:
    return parse_rule(classifier.morph, args or "", classifier.country_codes)


def error_text(lang: str, exc: RuleError) -> str:
    values = {k: _esc(str(v)) for k, v in exc.values.items()}
    return t(lang, f"rules.err_{exc.code}", **values) + "\n" + t(lang, "rules.usage")


def test_text(lang: str, spec: RuleSpec, result: RuleTest) -> str:
    lines = [
        t(lang, "rules.test_header", rule=_esc(spec.text)),
        t(
            lang,
            "rules.test_count",
            count=f"{result.count}+" if result.capped else result.count,
        ),
    ]
    lines += [f"• {_esc(shorten(title, TITLE_LIMIT))}" for title in result.titles]
    return "\n".join(lines)


def _own(action: RuleAction, row_id: int) -> CallbackData:
    return RuleCb(action=action, id=row_id)


def confirm_keyboard(lang: str, draft_id: int, data: ButtonData = _own) -> InlineKeyboardMarkup:
    """Save / Cancel; `data(action, draft id)` makes the callback data (the admin area's own)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=t(lang, "rules.save"), callback_data=data(RuleAction.SAVE, draft_id))
    builder.button(text=t(lang, "rules.cancel"), callback_data=data(RuleAction.CANCEL, draft_id))
    builder.adjust(2)
    return builder.as_markup()


def rules_view(
    lang: str, rules: list[ChatRule], data: ButtonData = _own
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not rules:
        return t(lang, "rules.none"), None
    lines = [t(lang, "rules.list_header", count=len(rules), limit=MAX_RULES)]
    lines += [f"{n}. {_esc(rule.text)}" for n, rule in enumerate(rules, 1)]
    builder = InlineKeyboardBuilder()
    for n, rule in enumerate(rules, 1):
        label = t(lang, "rules.delete", n=n, rule=shorten(rule.text, BUTTON_LIMIT))
        builder.button(text=label, callback_data=data(RuleAction.DELETE, rule.id))
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def cmd_rule(
    message: Message,
    command: CommandObject,
    classifier: Classifier,
    rules: RuleStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang, repo, now = subscriber.language, rules, clock()
    try:
        spec = parse(classifier, command.args)
    except RuleError as exc:
        await message.answer(error_text(lang, exc))
        return
    if await repo.count(subscriber.id) >= MAX_RULES:
        await message.answer(t(lang, "rules.err_too_many_rules", limit=MAX_RULES))
        return
    result = await test_rule(repo, spec, now)
    by = message.from_user.id if message.from_user else None
    draft = await repo.add_draft(subscriber.id, spec.text, spec.to_json(), by=by, now=now)
    text = test_text(lang, spec, result) + "\n\n" + t(lang, "rules.confirm")
    await message.answer(text, reply_markup=confirm_keyboard(lang, draft))


async def cmd_testrule(
    message: Message,
    command: CommandObject,
    classifier: Classifier,
    rules: RuleStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang = subscriber.language
    try:
        spec = parse(classifier, command.args)
    except RuleError as exc:
        await message.answer(error_text(lang, exc))
        return
    result = await test_rule(rules, spec, clock())
    await message.answer(test_text(lang, spec, result))


async def cmd_rules(message: Message, rules: RuleStore, subscriber: Chat) -> None:
    stored = [ChatRule.from_stored(r) for r in await rules.list(subscriber.id)]
    text, markup = rules_view(subscriber.language, stored)
    await message.answer(text, reply_markup=markup)


async def on_rule_button(
    query: CallbackQuery,
    callback_data: RuleCb,
    rules: RuleStore,
    clock: Callable[[], datetime],
    subscriber: Chat,
) -> None:
    lang, repo, message = subscriber.language, rules, query.message
    if not isinstance(message, Message):
        await query.answer(t(lang, "errors.bad_button"), show_alert=True)
        return
    if callback_data.action is RuleAction.DELETE:
        deleted = await repo.delete(subscriber.id, callback_data.id)
        await query.answer(t(lang, "rules.deleted" if deleted else "rules.gone"))
        rules = [ChatRule.from_stored(r) for r in await repo.list(subscriber.id)]
        text, markup = rules_view(lang, rules)
        await message.edit_text(text, reply_markup=markup)
        return
    draft = await repo.take_draft(subscriber.id, callback_data.id)
    if draft is None:
        await query.answer(t(lang, "rules.gone"), show_alert=True)
        await message.edit_reply_markup(reply_markup=None)
        return
    text, spec = draft
    if callback_data.action is RuleAction.CANCEL:
        await query.answer()
        await message.edit_text(t(lang, "rules.cancelled", rule=_esc(text)))
        return
    by = query.from_user.id if query.from_user else None
    try:
        await repo.add(subscriber.id, text, spec, by=by, now=clock())
    except TooManyRulesError:
        await query.answer(t(lang, "rules.err_too_many_rules", limit=MAX_RULES), show_alert=True)
        await message.edit_reply_markup(reply_markup=None)
        return
    log.info("chat %s saved rule %r", subscriber.id, text)
    await query.answer()
    await message.edit_text(t(lang, "rules.saved", rule=_esc(text)))


def make_router() -> Router:
    router = Router(name="rules")
    router.message.filter(Subscribed())
    router.callback_query.filter(Subscribed())
    router.message.register(cmd_rule, Command("rule"))
    router.message.register(cmd_testrule, Command("testrule"))
    router.message.register(cmd_rules, Command("rules"))
    router.callback_query.register(on_rule_button, RuleCb.filter())
    return router
