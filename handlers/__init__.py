"""The conversation: routers in a fixed order and the Dispatcher factory the composition root calls.

`build_dispatcher(...)` takes every dependency by name (no globals, no service locator) and puts it into the
Dispatcher's workflow data, where handlers declare them as typed keyword arguments:

    chats: storage.port.ChatStore             digests: bot.digests.planner.DigestService
    rules: storage.port.RuleStore             feeds: storage.port.FeedStore
    classifier: bot.understand.classify.Classifier
    search: handlers.subscriber.search.ArticleSearch    settings: bot.settings.Settings
    clock: Callable[[], datetime]            (aware UTC "now")

aiogram's FSM `storage` (typed-input state) comes from the composition root: the database's, so a
restart or another process sharing the database answers the next message of a dialog.

Call `handlers.common.menu.set_commands(bot)` once at startup for the per-language command menu.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram import Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage

from handlers.admin.routers import get_admin_routers
from handlers.common import errors, fallback, membership, replies
from handlers.common import guard as access
from handlers.common.middlewares import ChatContextMiddleware
from handlers.deps import AdminDeps
from handlers.subscriber import (
    countries,
    digest,
    onboarding,
    quiet,
    rules,
    schedule,
    search,
    settings,
    timezone,
    topics,
)
from handlers.subscriber.search import ArticleSearch

if TYPE_CHECKING:
    from bot.digests.planner import DigestService
    from bot.settings import Settings
    from bot.understand.classify import Classifier
    from storage.port import ChatStore, FeedStore, RuleStore


def get_routers(admin_ids: frozenset[int]) -> list[Router]:
    """Fresh routers (a router joins one Dispatcher only) in the order updates try them.

    errors first; the admin area (handlers.admin.routers: ban gate, admin commands filtered on
    `admin_ids`, refusals); `access` (refuses non-admins of groups and channels before any area
    sees the update); the subscriber areas; `fallback` last (hints for anything unhandled).
    """
    areas = (
        membership,
        onboarding,
        topics,
        countries,
        schedule,
        timezone,
        settings,
        quiet,
        digest,
        search,
        rules,
    )
    return [
        errors.make_router(),
        *get_admin_routers(admin_ids),
        access.make_router(),
        *(area.make_router() for area in areas),
        fallback.make_router(),
    ]


def build_dispatcher(
    *,
    chats: ChatStore,
    rules: RuleStore,
    digests: DigestService,
    classifier: Classifier,
    feeds: FeedStore,
    search: ArticleSearch,
    settings: Settings,
    clock: Callable[[], datetime],
    storage: BaseStorage,
    admin: AdminDeps | None = None,
) -> Dispatcher:
    """A Dispatcher with every router and dependency; FSM state (typed input) in `storage`.

    `admin` (handlers.deps.AdminDeps: `access`, `audit`, `stats`, `add_feed`, …) joins the
    workflow data field by field; without it the admin commands have nothing to work with.

    Only typed free text (a time, a zone, a feed's new name) lives in FSM state; buttons carry
    everything they need in their callback data.
    """
    dp = Dispatcher(
        storage=storage,
        chats=chats,
        rules=rules,
        digests=digests,
        classifier=classifier,
        feeds=feeds,
        search=search,
        settings=settings,
        clock=clock,
        **(admin.workflow_data() if admin is not None else {}),
    )
    replies.install(dp)
    dp.update.outer_middleware(ChatContextMiddleware())
    dp.include_routers(*get_routers(settings.admin_ids))
    return dp
