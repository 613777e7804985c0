"""Webhook mode for `run`: Telegram POSTs updates to an aiohttp server (aiogram's own handler).

The secret in `X-Telegram-Bot-Api-Secret-Token` is checked on every request by aiogram's
`SimpleRequestHandler` (wrong or missing: 401, the update is not processed). Telegram redelivers
an update it saw no 200 for (a crash, a slow answer), so the answer comes after the update is
handled and update ids already handled are skipped (`RecentUpdates`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.types import TelegramObject, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.settings import Settings, StartupError


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    path: str
    secret: str
    host: str
    port: int


def parse_listen(value: str, name: str) -> tuple[str, int]:
    """`host:port` → (host, port); anything else is one line naming the setting."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise StartupError(f"{name} must be host:port (like 127.0.0.1:8080), not {value!r}")
    return host.strip("[]"), int(port)


def telegram_mode(settings: Settings) -> str:
    mode = settings.telegram_mode.strip().lower()
    if mode not in ("polling", "webhook"):
        raise StartupError(
            f"TELEGRAM_MODE must be polling or webhook, not {settings.telegram_mode!r}"
        )
    return mode


def webhook_config(settings: Settings) -> WebhookConfig:
    url = (settings.webhook_url or "").strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise StartupError(
            "TELEGRAM_MODE=webhook needs WEBHOOK_URL, the public https:// URL Telegram posts "
            f"updates to (got {url or 'nothing'!r})"
        )
    if settings.webhook_secret is None:
        raise StartupError(
            "TELEGRAM_MODE=webhook needs WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -), "
            "checked on every update Telegram posts"
        )
    secret = settings.webhook_secret.get_secret_value()
    if not (0 < len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
        raise StartupError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
    host, port = parse_listen(settings.webhook_listen, "WEBHOOK_LISTEN")
    return WebhookConfig(url, parts.path or "/", secret, host, port)


class RecentUpdates:
    """An outer update middleware: an update id seen lately is handled once."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._size = size

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            if event.update_id in self._seen:
                return None
            self._seen[event.update_id] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return await handler(event, data)


async def serve_webhook(
    dp: Dispatcher, bot: Bot, config: WebhookConfig, stopped: asyncio.Event | None = None
) -> None:
    """setWebhook, serve until SIGTERM/SIGINT (or `stopped`), then stop taking updates."""
    stopped = stopped or asyncio.Event()
    dp.update.outer_middleware(RecentUpdates())
    app = web.Application()
    # handled before the answer: a 200 means done, and an update lost in a crash is redelivered
    SimpleRequestHandler(
        dispatcher=dp, bot=bot, secret_token=config.secret, handle_in_background=False
    ).register(app, path=config.path)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    loop = asyncio.get_running_loop()
    try:
        try:
            await web.TCPSite(runner, config.host, config.port).start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on WEBHOOK_LISTEN {config.host}:{config.port} ({exc.strerror}); "
                "is another process using the port?"
            ) from None
        await bot.set_webhook(
            config.url,
            secret_token=config.secret,
            allowed_updates=dp.resolve_used_update_types(),
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await runner.cleanup()  # waits for the requests in flight, then the dispatcher's shutdown
