"""Admin: sources — /addfeed (checked at once), /feeds with health and buttons, /delfeed, rename."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.admin.feeds import Added, AddFeed, AlreadyThere
from bot.admin.health import BASELINE_DAYS, assess, health_block
from bot.i18n.catalog import t
from bot.ingest.poller import Ingestor, PollOutcome
from handlers.admin.callbacks import FeedAct, FeedCb, OfferCb
from handlers.admin.views import (
    PAGE_SIZE,
    failure_reason,
    feed_buttons,
    feeds_keyboard,
    offers_keyboard,
    pages,
)
from storage.port import AuditStore, DraftStore, FeedStore, StatsStore

log = logging.getLogger(__name__)


class RenameFeed(StatesGroup):
    title = State()


def _summary(lang: str, added: Added) -> str:
    check = added.check
    newest = t(lang, "admin.addfeed_newest_none")
    if check is not None and check.newest_title:
        when = f" ({check.newest_at:%Y-%m-%d %H:%M} UTC)" if check.newest_at else ""
        newest = f"{html.escape(check.newest_title[:200])}{when}"
    return t(lang, "admin.addfeed_ok", title=html.escape(added.title), id=added.feed.id,
             entries=added.entries or 0, newest=newest)  # fmt: skip


async def add_and_answer(
    url: str, title: str | None, *, lang: str, user_id: int, add_feed: AddFeed, drafts: DraftStore,
    now: datetime,
) -> tuple[str, object]:  # fmt: skip
    """Add a feed through the shared use case; (answer text, reply markup or None)."""
    result = await add_feed(url, title=title, actor=user_id)
    if isinstance(result, Added):
        return _summary(lang, result), None
    if isinstance(result, AlreadyThere):
        feed = result.feed
        return t(lang, "admin.addfeed_exists", title=html.escape(feed.display_name),
                 id=feed.id), None  # fmt: skip
    if result.kind != "html":
        reason = failure_reason(lang, result.kind, result.reason)
        return t(lang, "admin.addfeed_failed", reason=html.escape(reason)), None
    shown = html.escape(url)
    if not result.offers:
        return t(lang, "admin.addfeed_html_none", url=shown), None
    ids = [await drafts.put("feed", o.url, by=user_id, now=now) for o in result.offers]
    return t(lang, "admin.addfeed_html_offer", url=shown), offers_keyboard(result.offers, ids)


async def cmd_addfeed(
    message: Message, command: CommandObject, lang: str, add_feed: AddFeed, drafts: DraftStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    parts = (command.args or "").split(maxsplit=1)
    if not parts:
        await message.answer(t(lang, "admin.addfeed_usage"))
        return
    title = parts[1].strip()[:200] if len(parts) > 1 else None
    text, markup = await add_and_answer(
        parts[0], title, lang=lang, user_id=message.chat.id, add_feed=add_feed, drafts=drafts,
        now=clock(),
    )  # fmt: skip
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def on_offer(
    query: CallbackQuery, callback_data: OfferCb, lang: str, add_feed: AddFeed, drafts: DraftStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    url = await drafts.take(callback_data.draft, "feed")
    if url is None:
        await query.answer(t(lang, "admin.offer_gone"), show_alert=True)
        return
    await query.answer()
    text, markup = await add_and_answer(
        url, None, lang=lang, user_id=query.from_user.id, add_feed=add_feed, drafts=drafts,
        now=clock(),
    )  # fmt: skip
    await query.message.answer(text, reply_markup=markup, disable_web_page_preview=True)  # type: ignore[union-attr]


async def feeds_page(lang: str, page: int, feeds: FeedStore, stats: StatsStore, now: datetime):  # type: ignore[no-untyped-def]
    listed = await feeds.list()
    if not listed:
        return t(lang, "admin.feeds_empty"), None
    count = pages(len(listed))
    page = min(max(page, 0), count - 1)
    shown = listed[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    activity = await stats.feed_activity(now - timedelta(days=BASELINE_DAYS + 1))
    blocks = []
    for feed in shown:
        a = activity.get(feed.id)
        blocks.append(
            health_block(
                assess(feed, a.per_day if a else {}, a.newest_at if a else None, now), lang, now
            )
        )
    header = t(lang, "admin.feeds_header", total=len(listed), page=page + 1, pages=count)
    return "\n\n".join([header, *blocks]), feeds_keyboard(lang, shown, page, count)


async def cmd_feeds(
    message: Message, lang: str, feeds: FeedStore, stats: StatsStore, clock: Callable[[], datetime]
) -> None:
    text, markup = await feeds_page(lang, 0, feeds, stats, clock())
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def cmd_delfeed(message: Message, command: CommandObject, lang: str, feeds: FeedStore) -> None:
    arg = (command.args or "").strip()
    feed = None
    if arg.lstrip("#").isdigit():
        feed = await feeds.get(int(arg.lstrip("#")))
    elif arg:
        feed = await feeds.get_by_url(arg)
    if not arg:
        await message.answer(t(lang, "admin.delfeed_usage"))
    elif feed is None:
        await message.answer(t(lang, "admin.feed_missing"))
    else:
        text = t(lang, "admin.feed_remove_confirm", title=html.escape(feed.display_name))
        await message.answer(text, reply_markup=feed_buttons(lang, feed.id, 0, confirm=True))


async def on_feed_button(
    query: CallbackQuery, callback_data: FeedCb, lang: str, state: FSMContext, feeds: FeedStore,
    stats: StatsStore, audit: AuditStore, clock: Callable[[], datetime], ingestor: Ingestor | None = None,
) -> None:  # fmt: skip
    act, now, page = callback_data.act, clock(), callback_data.page
    message = query.message
    if act in (FeedAct.PAGE, FeedAct.CANCEL):
        await query.answer()
        text, markup = await feeds_page(lang, page, feeds, stats, now)
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)  # type: ignore[union-attr]
        return
    feed = await feeds.get(callback_data.feed)
    if feed is None:
        await query.answer(t(lang, "admin.feed_missing"), show_alert=True)
        return
    title = html.escape(feed.display_name)
    if act is FeedAct.REMOVE:
        await query.answer()
        await message.edit_text(  # type: ignore[union-attr]
            t(lang, "admin.feed_remove_confirm", title=title),
            reply_markup=feed_buttons(lang, feed.id, page, confirm=True),
        )
        return
    if act is FeedAct.RENAME:
        await query.answer()
        await state.set_state(RenameFeed.title)
        await state.update_data(feed_id=feed.id)
        await message.answer(t(lang, "admin.feed_rename_ask", title=title))  # type: ignore[union-attr]
        return
    user_id = query.from_user.id
    if act is FeedAct.CONFIRM:
        await feeds.remove(feed.id)
        await audit.record(user_id, "feed.remove", now=now, target=feed.url)
        await query.answer(t(lang, "admin.feed_removed", title=feed.display_name))
    elif act in (FeedAct.PAUSE, FeedAct.RESUME):
        await feeds.set_paused(feed.id, act is FeedAct.PAUSE, now)
        await audit.record(user_id, f"feed.{act.name.lower()}", now=now, target=feed.url)
        key = "admin.feed_paused" if act is FeedAct.PAUSE else "admin.feed_resumed"
        await query.answer(t(lang, key, title=feed.display_name))
    elif act is FeedAct.POLL:
        await audit.record(user_id, "feed.poll", now=now, target=feed.url)
        if ingestor is not None:
            outcome = await ingestor.poll_feed(feed)
            result = poll_result(lang, outcome)
            await query.answer(t(lang, "admin.feed_polled", title=feed.display_name, result=result)[:190])
        else:
            await feeds.schedule_now(feed.id, now)
            await query.answer(t(lang, "admin.feed_polled", title=feed.display_name, result="…"))
    text, markup = await feeds_page(lang, page, feeds, stats, clock())
    await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)  # type: ignore[union-attr]


def poll_result(lang: str, outcome: PollOutcome) -> str:
    """A poll's outcome in the admin's language (a callback answer: plain text, no HTML)."""
    if outcome.status == "error":
        key = "admin.poll_error_deactivated" if outcome.deactivated else "admin.poll_error"
        return t(lang, key, error=failure_reason(lang, outcome.error_kind, outcome.error))
    if outcome.status in ("not_modified", "unchanged"):  # a 304, or the very same body
        return t(lang, "admin.poll_not_modified")
    if outcome.new:
        return t(lang, "admin.poll_new", count=outcome.new, known=outcome.known)
    return t(lang, "admin.poll_known", count=outcome.known)


async def on_rename_text(
    message: Message, lang: str, state: FSMContext, feeds: FeedStore, audit: AuditStore,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    data = await state.get_data()
    await state.clear()
    feed = await feeds.get(int(data.get("feed_id", 0)))
    if feed is None:
        await message.answer(t(lang, "admin.feed_missing"))
        return
    text = (message.text or "").strip()[:200]
    title = None if text in ("", "-") else text
    await feeds.rename(feed.id, title)
    await audit.record(message.chat.id, "feed.rename", now=clock(), target=feed.url, details=title)
    shown = title or feed.title or feed.url
    await message.answer(t(lang, "admin.feed_renamed", title=html.escape(shown)))


def make_router() -> Router:
    router = Router(name="admin-sources")
    router.message.register(cmd_addfeed, Command("addfeed"))
    router.message.register(cmd_feeds, Command("feeds"))
    router.message.register(cmd_delfeed, Command("delfeed"))
    router.message.register(
        on_rename_text, StateFilter(RenameFeed.title), F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(on_feed_button, FeedCb.filter())
    router.callback_query.register(on_offer, OfferCb.filter())
    return router
