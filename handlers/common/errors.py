"""The last resort for exceptions in handlers: log with the update, apologise to the user."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.i18n.catalog import pick_language, t

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> None:
    update = event.update
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    query, message = update.callback_query, update.message
    user = (query or message).from_user if (query or message) else None
    lang = pick_language(user.language_code if user else None)
    try:
        if query is not None:
            await query.answer(t(lang, "errors.internal"), show_alert=True)
        elif message is not None:
            await message.answer(t(lang, "errors.internal"))
    except TelegramAPIError as exc:  # the apology itself may fail (blocked, flood): only log it
        log.warning("could not report the error to the user: %s", exc)


def make_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
