"""The delivery engine: drains the persistent outbox into Telegram under rate limits.

Each chat has at most one message in flight, its parts go in order, and a message is marked
sent in its own small transaction right after Telegram accepted it (sends that finish together
share one database round trip), and its send slot is free only then — so a crash resends at
most the messages that were in flight (≤ `concurrency`, one per chat). Nothing is dropped for a
flood wait; transient errors (5xx, network, timeouts) are retried with capped exponential
back-off for at least `retry_for` (24 h); when several fail in a row Telegram is down, and a
circuit breaker pauses the whole sender and probes with getMe until Telegram answers again. A
chat that blocked the bot is marked blocked with its settings kept. If the database cannot
record a send, the accepted message's id is kept in memory (so it is never sent again), no new
send starts, admins are alerted, and the record is written as soon as the database works.
All waiting goes through the injected `sleep` and `clock`, so tests drive hours in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
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
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendRichMessage
from aiogram.types import InputRichMessage, LinkPreviewOptions

from bot.delivery.breaker import CircuitBreaker
from bot.delivery.coalesce import Coalescer
from bot.delivery.ratelimit import RateLimiter
from bot.domain import OutboxMessage
from bot.observe import NO_EVENTS, PipelineEvents
from storage.port import OutboxStore, Storage

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# A recording (mark_sent) still running after this many seconds pauses new sends: the
# database is locked or failing, and every send started meanwhile could go unrecorded.
RECORD_STALL = 1.0


@dataclass
class DeliveryStats:
    sent: int = 0
    flood_waits: int = 0  # 429s (retried, never dropped)
    retries: int = 0  # transient errors retried
    failed: int = 0  # given up: bad request, or transient errors for longer than retry_for
    blocked: int = 0  # chats that blocked/kicked the bot
    migrated: int = 0
    cancelled: int = 0  # fetched, then not sent: banned, blocked or unsubscribed meanwhile
    outages: int = 0  # times the circuit breaker opened
    probes: int = 0  # getMe calls while it was open
    unrecorded: int = 0  # accepted sends the database could not record at once
    taken: int = 0  # due here, but another process on the database claimed it first


# A shared send slot further away than this is not waited for with the message in hand: the
# message goes back to the outbox until then (its claim is released meanwhile).
PACE_WAIT_MAX = 5.0
# Several processes: each claims this many rounds of its concurrent sends at a time.
CLAIM_ROUNDS = 8
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # one for all (never changed by a send)


def attempts_for(window: timedelta, base: float, cap: float) -> int:
    """The number of attempts whose back-off delays (base, 2×base, … capped) add up to `window`."""
    total, attempts = 0.0, 1
    while total < window.total_seconds():
        total += min(cap, base * 2 ** min(attempts - 1, 30))
        attempts += 1
    return attempts


AlertHook = Callable[..., Awaitable[None]]  # (locale key, **values): tells the admins


class Sender:
    def __init__(
        self,
        bot: Bot,
        stores: Storage,
        *,
        rate: float = 25.0,
        concurrency: int = 4,
        max_attempts: int | None = None,
        retry_for: timedelta = timedelta(hours=24),
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        breaker: CircuitBreaker | None = None,
        request_timeout: float = 30.0,
        record_retry: float = 5.0,
        batch: int = 200,
        idle_poll: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        limiter: RateLimiter | None = None,
        outbox: OutboxStore | None = None,
        on_alert: AlertHook | None = None,
        exclusive: bool = True,
        owner: str | None = None,
        lease: timedelta | None = None,
        events: PipelineEvents = NO_EVENTS,
    ) -> None:
        self.bot = bot
        self.outbox = outbox or stores.outbox
        self.chats = stores.chats
        self.limiter = limiter or RateLimiter(rate)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # Give up on transient errors only after their back-off delays add up to `retry_for`.
        self.max_attempts = max_attempts or attempts_for(retry_for, backoff_base, backoff_cap)
        self.breaker = breaker or CircuitBreaker()
        self.request_timeout = request_timeout
        self.record_retry = record_retry
        self.batch = batch
        self.idle_poll = idle_poll
        self.clock = clock
        self.sleep = sleep
        self.on_alert = on_alert
        self.events = events
        self.stats = DeliveryStats()
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._in_flight: set[int] = set()  # chat ids
        self._done_since_fetch: set[int] = set()  # outbox ids finished after the last fetch
        # Accepted by Telegram, not yet recorded: outbox id -> (Telegram message id, sent at).
        self._unrecorded: dict[int, tuple[int, datetime]] = {}
        # Recordings under way: outbox id -> when they started (event-loop clock). One that
        # hangs (a database locked for long) pauses new sends before it even fails.
        self._recording: dict[int, float] = {}
        self._opened_at: datetime | None = None
        self._background: set[asyncio.Task[None]] = set()
        # Claims, unless this is the database's only process (`exclusive`: SQLite under its
        # run lock): each message is leased to this process right before it is sent, so
        # several processes on one database never send it twice; a killed one's lease runs out
        # and another takes the message over (only the message in flight at the kill repeats).
        self.exclusive = exclusive
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease = lease or timedelta(seconds=2 * request_timeout + 60)
        # …and the send limits hold for all of them together (the database keeps the pace).
        self.pacing = None if exclusive else stores.pacing
        # The two questions each send asks the database (may it still go? it went), asked
        # together by the sends in flight at the same moment: one hop for several sends.
        self._checks = Coalescer(self.outbox.undeliverable_among)
        self._marks = Coalescer(self.outbox.mark_all_sent)

    # -- lifecycle

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            # A fresh context: even if started while a handler runs, the loop and its sends are
            # never inside handlers.common.replies' reply scope — 429s here are this engine's to handle.
            self._task = asyncio.create_task(
                self._run(), name="outbox-sender", context=contextvars.Context()
            )

    async def stop(self, grace: float = 8.0) -> None:
        """Stop taking new messages, let in-flight sends finish, try once more to record what
        Telegram accepted — all within `grace` seconds — then cancel what is left."""
        self._stopping = True
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self._task is not None:
            await _finish({self._task}, deadline - loop.time())
            self._task = None
        if self._sends:
            await _finish(set(self._sends), deadline - loop.time())
        if self._unrecorded:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self._flush()
        if self._unrecorded:
            log.error(
                "stopping with %d sends Telegram accepted but the database did not record"
                " (outbox ids %s): they will be sent again after a restart",
                len(self._unrecorded), sorted(self._unrecorded),
            )  # fmt: skip
        if self._background:
            await _finish(set(self._background), max(0.0, deadline - loop.time()))

    def wake(self) -> None:
        """New messages were queued (DigestService's `on_enqueued`)."""
        self._wakeup.set()

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Run until nothing is pending and due (tests, CLI); the loop must not be running."""
        async with asyncio.timeout(timeout):
            while True:
                if await self._hold():
                    continue
                launched, wait = await self._pass()
                if not launched and not self._sends:
                    if self._hold_reason():
                        continue
                    next_at = await self.outbox.next_due_at(owner=self.owner)
                    if next_at is None:
                        return
                    until_due = (next_at - self.clock()).total_seconds()
                    # Nothing due yet: sleep until the first one is (a wake() still cuts it short).
                    wait = until_due if until_due > 0 else wait
                await self._sleep(wait if not launched else 0)

    @property
    def paused(self) -> bool:
        """No new sends start: Telegram is down, or the database cannot record sends — or is
        so slow to (a lock held for long) that more accepted-but-unrecorded sends could pile up."""
        return self.breaker.is_open or bool(self._unrecorded) or self._recording_stalled()

    def _recording_stalled(self) -> bool:
        if not self._recording:
            return False
        oldest = min(self._recording.values())
        return asyncio.get_running_loop().time() - oldest > RECORD_STALL

    # -- the loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if await self._hold():
                    continue
                launched, wait = await self._pass()
            except Exception:  # the database is busy or broken: log and keep trying
                log.exception("outbox pass failed")
                launched, wait = 0, self.idle_poll
            if not launched:
                await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Wait `seconds` or until woken. While sends are in flight one of them finishing wakes
        us, so that wait is on the real clock: injected (test) time must not run ahead of them."""
        seconds = max(seconds, 0.0)
        if self._sends or seconds == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        else:
            waker = asyncio.ensure_future(self._wakeup.wait())
            sleeper = asyncio.ensure_future(self.sleep(seconds))
            try:
                await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (waker, sleeper):
                    task.cancel()
                await asyncio.gather(waker, sleeper, return_exceptions=True)
        self._wakeup.clear()

    def _hold_reason(self) -> str | None:
        if self._unrecorded:
            return "unrecorded"
        if self.breaker.is_open:
            return "outage"
        return None

    async def _hold(self) -> bool:
        """While paused, do what ends the pause (record, probe); True if the pass must wait."""
        reason = self._hold_reason()
        if reason is None or self._stopping:
            return reason is not None
        if self._sends:  # let the in-flight sends finish first; each one wakes us
            await self._sleep(self.idle_poll)
            return True
        if reason == "unrecorded":
            if not await self._flush():
                await self._sleep(self.record_retry)
            return True
        await self._sleep(self.breaker.next_probe_delay())
        if not self._stopping:
            await self._probe()
        return True

    async def _probe(self) -> None:
        self.stats.probes += 1
        try:
            await self.bot.get_me(request_timeout=self.request_timeout)  # type: ignore[arg-type]
        except (TelegramServerError, TelegramNetworkError) as exc:
            log.info("Telegram still unreachable: %s", exc)
            return
        except TelegramAPIError as exc:  # any real answer means Telegram is back
            log.info("Telegram answers again (%s)", exc)
        down = (self.clock() - self._opened_at).total_seconds() if self._opened_at else 0.0
        log.warning("Telegram answers again after %.0f s; delivery resumes", down)
        self.breaker.success()
        self._opened_at = None

    async def _flush(self) -> bool:
        """Record the sends Telegram accepted while the database could not; True when all are."""
        marks = [(outbox_id, *sent) for outbox_id, sent in sorted(self._unrecorded.items())]
        try:
            await self.outbox.mark_all_sent(marks)
        except Exception as exc:
            log.warning("the database still cannot record sends: %s", exc)
            return False
        self._unrecorded.clear()
        log.warning("the database records sends again; delivery resumes")
        self._alert("admin.alert_db_write_ok")
        return True

    def _alert(self, key: str, **values: object) -> None:
        """Tell the admins without waiting (and without the database: it may be what is broken)."""
        if self.on_alert is None:
            return
        task = asyncio.create_task(self._send_alert(key, values))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_alert(self, key: str, values: dict[str, object]) -> None:
        try:
            assert self.on_alert is not None
            await self.on_alert(key, **values)
        except Exception:
            log.exception("alert %s failed", key)

    async def _pass(self) -> tuple[int, float]:
        """Launch every due head message whose chat may send now; returns (launched, wait)."""
        self._done_since_fetch = set()
        now = self.clock()
        if self.exclusive:
            rows = await self.outbox.due_heads(now, self.batch)
        else:  # take only what this process can send well within the lease
            rows = await self.outbox.claim_heads(
                now, self._claim_batch(), owner=self.owner, until=now + self.lease
            )
        wait = self.idle_poll
        if not rows:
            next_at = await self.outbox.next_due_at(owner=self.owner)
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - self.clock()).total_seconds()))
            return 0, wait
        launched = 0
        for row in rows:
            if self._stopping or self.paused:
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
                await self.sleep(delay)
            if self._busy(row) or self._stopping or self.paused:
                self._slots.release()
                continue
            self.limiter.note_send(row.chat_id)
            self._in_flight.add(row.chat_id)
            self._spawn(self._deliver(row))
            launched += 1
        return launched, wait

    def _claim_batch(self) -> int:
        """How many heads to claim at once: a few rounds of this process's concurrent sends
        (CLAIM_ROUNDS), and no more than the rate lets it send within a quarter of the lease.
        The rest stays free for the others: claiming a big batch each left one process
        sending the last of it alone while the others had nothing (1,000 chats in batches
        of 200 on two workers: 3 batches against 2, 1.6× one worker at best)."""
        batch = min(self.batch, max(1, self.concurrency * CLAIM_ROUNDS))
        if not self.limiter.interval:
            return batch
        per_lease = self.lease.total_seconds() / 4 / self.limiter.interval
        return max(1, min(batch, int(per_lease)))

    def _busy(self, row: OutboxMessage) -> bool:
        return (
            row.chat_id in self._in_flight
            or row.id in self._done_since_fetch
            or row.id in self._unrecorded
        )

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
        # A ban, /stop or block may have come since the row was fetched: it holds for this too.
        if self.exclusive:
            if (reason := await self._checks(row.id)) is not None:
                await self._cancelled(row, reason)
                return
        elif not await self._claim(row) or not await self._pace(row):
            return
        preview = (
            LinkPreviewOptions(url=row.preview_url, prefer_small_media=True)
            if row.preview_url
            else NO_PREVIEW
        )
        started = time.perf_counter()  # the request's own duration, whatever the injected clock
        try:
            if row.rich:
                message = await self.bot(
                    SendRichMessage(
                        chat_id=row.chat_id,
                        rich_message=InputRichMessage(html=row.text),
                        message_thread_id=row.thread_id,
                    ),
                    request_timeout=self.request_timeout,  # type: ignore[arg-type]
                )
            else:
                message = await self.bot.send_message(
                    chat_id=row.chat_id,
                    text=row.text,
                    parse_mode="HTML",
                    link_preview_options=preview,
                    message_thread_id=row.thread_id,
                    request_timeout=self.request_timeout,  # type: ignore[arg-type]  # aiohttp takes float
                )
        except TelegramRetryAfter as exc:
            self.breaker.success()
            await self._flood_wait(row, exc.retry_after)
        except TelegramMigrateToChat as exc:
            self.breaker.success()
            self.stats.migrated += 1
            self.events.message_retried("migrated")
            log.info("chat %s became %s; resending there", row.chat_id, exc.migrate_to_chat_id)
            await self.chats.migrate(row.chat_id, exc.migrate_to_chat_id)
        except TelegramForbiddenError as exc:
            self.breaker.success()
            await self._blocked(row, exc)
        except TelegramBadRequest as exc:
            self.breaker.success()
            if "chat not found" in exc.message.lower():
                await self._blocked(row, exc)
            elif row.rich:
                await self._rich_refused(row, exc)
            else:
                await self._give_up(row, exc, "bad_request")
        except TelegramNotFound as exc:  # a Bot API server without sendRichMessage (< 10.1)
            self.breaker.success()
            if row.rich:
                await self._rich_refused(row, exc)
            else:
                await self._give_up(row, exc, "not_found")
        except TelegramUnauthorizedError as exc:
            log.error("Telegram rejected the bot token: %s; pausing delivery for a minute", exc)
            self.limiter.pause_global(60)
            self.events.message_retried("401")
            await self._share_hold("pause", 60)
            await self.outbox.defer(row.id, self.clock() + timedelta(seconds=60),
                                    error=str(exc), count_attempt=False)  # fmt: skip
        except TelegramEntityTooLarge as exc:
            await self._give_up(row, exc, "too_large")
        except TelegramServerError as exc:
            self._outage_failure(exc)
            await self._transient(row, exc, "5xx")
        except TelegramNetworkError as exc:  # dropped connections and timeouts alike
            self._outage_failure(exc)
            await self._transient(row, exc, "network")
        except TelegramAPIError as exc:
            await self._give_up(row, exc, "api_error")
        except Exception as exc:  # e.g. a bug in a middleware: bounded retries, not a crash
            log.exception("unexpected error sending outbox %s", row.id)
            await self._transient(row, exc, "internal")
        else:
            self.breaker.success()
            self.stats.sent += 1
            self.events.message_sent(time.perf_counter() - started)
            await self._record_sent(row, message.message_id)

    async def _cancelled(self, row: OutboxMessage, reason: str) -> None:
        self.stats.cancelled += 1
        if reason in ("banned", "blocked"):
            await self.outbox.cancel_chat(row.chat_id, reason)
        log.info("outbox %s to chat %s not sent: %s", row.id, row.chat_id, reason)

    async def _claim(self, row: OutboxMessage) -> bool:
        """Lease the message to this process before sending it (several processes share the
        database); False if it must not be sent now: another process holds it, it became
        undeliverable, a flood wait another process met holds, or the claim cannot be written."""
        now = self.clock()
        try:
            claimed = await self.outbox.claim(row.id, self.owner, now, now + self.lease)
            reason = None if claimed else await self.outbox.undeliverable(row.id)
        except Exception as exc:  # nothing is sent that could not be claimed; retry shortly
            log.warning("cannot claim outbox %s (%s); sends pause for a few seconds", row.id, exc)
            self.limiter.pause_global(5)
            return False
        if claimed is None:
            if reason is not None:
                await self._cancelled(row, reason)
            else:
                self.stats.taken += 1
                log.info(
                    "outbox %s to chat %s is being sent by another process", row.id, row.chat_id
                )
            return False
        return await self._not_paused(row, claimed.paused_until)

    async def _pace(self, row: OutboxMessage) -> bool:
        """Take this send's slot in the pace all processes share; wait for it if it is near,
        else put the message back until then (a flood wait) and return False."""
        assert self.pacing is not None
        limiter = self.limiter
        chat_interval = limiter.per_chat_interval
        if row.chat_id < 0 and chat_interval:  # groups and channels: 20 a minute
            chat_interval = max(chat_interval, 60.0 / limiter.group_per_minute)
        if not limiter.interval and not chat_interval:  # no limits (DELIVERY_RATE=0): no slot
            return True  # (the shared flood wait was read with the claim)
        now = self.clock().timestamp()
        try:
            start = await self.pacing.reserve(
                row.chat_id, now, interval=limiter.interval, chat_interval=chat_interval
            )
        except Exception as exc:
            log.warning("cannot reserve a send slot (%s); sends pause for a few seconds", exc)
            limiter.pause_global(5)
            await self.outbox.defer(row.id, self.clock(), error=str(exc), count_attempt=False)
            return False
        wait = start - now
        if wait > PACE_WAIT_MAX:
            await self.outbox.defer(row.id, self.clock() + timedelta(seconds=wait),
                                    error="paced", count_attempt=False)  # fmt: skip
            return False
        if wait <= 0:
            return True  # the reservation itself kept any shared flood wait
        await self.sleep(wait)
        # another process may have met a flood wait while this one waited for its slot
        return await self._not_paused(row, await self.pacing.get("pause"))

    async def _not_paused(self, row: OutboxMessage, paused_until: float | None) -> bool:
        """A flood wait another process met holds here too: put the message back until then."""
        now = self.clock().timestamp()
        if paused_until is not None and paused_until > now:
            await self.outbox.defer(row.id, self.clock() + timedelta(seconds=paused_until - now),
                                    error="flood wait", count_attempt=False)  # fmt: skip
            return False
        return True

    async def _share_hold(self, key: str, seconds: float) -> None:
        """A flood wait every process on the database must keep (no-op for the only one)."""
        if self.pacing is None:
            return
        try:
            await self.pacing.hold(key, self.clock().timestamp() + seconds)
        except Exception as exc:
            log.warning("cannot share the flood wait %s with other processes: %s", key, exc)

    async def _record_sent(self, row: OutboxMessage, message_id: int) -> None:
        """Telegram accepted it: record that, or keep it in memory so it is never sent again."""
        sent_at = self.clock()
        self._recording[row.id] = asyncio.get_running_loop().time()
        try:
            await self._marks((row.id, message_id, sent_at))
        except Exception as exc:  # disk full, I/O error, locked: whatever it is, don't resend
            first = not self._unrecorded
            self._unrecorded[row.id] = (message_id, sent_at)
            self.stats.unrecorded += 1
            log.error("outbox %s was sent but the database cannot record it (%s): no new sends"
                      " until it can", row.id, exc)  # fmt: skip
            if first:
                self._alert("admin.alert_db_write", error=str(exc)[:200])
        finally:
            self._recording.pop(row.id, None)

    def _outage_failure(self, exc: Exception) -> None:
        if self.breaker.failure():
            self.stats.outages += 1
            self._opened_at = self.clock()
            log.warning("Telegram looks down (%s): delivery paused, probing with getMe", exc)

    async def _rich_refused(self, row: OutboxMessage, exc: TelegramAPIError) -> None:
        """A rich digest Telegram refused (an older server, content it rejects) goes out in
        the compact format instead: the chat stays usable, nothing is lost."""
        queued = await self.outbox.replace_with_fallback(row.id, exc.message, self.clock())
        self.events.message_retried("rich_refused")
        log.warning("chat %s refused a rich digest (%s); %d compact parts queued instead",
                    row.chat_id, exc.message, queued)  # fmt: skip

    async def _flood_wait(self, row: OutboxMessage, retry_after: int) -> None:
        """429: wait and retry, never drop. A private chat is never sent to faster than 1/s by
        us, so a 429 there is the bot-wide limit: pause everyone; for a group, only the group."""
        self.stats.flood_waits += 1
        self.events.message_retried("429")
        log.warning("flood wait %ss for chat %s", retry_after, row.chat_id)
        self.limiter.defer_chat(row.chat_id, retry_after)
        await self._share_hold(f"chat:{row.chat_id}", retry_after)
        if row.chat_id > 0:
            self.limiter.pause_global(retry_after)
            await self._share_hold("pause", retry_after)
        await self.outbox.defer(
            row.id, self.clock() + timedelta(seconds=retry_after),
            error=f"retry_after {retry_after}", count_attempt=False,
        )  # fmt: skip

    async def _blocked(self, row: OutboxMessage, exc: TelegramAPIError) -> None:
        self.stats.blocked += 1
        log.info(
            "chat %s is unreachable (%s): marked blocked, settings kept", row.chat_id, exc.message
        )
        failed = await self.outbox.fail_chat(row.chat_id, f"blocked: {exc.message}")
        self.events.message_failed("blocked", failed)
        with contextlib.suppress(LookupError):
            await self.chats.set_status(row.chat_id, "blocked", self.clock())

    async def _give_up(self, row: OutboxMessage, exc: Exception, reason: str) -> None:
        self.stats.failed += 1
        self.events.message_failed(reason)
        log.error("outbox %s to chat %s failed for good: %s", row.id, row.chat_id, exc)
        await self.outbox.fail(row.id, str(exc))

    async def _transient(self, row: OutboxMessage, exc: Exception, reason: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            await self._give_up(row, exc, "retries_exhausted")
            return
        self.stats.retries += 1
        self.events.message_retried(reason)
        delay = min(self.backoff_cap, self.backoff_base * 2 ** min(attempts - 1, 30))
        log.warning("outbox %s to chat %s: %s; retry %d in %.1fs", row.id, row.chat_id, exc,
                    attempts, delay)  # fmt: skip
        await self.outbox.defer(
            row.id, self.clock() + timedelta(seconds=delay), error=str(exc), count_attempt=True
        )


async def _finish(tasks: set[asyncio.Task[None]], seconds: float) -> None:
    """Wait up to `seconds` for `tasks`, then cancel the rest and wait for them to unwind."""
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, seconds))
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
