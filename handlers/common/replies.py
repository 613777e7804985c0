"""Answers to users survive Telegram's flood control, one transient failure and no-op edits.

While an update is being answered (`ReplyScope`, an outer update middleware), every Bot API call
the handlers make goes through `RetryReplies`, a client-session middleware on the bot: a 429
waits `retry_after` and tries again while the update's waiting budget (`REPLY_WAIT_BUDGET` seconds
in all) lasts; a 5xx or network error is retried once. Calls made outside an update — the digest
sender, broadcasts' deliveries, alerts — pass through untouched: the sender has its own flood
logic (per-chat defer, global pause) that must see each 429 itself.

Everywhere, an edit Telegram refuses as "message is not modified" counts as done: the message
already shows what we wanted (a double tap, "poll now" re-rendering the same screen).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

# Seconds of 429 waiting one update may spend in all: enough for the usual short flood waits
# of an interactive chat, short enough that the user is still looking when the answer comes.
REPLY_WAIT_BUDGET = 30.0
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageReplyMarkup", "editMessageCaption", "editMessageMedia"}
)
NOT_MODIFIED = "message is not modified"


@dataclass(slots=True)
class _Budget:
    wait_left: float


_scope: ContextVar[_Budget | None] = ContextVar("reply_scope", default=None)


class ReplyScope(BaseMiddleware):
    """Marks the handling of one update, with its own waiting budget, for `RetryReplies`."""

    def __init__(self, budget: float = REPLY_WAIT_BUDGET) -> None:
        self.budget = budget

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = _scope.set(_Budget(self.budget))
        try:
            return await handler(event, data)
        finally:
            _scope.reset(token)


class RetryReplies(BaseRequestMiddleware):
    """The session side: retries inside a `ReplyScope`, no-op edits succeed everywhere."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        budget = _scope.get()
        transient_left = 1 if budget is not None else 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramBadRequest as exc:
                if method.__api_method__ in EDIT_METHODS and NOT_MODIFIED in exc.message:
                    return True  # edits answer Message | True; nothing reads an edit's result
                raise
            except TelegramRetryAfter as exc:
                if budget is None or exc.retry_after > budget.wait_left:
                    raise
                budget.wait_left -= exc.retry_after
                log.warning("%s: flood wait %d s, then again", method.__api_method__,
                            exc.retry_after)  # fmt: skip
                await asyncio.sleep(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                # Once: a lost answer is worse than the rare duplicate of a request that reached
                # Telegram but whose response did not come back.
                if transient_left <= 0:
                    raise
                transient_left -= 1
                log.warning("%s: %s, trying once more", method.__api_method__, exc.message)


def install(dp: Dispatcher, budget: float = REPLY_WAIT_BUDGET) -> None:
    """Scope every update; put `RetryReplies` on the polling bot's session when polling starts."""
    dp.update.outer_middleware(ReplyScope(budget))

    async def on_startup(bot: Bot) -> None:
        if not any(isinstance(m, RetryReplies) for m in bot.session.middleware):
            bot.session.middleware(RetryReplies())

    dp.startup.register(on_startup)
