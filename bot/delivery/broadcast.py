"""Broadcaster: an admin announcement to every active subscriber through the outbox, with progress.

The messages go through the same delivery engine and limits as digests (bot.delivery.sender.Sender
drains the outbox); this service only enqueues them, wakes the sender and watches the tally.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.domain import BroadcastTally
from storage.port import BroadcastStore

log = logging.getLogger(__name__)

Report = Callable[[BroadcastTally], Awaitable[None]]


class Broadcaster:
    def __init__(
        self,
        repo: BroadcastStore,
        *,
        clock: Callable[[], datetime],
        on_enqueued: Callable[[], None] | None = None,
        poll_seconds: float = 2.0,
        give_up_after: timedelta = timedelta(hours=12),
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.poll_seconds = poll_seconds
        self.give_up_after = give_up_after
        self._watchers: set[asyncio.Task[None]] = set()

    async def start(self, text: str, *, by: int, report: Report) -> BroadcastTally:
        """Queue the broadcast; `report` is awaited on every change of the tally until done."""
        broadcast_id = await self.repo.enqueue(text, by=by, now=self.clock())
        tally = await self.repo.tally(broadcast_id)
        log.info("broadcast %s queued for %s chats by %s", broadcast_id, tally.recipients, by)
        if self.on_enqueued is not None:
            self.on_enqueued()
        task = asyncio.create_task(self._watch(tally, report), name=f"broadcast-{broadcast_id}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return tally

    async def _watch(self, tally: BroadcastTally, report: Report) -> None:
        started = self.clock()
        last = None
        try:
            while True:
                if tally != last:
                    await report(tally)
                    last = tally
                if tally.done or self.clock() - started > self.give_up_after:
                    return
                await asyncio.sleep(self.poll_seconds)
                tally = await self.repo.tally(tally.broadcast_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # progress is best effort; delivery goes on without it
            log.exception("watching broadcast %s failed", tally.broadcast_id)

    async def aclose(self) -> None:
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*list(self._watchers), return_exceptions=True)
