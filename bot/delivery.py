"""The delivery engine: drains the persistent outbox into Telegram under rate limits.

Each chat has at most one message in flight, its parts go in order, and a message is marked
sent in its own small transaction right after Telegram accepted it — so a crash resends at most
the messages that were in flight (≤ `concurrency`, one per chat). Nothing is dropped for a
flood wait; transient errors get bounded exponential back-off; a chat that blocked the bot
is marked blocked with its settings kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import LinkPreviewOptions

from bot.ratelimit import RateLimiter
from storage.chats import ChatRepo
from storage.db import Database
from storage.outbox import OutboxMessage, OutboxRepo

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeliveryStats:
    sent: int = 0
    flood_waits: int = 0  # 429s (retried, never dropped)
    retries: int = 0  # transient errors retried
    failed: int = 0  # given up: bad request or too many transient errors
    blocked: int = 0  # chats that blocked/kicked the bot
    migrated: int = 0


class Sender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        *,
        rate: float = 25.0,
        concurrency: int = 4,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        batch: int = 200,
        idle_poll: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.bot = bot
        self.outbox = OutboxRepo(db)
        self.chats = ChatRepo(db)
        self.limiter = limiter or RateLimiter(rate)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.batch = batch
        self.idle_poll = idle_poll
        self.clock = clock
        self.stats = DeliveryStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._in_flight: set[int] = set()  # chat ids
        self._done_since_fetch: set[int] = set()  # outbox ids finished after the last fetch

    # -- lifecycle

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            # A fresh context: even if started while a handler runs, the loop and its sends are
            # never inside handlers.replies' reply scope — 429s here are this engine's to handle.
            self._task = asyncio.create_task(
                self._run(), name="outbox-sender", context=contextvars.Context()
            )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking new messages, let in-flight sends finish (up to `grace` s), then cancel."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._sends:
            _, pending = await asyncio.wait(set(self._sends), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    def wake(self) -> None:
        """New messages were queued (DigestService's `on_enqueued`)."""
        self._wakeup.set()

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Run until nothing is pending and due (tests, CLI); the loop must not be running."""
        async with asyncio.timeout(timeout):
            while True:
                launched, wait = await self._pass()
                if not launched and not self._sends:
                    next_at = await self.outbox.next_due_at()
                    if next_at is None:
                        return
                    wait = max(0.0, min(wait, (next_at - self.clock()).total_seconds()))
                await self._sleep(wait if not launched else 0)

    # -- the loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                launched, wait = await self._pass()
            except Exception:  # the database is busy or broken: log and keep trying
                log.exception("outbox pass failed")
                launched, wait = 0, self.idle_poll
            if not launched:
                await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=max(seconds, 0.0))
        self._wakeup.clear()

    async def _pass(self) -> tuple[int, float]:
        """Launch every due head message whose chat may send now; returns (launched, wait)."""
        self._done_since_fetch = set()
        rows = await self.outbox.due_heads(self.clock(), self.batch)
        wait = self.idle_poll
        if not rows:
            next_at = await self.outbox.next_due_at()
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - self.clock()).total_seconds()))
            return 0, wait
        launched = 0
        for row in rows:
            if self._stopping:
                break
            if self._busy(row):
                continue
            ready = self.limiter.chat_ready_at(row.chat_id) - self.limiter.clock()
            if ready > 0:
                wait = min(wait, ready)
                continue
            await self._slots.acquire()
            delay = self.limiter.reserve_global()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._busy(row) or self._stopping:
                self._slots.release()
                continue
            self.limiter.note_send(row.chat_id)
            self._in_flight.add(row.chat_id)
            self._spawn(self._deliver(row))
            launched += 1
        return launched, wait

    def _busy(self, row: OutboxMessage) -> bool:
        return row.chat_id in self._in_flight or row.id in self._done_since_fetch

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    # -- one message

    async def _deliver(self, row: OutboxMessage) -> None:
        try:
            await self._send(row)
        except Exception:
            log.exception("outbox %s to chat %s: bookkeeping failed", row.id, row.chat_id)
        finally:
            self._done_since_fetch.add(row.id)
            self._in_flight.discard(row.chat_id)
            self._slots.release()
            self._wakeup.set()

    async def _send(self, row: OutboxMessage) -> None:
        preview = (
            LinkPreviewOptions(url=row.preview_url, prefer_small_media=True)
            if row.preview_url
            else LinkPreviewOptions(is_disabled=True)
        )
        try:
            message = await self.bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                parse_mode="HTML",
                link_preview_options=preview,
                message_thread_id=row.thread_id,
            )
        except TelegramRetryAfter as exc:
            await self._flood_wait(row, exc.retry_after)
        except TelegramMigrateToChat as exc:
            self.stats.migrated += 1
            log.info("chat %s became %s; resending there", row.chat_id, exc.migrate_to_chat_id)
            await self.chats.migrate(row.chat_id, exc.migrate_to_chat_id)
        except TelegramForbiddenError as exc:
            await self._blocked(row, exc)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                await self._blocked(row, exc)
            else:
                await self._give_up(row, exc)
        except TelegramUnauthorizedError as exc:
            log.error("Telegram rejected the bot token: %s; pausing delivery for a minute", exc)
            self.limiter.pause_global(60)
            await self.outbox.defer(row.id, self.clock() + timedelta(seconds=60),
                                    error=str(exc), count_attempt=False)  # fmt: skip
        except TelegramEntityTooLarge as exc:
            await self._give_up(row, exc)
        except (TelegramServerError, TelegramNetworkError) as exc:
            await self._transient(row, exc)
        except TelegramAPIError as exc:
            await self._give_up(row, exc)
        except Exception as exc:  # e.g. a bug in a middleware: bounded retries, not a crash
            log.exception("unexpected error sending outbox %s", row.id)
            await self._transient(row, exc)
        else:
            await self.outbox.mark_sent(row.id, message.message_id, self.clock())
            self.stats.sent += 1

    async def _flood_wait(self, row: OutboxMessage, retry_after: int) -> None:
        """429: wait and retry, never drop. A private chat is never sent to faster than 1/s by
        us, so a 429 there is the bot-wide limit: pause everyone; for a group, only the group."""
        self.stats.flood_waits += 1
        log.warning("flood wait %ss for chat %s", retry_after, row.chat_id)
        self.limiter.defer_chat(row.chat_id, retry_after)
        if row.chat_id > 0:
            self.limiter.pause_global(retry_after)
        await self.outbox.defer(
            row.id, self.clock() + timedelta(seconds=retry_after),
            error=f"retry_after {retry_after}", count_attempt=False,
        )  # fmt: skip

    async def _blocked(self, row: OutboxMessage, exc: TelegramAPIError) -> None:
        self.stats.blocked += 1
        log.info(
            "chat %s is unreachable (%s): marked blocked, settings kept", row.chat_id, exc.message
        )
        with contextlib.suppress(LookupError):
            await self.chats.set_status(row.chat_id, "blocked", self.clock())
        await self.outbox.fail_chat(row.chat_id, f"blocked: {exc.message}")

    async def _give_up(self, row: OutboxMessage, exc: Exception) -> None:
        self.stats.failed += 1
        log.error("outbox %s to chat %s failed for good: %s", row.id, row.chat_id, exc)
        await self.outbox.fail(row.id, str(exc))

    async def _transient(self, row: OutboxMessage, exc: Exception) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            await self._give_up(row, exc)
            return
        self.stats.retries += 1
        delay = self.backoff_base * 2 ** (attempts - 1)
        log.warning("outbox %s to chat %s: %s; retry %d in %.1fs", row.id, row.chat_id, exc,
                    attempts, delay)  # fmt: skip
        await self.outbox.defer(
            row.id, self.clock() + timedelta(seconds=delay), error=str(exc), count_attempt=True
        )
