"""Group commit: concurrent calls that come while one batch is at the database go in the next.

The sender asks the database twice per message (may it still go? it went). Each ask is a hop
to the database thread (SQLite) or a round trip (PostgreSQL), and at a few thousand messages a
second the hops, not the work, are what costs. A `Coalescer` runs a call at once, alone, when
no batch is under way; calls made while one is wait and then go together in one batch. No call
waits for a timer and none returns before its own item is done, so a send still ends only once
it is recorded (at most the sends in flight repeat after a kill -9, as with one write each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Coalescer(Generic[K, R]):
    """`await coalescer(item)` → `run(batch)[item]` (None if absent), the batch being the item
    alone if nothing was under way, else every item submitted while the previous batch ran. If
    `run` raises, every caller in that batch gets the exception."""

    def __init__(self, run: Callable[[Sequence[K]], Awaitable[Mapping[K, R] | None]]) -> None:
        self._run = run
        self._queue: list[tuple[K, asyncio.Future[R | None]]] = []
        self._busy = False  # a batch is under way
        self._task: asyncio.Task[None] | None = None  # runs the queued batches (kept: a reference)
        self.batches = 0  # how many calls to `run` (statistics and tests)

    async def __call__(self, item: K) -> R | None:
        if self._busy:
            future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
            self._queue.append((item, future))
            return await future  # a caller cancelled (a stop's grace ran out): the rest go on
        # nothing under way: this caller runs its batch of one itself (no task to schedule)
        self._busy = True
        try:
            self.batches += 1
            results = await self._run([item]) or {}
            return results.get(item)
        finally:
            self._go_on()

    def _go_on(self) -> None:
        """After a batch: the calls that queued meanwhile go next, together, in a task."""
        if self._queue:
            self._task = asyncio.create_task(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        batch: list[tuple[K, asyncio.Future[R | None]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                self.batches += 1
                try:
                    results = await self._run([item for item, _ in batch]) or {}
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for item, future in batch:
                        if not future.done():
                            future.set_result(results.get(item))
        finally:  # cancelled itself (the loop shuts down): nobody waits forever
            for _, future in batch + self._queue:
                future.cancel()
            self._queue = []
            self._task = None
            self._busy = False
