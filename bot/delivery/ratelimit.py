"""Telegram's send limits as a clock-driven limiter: N/s across chats, 1/s per chat, 20/min per group.

The global limit spaces sends evenly (no burst), so the achieved rate is the configured one.
Pure bookkeeping over an injected monotonic clock; the caller does the sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

PER_CHAT_INTERVAL = 1.0
GROUP_PER_MINUTE = 20


class RateLimiter:
    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0  # rate 0: unlimited (benchmarks)
        self.per_chat_interval = per_chat_interval if rate > 0 else 0.0
        self.group_per_minute = group_per_minute
        self.clock = clock
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chat_ready: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def reserve_global(self) -> float:
        """Take the next global send slot; returns how long to wait for it (seconds)."""
        now = self.clock()
        start = max(now, self._next_global, self._paused_until)
        self._next_global = start + self.interval
        return start - now

    def pause_global(self, seconds: float) -> None:
        """A flood wait for the whole bot: nobody sends until it is over."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def chat_ready_at(self, chat_id: int) -> float:
        ready = self._chat_ready.get(chat_id, 0.0)
        sends = self._group_sends.get(chat_id)
        if sends is not None and self.per_chat_interval and len(sends) >= self.group_per_minute:
            ready = max(ready, sends[0] + 60.0)
        return ready

    def note_send(self, chat_id: int) -> None:
        """Record a send to `chat_id` now (call when the send starts)."""
        now = self.clock()
        self._chat_ready[chat_id] = max(
            self._chat_ready.get(chat_id, 0.0), now + self.per_chat_interval
        )
        if chat_id < 0 and self.per_chat_interval:  # groups, supergroups and channels
            sends = self._group_sends.setdefault(chat_id, deque(maxlen=self.group_per_minute))
            sends.append(now)
        if len(self._chat_ready) > 50_000:
            self._forget_old(now)

    def defer_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram asked this chat to wait (429 retry_after)."""
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), self.clock() + seconds)

    def _forget_old(self, now: float) -> None:
        self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}
        self._group_sends = {c: s for c, s in self._group_sends.items() if s and s[-1] > now - 60.0}
