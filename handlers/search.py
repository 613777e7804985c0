"""/search words (stored articles, Russian word forms matched) and /sources (the feeds we read)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Protocol

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import LinkPreviewOptions, Message

from bot.classify import Classifier
from bot.digest import DigestItem
from bot.render import Labels, pack, render_item
from bot.schedule import zone_for
from bot.texts import t
from handlers.views import topic_choices
from storage.chats import Chat
from storage.feeds import FeedRepo
from storage.models import Article

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
    labels = Labels(lang, dict(topic_choices(classifier, lang)))
    now = clock()
    blocks = [render_item(DigestItem(article), labels, zone, now) for article in found]
    for part in pack(blocks, t(lang, "reading.search_header", query=escape(query))):
        await message.answer(part, link_preview_options=NO_PREVIEW)


async def cmd_sources(message: Message, feeds: FeedRepo, lang: str) -> None:
    active = await feeds.list_active()
    if not active:
        await message.answer(t(lang, "reading.no_sources"))
        return
    lines = [f"• {escape(feed.display_name)}" for feed in active]
    for part in pack(lines, t(lang, "reading.sources_header", count=len(active)), sep="\n"):
        await message.answer(part, link_preview_options=NO_PREVIEW)


def make_router() -> Router:
    router = Router(name="search")
    router.message.register(cmd_search, Command("search"))
    router.message.register(cmd_sources, Command("sources"))
    return router
