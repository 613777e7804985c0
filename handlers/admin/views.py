"""Admin keyboards and list pages as pure functions of state (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain import Chat, Feed
from bot.i18n.catalog import t
from bot.ingest.probe import FeedLink
from handlers.admin.callbacks import (
    AuditCb,
    BroadcastCb,
    ChatAct,
    ChatCb,
    FeedAct,
    FeedCb,
    OfferCb,
)
from handlers.common.choices import PRESET_TIMES

PAGE_SIZE = 5
ON, OFF = "✅", "▫️"


def pages(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def _nav(kb: InlineKeyboardBuilder, lang: str, page: int, count: int, make) -> int:  # type: ignore[no-untyped-def]
    shown = 0
    if page > 0:
        kb.button(text=t(lang, "admin.prev"), callback_data=make(page - 1))
        shown += 1
    if page < count - 1:
        kb.button(text=t(lang, "admin.next"), callback_data=make(page + 1))
        shown += 1
    return shown


def feeds_keyboard(lang: str, feeds: Sequence[Feed], page: int, count: int) -> InlineKeyboardMarkup:
    """Per feed one row: #id pause/resume · poll · rename · remove; then page arrows."""
    kb = InlineKeyboardBuilder()
    for f in feeds:
        toggle = FeedAct.RESUME if f.paused or not f.active else FeedAct.PAUSE
        label = "admin.feed_resume" if toggle is FeedAct.RESUME else "admin.feed_pause"
        kb.button(
            text=f"#{f.id} {t(lang, label)}", callback_data=FeedCb(act=toggle, feed=f.id, page=page)
        )
        kb.button(
            text=t(lang, "admin.feed_poll"),
            callback_data=FeedCb(act=FeedAct.POLL, feed=f.id, page=page),
        )
        kb.button(
            text=t(lang, "admin.feed_rename"),
            callback_data=FeedCb(act=FeedAct.RENAME, feed=f.id, page=page),
        )
        kb.button(
            text=t(lang, "admin.feed_remove"),
            callback_data=FeedCb(act=FeedAct.REMOVE, feed=f.id, page=page),
        )
    nav = _nav(kb, lang, page, count, lambda p: FeedCb(act=FeedAct.PAGE, page=p))
    kb.adjust(*([4] * len(feeds)), *([nav] if nav else []))
    return kb.as_markup()


def feed_buttons(lang: str, feed_id: int, page: int, *, confirm: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if confirm:
        kb.button(
            text=t(lang, "admin.feed_yes"),
            callback_data=FeedCb(act=FeedAct.CONFIRM, feed=feed_id, page=page),
        )
        kb.button(
            text=t(lang, "admin.feed_no"), callback_data=FeedCb(act=FeedAct.CANCEL, page=page)
        )
    return kb.as_markup()


def offers_keyboard(offers: Sequence[FeedLink], draft_ids: Sequence[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for offer, draft in zip(offers, draft_ids, strict=True):
        label = offer.title or offer.url
        kb.button(text=f"➕ {label[:60]}", callback_data=OfferCb(draft=draft))
    kb.adjust(1)
    return kb.as_markup()


def chats_keyboard(lang: str, chats: Sequence[Chat], page: int, count: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for chat in chats:
        label = (chat.title or chat.username or str(chat.id))[:40]
        kb.button(text=f"⚙️ {label}", callback_data=ChatCb(act=ChatAct.SHOW, chat=chat.id))
    nav = _nav(kb, lang, page, count, lambda p: ChatCb(act=ChatAct.PAGE, value=str(p)))
    kb.adjust(*([1] * len(chats)), *([nav] if nav else []))
    return kb.as_markup()


def chat_keyboard(lang: str, chat: Chat, topics: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """A subscribed chat's topics, schedule presets and pause/resume, for an admin."""
    kb = InlineKeyboardBuilder()
    for slug, label in topics:
        mark = ON if slug in chat.topics else OFF
        kb.button(
            text=f"{mark} {label}",
            callback_data=ChatCb(act=ChatAct.TOPIC, chat=chat.id, value=slug),
        )
    mark = ON if not chat.topics else OFF
    kb.button(
        text=f"{mark} {t(lang, 'admin.chat_all_topics')}",
        callback_data=ChatCb(act=ChatAct.ALL, chat=chat.id),
    )
    kb.button(
        text=t(lang, "admin.chat_mode_instant"),
        callback_data=ChatCb(act=ChatAct.MODE, chat=chat.id, value="instant"),
    )
    for value in ("08:00", "09:00", "18:00"):
        assert value in PRESET_TIMES
        mark = ON if chat.mode == "daily" and chat.times == (value,) else ""
        kb.button(
            text=f"{mark}{value}",
            callback_data=ChatCb(act=ChatAct.TIME, chat=chat.id, value=value.replace(":", "")),
        )
    if chat.status == "active":
        kb.button(
            text=t(lang, "admin.chat_pause"), callback_data=ChatCb(act=ChatAct.PAUSE, chat=chat.id)
        )
    else:
        kb.button(
            text=t(lang, "admin.chat_resume"),
            callback_data=ChatCb(act=ChatAct.RESUME, chat=chat.id),
        )
    kb.adjust(*([2] * (len(topics) // 2)), *([1] * (len(topics) % 2)), 1, 4, 1)
    return kb.as_markup()


def broadcast_keyboard(lang: str, draft: int, count: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t(lang, "admin.broadcast_send", count=count),
        callback_data=BroadcastCb(send=True, draft=draft),
    )
    kb.button(
        text=t(lang, "admin.broadcast_cancel"), callback_data=BroadcastCb(send=False, draft=draft)
    )
    return kb.as_markup()


def audit_keyboard(lang: str, page: int, count: int) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    if not _nav(kb, lang, page, count, lambda p: AuditCb(page=p)):
        return None
    return kb.as_markup()


def failure_reason(lang: str, kind: str | None, detail: str | None) -> str:
    """Why a feed failed, in the admin's language; the English technical detail (an HTTP status,
    a timeout's length) follows in brackets for whoever fixes the feed."""
    try:
        reason = t(lang, f"admin.fetch_error.{kind}")
    except KeyError:  # a kind without its own text: the detail alone still says what happened
        return detail or t(lang, "admin.fetch_error.internal")
    return f"{reason} ({detail})" if detail else reason
