"""`run`: the bot itself — Telegram long polling, the minute ticks (feeds, digests), delivery."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import User
from aiogram.utils.token import TokenValidationError, validate_token

from bot.admin.alerts import Alerts, SendText, Undelivered
from bot.app.core import Core, build_add_feed, build_digest_service, open_core, utc_now
from bot.app.fsm import DatabaseStorage
from bot.app.jobs import build_scheduler
from bot.app.metrics import serve_metrics
from bot.app.session import JsonSession
from bot.app.webhook import WebhookConfig, serve_webhook, telegram_mode, webhook_config
from bot.delivery.broadcast import Broadcaster
from bot.delivery.sender import Sender
from bot.digests.preview import print_offline_preview
from bot.settings import Settings, StartupError
from bot.understand.searchterms import MorphSearch
from handlers import build_dispatcher
from handlers.common.menu import set_commands
from handlers.deps import AdminDeps
from storage import engines
from storage.instance import single_instance

log = logging.getLogger(__name__)

NO_TOKEN_HELP = """\
diplodigest needs a Telegram bot token to go online.

  1. Open https://t.me/BotFather in Telegram and send /newbot.
  2. Pick a name and a username ending in "bot"; BotFather answers with a token
     like 123456789:AAE...
  3. Put it in a file named .env next to the Makefile:   BOT_TOKEN=123456789:AAE...
     (and your own Telegram user id in ADMIN_IDS=... to manage the bot; @userinfobot tells it)
  4. Run `make run` again.

Until then, here is what a digest looks like, built offline from the bundled sample feeds:
"""


def build_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def run_bot(settings: Settings, *, receive_updates: bool = True) -> int:
    """`run` (everything in one process) or, without `receive_updates`, `worker`: the ticks
    and delivery only, for any number of extra processes on a shared PostgreSQL database."""
    if settings.bot_token is None:
        if not receive_updates:
            raise StartupError(
                "worker sends digests, so it needs BOT_TOKEN; set it in .env or the environment"
                " (the same token as the `run` process)"
            )
        print(NO_TOKEN_HELP)
        print_offline_preview(now=utc_now())
        return 0
    try:
        validate_token(settings.bot_token.get_secret_value())
    except TokenValidationError:
        raise StartupError(
            "BOT_TOKEN is not a Telegram bot token (expected digits:letters, like "
            "123456789:AAE...); check .env or the environment, copy it again from @BotFather"
        ) from None
    mode = telegram_mode(settings)
    webhook = webhook_config(settings) if mode == "webhook" and receive_updates else None
    # The lock comes before anything opens the database: a second `run` touches nothing.
    with run_lock(settings):
        bot = build_bot(settings)
        try:
            me = await _check_telegram(bot, settings)
            return await _run(settings, bot, me, webhook, receive_updates)
        finally:
            await bot.session.close()  # also on every early exit: no "Unclosed client session"


def run_lock(settings: Settings) -> AbstractContextManager[object]:
    """On SQLite one process per file (the file lock); PostgreSQL is shared by design: several
    processes coordinate through row locks and leases in the database itself."""
    target = engines.parse(settings.database)
    return single_instance(target.path) if target.path is not None else nullcontext()


async def _check_telegram(bot: Bot, settings: Settings) -> User:
    """getMe before anything else starts: a wrong token or URL is one clear line, not a retry log."""
    try:
        return await bot.get_me(request_timeout=30)
    except TelegramUnauthorizedError:
        raise StartupError(
            f"Telegram refused BOT_TOKEN (401 Unauthorized at {settings.telegram_api_url}); "
            "check the token with @BotFather (/mybots → API Token), it may have been revoked"
        ) from None
    except TelegramNetworkError as exc:
        raise StartupError(
            f"cannot reach the Telegram Bot API at {settings.telegram_api_url} ({exc.message}); "
            "check TELEGRAM_API_URL and the network (DNS, proxy, firewall)"
        ) from None


async def _run(
    settings: Settings, bot: Bot, me: User, webhook: WebhookConfig | None, receive: bool = True
) -> int:
    async with open_core(settings, monitored=True) as core:
        # On SQLite this is the database's only process (the run lock); on PostgreSQL others
        # may share it, so every message is claimed before it is sent.
        sender = Sender(
            bot,
            core.stores,
            rate=settings.delivery_rate,
            exclusive=core.db.dialect == "sqlite",
            lease=timedelta(seconds=settings.delivery_claim_seconds),
            events=core.events,
        )
        digests = build_digest_service(core, on_enqueued=sender.wake)
        admin = build_admin_services(core, bot, sender)
        sender.on_alert = admin.alerts.notify

        async def poll_feeds() -> None:
            outcomes = await core.ingestor.poll_due()
            for outcome in outcomes:
                if outcome.new or outcome.status == "error":
                    log.info("poll: %s", outcome.line())
            if any(o.new_ids and o.feed.initial_done for o in outcomes):
                queued = await digests.deliver_instant()
                log.info("instant delivery: %d chats queued", queued)

        async def purge_old_articles() -> None:
            cutoff = utc_now() - timedelta(days=settings.retention_days)
            purged = await core.articles.purge_older_than(cutoff)
            log.info("purged %d articles older than %d days", purged, settings.retention_days)
            messages, texts = await core.stores.outbox.purge_finished(cutoff)
            log.info("purged %d messages sent or given up over %d days ago (%d texts)",
                     messages, settings.retention_days, texts)  # fmt: skip

        async def purge_stale_dialogs() -> None:
            purged = await dialogs.purge(now=utc_now())
            log.info("purged %d typed-input dialogs left for over %s", purged, dialogs.ttl)

        dialogs = core.stores.dialogs
        dp = build_dispatcher(
            storage=DatabaseStorage(dialogs, clock=utc_now),
            chats=core.stores.chats,
            rules=core.stores.rules,
            digests=digests,
            classifier=core.classifier,
            feeds=core.feeds,
            search=MorphSearch(core.classifier.morph, core.articles),
            settings=settings,
            clock=utc_now,
            admin=admin.dependencies,
        )
        scheduler = build_scheduler(
            ticks={"poll_feeds": poll_feeds, "digests": digests.tick, "alerts": admin.alerts.check},
            daily={
                "purge_old_articles": purge_old_articles,
                "purge_stale_dialogs": purge_stale_dialogs,
            },
            now=utc_now(),
            tick_seconds=settings.scheduler_tick_seconds,
        )
        conflicts = PollingConflicts(stop=dp.stop_polling)
        bot.session.middleware(conflicts)
        async with serve_metrics(settings, core):  # before anything runs: a busy port stops here
            try:
                role = "" if receive else " as a worker (ticks and delivery, no updates)"
                log.info("starting @%s%s: %d feeds", me.username, role, await core.feeds.count())
                if receive:
                    await set_commands(bot)
                sender.start()
                scheduler.start()
                if not receive:
                    await until_signalled()
                elif webhook is not None:
                    await serve_webhook(dp, bot, webhook, core.stores.updates, clock=utc_now)
                else:
                    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())
            finally:
                if scheduler.running:  # not yet started: shutdown() would mask the real error
                    scheduler.shutdown(wait=False)
                await admin.broadcaster.aclose()
                await sender.stop()
    if conflicts.verdict is not None:
        raise StartupError(conflicts.verdict)
    return 0


async def until_signalled() -> None:
    """Wait for SIGTERM or SIGINT (a worker has no polling loop that would handle them)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopping: signal received")


class PollingConflicts(BaseRequestMiddleware):
    """A 409 Conflict from getUpdates, seen on the bot's session, ends `run` in one line.

    Telegram answers 409 when something else takes this token's updates: another process polling
    (each new getUpdates ends the other's pending one, so both keep getting 409s) or a webhook.
    aiogram's polling loop would log the error and retry forever while the two processes share the
    updates at random, so the conflict is handled here: a single 409 can be the echo of a
    restart (the previous process's long poll still open at Telegram) and is waited out;
    `LIMIT` of them within `WINDOW` seconds is another poller, and a webhook is final at once.
    Then polling stops — the sender finishes what is in flight, as on SIGTERM — and `verdict`
    says what to check.
    """

    LIMIT = 3
    WINDOW = 60.0  # seconds; two pollers collide every few seconds (aiogram backs off ≤ 5 s)
    PAUSES = (1.0, 2.0)  # seconds before polling again after the first and second 409

    def __init__(self, stop: Callable[[], Awaitable[None]]) -> None:
        self._stop = stop
        self._seen: deque[float] = deque()
        self._stopping: asyncio.Task[None] | None = None
        self.verdict: str | None = None

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        if self.verdict is not None:
            await asyncio.Event().wait()  # stopping: never poll again (cancelled by the stop)
        try:
            return await make_request(bot, method)
        except TelegramConflictError as exc:
            return await self._conflict(exc.message)

    async def _conflict(self, description: str) -> list[Any]:
        now = time.monotonic()
        self._seen.append(now)
        while self._seen and now - self._seen[0] > self.WINDOW:
            self._seen.popleft()
        if "webhook" in description.lower():
            self._give_up(
                "Telegram refuses getUpdates (409 Conflict) because a webhook is set for this "
                "BOT_TOKEN; if nothing else should receive this bot's updates, remove it "
                "(Bot API method deleteWebhook) and start again, or run with TELEGRAM_MODE=webhook"
            )
        elif len(self._seen) >= self.LIMIT:
            self._give_up(
                f"Telegram answered getUpdates with 409 Conflict {len(self._seen)} times within "
                f"{self.WINDOW:.0f} s: another process is polling with this BOT_TOKEN (a second "
                "`run`, maybe on another machine); stop it, or give this bot a token of its own"
            )
        else:
            pause = self.PAUSES[min(len(self._seen), len(self.PAUSES)) - 1]
            log.info("getUpdates: 409 Conflict (%s); polling again in %.0f s", description, pause)
            await asyncio.sleep(pause)
        return []  # no updates: aiogram's loop polls again (or is being stopped)

    def _give_up(self, verdict: str) -> None:
        self.verdict = verdict
        # stop_polling waits for the polling task, which is this very call: start it aside
        self._stopping = asyncio.get_running_loop().create_task(self._stop())


@dataclass(slots=True)
class AdminServices:
    """The admin area's services: handler dependencies plus the jobs that need them."""

    dependencies: AdminDeps
    alerts: Alerts
    broadcaster: Broadcaster


def alert_sender(bot: Bot) -> SendText:
    """Alerts' way to Telegram: a refused message is `Undelivered` (the others still go)."""

    async def send(chat_id: int, text: str) -> object:
        try:
            return await bot.send_message(chat_id, text)
        except TelegramAPIError as exc:
            raise Undelivered(str(exc)) from exc

    return send


def build_admin_services(core: Core, bot: Bot, sender: Sender) -> AdminServices:
    settings = core.settings
    stores = core.stores
    stats = stores.stats
    broadcaster = Broadcaster(stores.broadcasts, clock=utc_now, on_enqueued=sender.wake)
    alerts = Alerts(
        send_text=alert_sender(bot),
        feeds=core.feeds,
        stats=stats,
        log_repo=stores.alerts,
        admin_ids=settings.admin_ids,
        admin_chat_id=settings.admin_chat_id,
        clock=utc_now,
    )
    dependencies = AdminDeps(
        access=stores.access,
        audit=stores.audit,
        routing=stores.routing,
        stats=stats,
        drafts=stores.drafts,
        add_feed=build_add_feed(core),
        broadcaster=broadcaster,
        ingestor=core.ingestor,
    )
    return AdminServices(dependencies, alerts, broadcaster)
