"""A circuit breaker for Telegram outages: the sender pauses as a whole instead of per message.

A few consecutive transient failures (5xx, dropped connections, timeouts) mean Telegram itself is
down, not one chat: the breaker opens, nothing new is sent, and the sender probes with a cheap
call on a growing interval (capped); the first answer closes it and delivery resumes where it
stopped. Pure bookkeeping: the caller does the sleeping and the probing.
"""

from __future__ import annotations


class CircuitBreaker:
    def __init__(
        self, *, threshold: int = 3, probe_base: float = 1.0, probe_cap: float = 60.0
    ) -> None:
        self.threshold = max(1, threshold)
        self.probe_base = probe_base
        self.probe_cap = probe_cap
        self.failures = 0  # consecutive transient failures
        self.is_open = False
        self.probes = 0  # probes since it opened

    def success(self) -> None:
        """Telegram answered (any answer that is not a transient error)."""
        self.failures = 0
        self.is_open = False
        self.probes = 0

    def failure(self) -> bool:
        """A transient failure; True when this one opened the breaker."""
        self.failures += 1
        if not self.is_open and self.failures >= self.threshold:
            self.is_open = True
            self.probes = 0
            return True
        return False

    def next_probe_delay(self) -> float:
        """How long to wait before the next probe: base, 2×base, … up to the cap."""
        delay = min(self.probe_cap, self.probe_base * 2 ** min(self.probes, 30))
        self.probes += 1
        return delay
