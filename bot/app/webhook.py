"""Webhook mode for `run`: Telegram POSTs updates to an aiohttp server (aiogram's own handler).

The secret in `X-Telegram-Bot-Api-Secret-Token` is checked on every request by aiogram's
`SimpleRequestHandler` (wrong or missing: 401, the update is not processed). Telegram redelivers
an update it saw no 200 for (a crash, a slow answer), so the answer comes after the update is
handled, and an update id already taken is not handled again — by this process or any other
sharing the database (`OnceRequestHandler`, storage.webhook_updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.domain import Claim
from bot.settings import Settings, StartupError
from storage.port import UpdateStore


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


class OnceRequestHandler(SimpleRequestHandler):
    """aiogram's request handler, with each update id handled once across every process that
    shares the database (storage.webhook_updates): the first to claim an update handles it; a
    delivery of an update already handled gets 200 and nothing else; one that another process
    is still handling gets 503, so Telegram delivers it again later (and if that process died,
    the claim lapses and the next delivery is handled).

    The secret is checked before the claim: a request without it never touches the ledger.
    """

    def __init__(
        self, *, updates: UpdateStore, clock: Callable[[], datetime], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.updates = updates
        self.clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.verify_secret(secret, bot):
            return await super().handle(request)  # aiogram's own refusal (401)
        update_id = _update_id(await request.read())
        if update_id is None:
            return web.Response(status=400, text="not a Telegram update")
        claim = await self.updates.claim(bot.id, update_id, now=self.clock())
        if claim is Claim.DONE:
            return web.json_response({})
        if claim is Claim.BUSY:
            return web.Response(status=503, text="being handled; deliver it again later")
        try:
            response = await super().handle(request)
        except BaseException:
            await self.updates.release(bot.id, update_id)
            raise
        await self.updates.done(bot.id, update_id, now=self.clock())
        return response


def _update_id(body: bytes) -> int | None:
    try:
        value = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def build_webhook_app(
    dp: Dispatcher,
    bot: Bot,
    config: WebhookConfig,
    updates: UpdateStore,
    clock: Callable[[], datetime],
) -> web.Application:
    """The aiohttp application serving `config.path`; updates are handled before the answer,
    so a 200 means done and an update lost in a crash is redelivered."""
    app = web.Application()
    OnceRequestHandler(
        updates=updates,
        clock=clock,
        dispatcher=dp,
        bot=bot,
        secret_token=config.secret,
        handle_in_background=False,
    ).register(app, path=config.path)
    setup_application(app, dp, bot=bot)
    return app


async def serve_webhook(
    dp: Dispatcher,
    bot: Bot,
    config: WebhookConfig,
    updates: UpdateStore,
    clock: Callable[[], datetime],
    stopped: asyncio.Event | None = None,
) -> None:
    """setWebhook, serve until SIGTERM/SIGINT (or `stopped`), then stop taking updates."""
    stopped = stopped or asyncio.Event()
    app = build_webhook_app(dp, bot, config, updates, clock)
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
