"""/search words (stored articles, Russian word forms matched) and /sources (the feeds we read)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Protocol

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.digests.render import CountryNames, Labels, pack, render_item
from bot.digests.selection import DigestItem
from bot.digests.slots import zone_for
from bot.domain import Article, Chat, Feed
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.callbacks import MuteCb
from handlers.common.filters import Subscribed
from handlers.common.screens import show
from handlers.common.views import topic_choices
from storage.port import ChatStore, FeedStore

log = logging.getLogger(__name__)

SEARCH_LIMIT = 10
QUERY_LIMIT = 200  # a 10,000-character "query" is cut, not searched
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class ArticleSearch(Protocol):
    """The search service the composition root provides (lemmas/stems over `article_search`)."""

    async def search(self, query: str, limit: int) -> list[Article]: ...


async def cmd_search(
    message: Message,
    command: CommandObject,
    search: ArticleSearch,
    classifier: Classifier,
    clock: Callable[[], datetime],
    subscriber: Chat | None,
    lang: str,
) -> None:
    query = " ".join((command.args or "")[:QUERY_LIMIT].split())
    if not query:
        await message.answer(t(lang, "reading.search_usage"))
        return
    found = await search.search(query, SEARCH_LIMIT)
    log.info("search %r: %d results", query, len(found))
    if not found:
        await message.answer(t(lang, "reading.search_none", query=escape(query)))
        return
    zone = zone_for(subscriber.timezone) if subscriber else UTC
    # country names as in digests ("Таджикистан", not "TJ")
    labels = Labels(
        lang, dict(topic_choices(classifier, lang)), CountryNames(classifier.country_name, lang)
    )
    now = clock()
    blocks = [render_item(DigestItem(article), labels, zone, now) for article in found]
    for part in pack(blocks, t(lang, "reading.search_header", query=escape(query))):
        await message.answer(part, link_preview_options=NO_PREVIEW)


SOURCES_PER_PAGE = 20
BUTTON_NAME = 40  # characters of a source's name on its button


def sources_page(
    lang: str, active: list[Feed], muted: frozenset[int], page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the sources with a mute toggle each (🔊 on, 🔇 muted for this chat)."""
    pages = max(1, -(-len(active) // SOURCES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = active[page * SOURCES_PER_PAGE : (page + 1) * SOURCES_PER_PAGE]
    lines = [
        f"{'🔇' if feed.id in muted else '•'} {escape(feed.display_name[:200])}" for feed in shown
    ]
    header = t(lang, "reading.sources_header", count=len(active))
    if pages > 1:
        header += " " + t(lang, "reading.sources_page", page=page + 1, pages=pages)
    kb = InlineKeyboardBuilder()
    for feed in shown:
        name = feed.display_name[:BUTTON_NAME]
        kb.button(
            text=f"{'🔇' if feed.id in muted else '🔊'} {name}",
            callback_data=MuteCb(feed=feed.id, page=page),
        )
    nav = []
    if page > 0:
        nav.append(("◀️", page - 1))
    if page < pages - 1:
        nav.append(("▶️", page + 1))
    for label, target in nav:
        kb.button(text=label, callback_data=MuteCb(feed=0, page=target))
    kb.adjust(*([1] * len(shown)), *([len(nav)] if nav else []))
    text = "\n".join([header, t(lang, "reading.sources_hint"), *lines])
    return text, kb.as_markup()


async def cmd_sources(
    message: Message, feeds: FeedStore, chats: ChatStore, lang: str, subscriber: Chat | None
) -> None:
    active = await feeds.list_active()
    if not active:
        await message.answer(t(lang, "reading.no_sources"))
        return
    if subscriber is None:  # not subscribed: a plain list, nothing to mute
        lines = [f"• {escape(feed.display_name[:200])}" for feed in active]
        for part in pack(lines, t(lang, "reading.sources_header", count=len(active)), sep="\n"):
            await message.answer(part, link_preview_options=NO_PREVIEW)
        return
    muted = (await chats.muted_feeds([subscriber.id])).get(subscriber.id, frozenset())
    text, markup = sources_page(subscriber.language, active, muted, 0)
    await message.answer(text, reply_markup=markup, link_preview_options=NO_PREVIEW)


async def on_mute_button(
    query: CallbackQuery,
    callback_data: MuteCb,
    feeds: FeedStore,
    chats: ChatStore,
    subscriber: Chat,
) -> None:
    """Mute or unmute one source for this chat (feed 0: just turn the page)."""
    lang = subscriber.language
    active = await feeds.list_active()
    if callback_data.feed:
        if callback_data.feed not in {f.id for f in active}:
            await query.answer(t(lang, "reading.source_gone"), show_alert=True)
            return
        now_muted = await chats.toggle_muted_feed(subscriber.id, callback_data.feed)
        await query.answer(t(lang, "reading.source_muted" if now_muted else "reading.source_on"))
    else:
        await query.answer()
    muted = (await chats.muted_feeds([subscriber.id])).get(subscriber.id, frozenset())
    text, markup = sources_page(lang, active, muted, callback_data.page)
    await show(query, text, markup)


def make_router() -> Router:
    router = Router(name="search")
    router.message.register(cmd_search, Command("search"))
    router.message.register(cmd_sources, Command("sources"))
    router.callback_query.register(on_mute_button, MuteCb.filter(), Subscribed())
    return router
