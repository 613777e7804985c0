"""What the pipeline reports as it works (polls, articles stored, digests planned, sends), for
monitoring; the stages call these methods and never know where the numbers go.

This base reports nowhere, so a stage built without monitoring (a CLI command, a test) pays
nothing; `bot.app.metrics.Metrics` counts them for Prometheus. Stdlib only.
"""

from __future__ import annotations


class PipelineEvents:
    """The events, each a no-op here; feed ids are labels, times are seconds."""

    def poll_succeeded(self, feed_id: int, stored: int) -> None:
        """A feed answered (new items, nothing new, or 304); `stored` articles were added."""

    def poll_failed(self, feed_id: int, kind: str) -> None:
        """A poll failed; `kind` is the poller's error kind (timeout, http_status, parse, …)."""

    def digest_planned(self, kind: str) -> None:
        """A digest with messages went into the outbox (scheduled, instant, manual)."""

    def message_sent(self, seconds: float) -> None:
        """Telegram accepted a message; `seconds` is how long the request took."""

    def message_retried(self, reason: str) -> None:
        """A message will be sent again later (429, 5xx, network, internal, 401, migrated) or
        replaced by its compact parts (rich_refused)."""

    def message_failed(self, reason: str, count: int = 1) -> None:
        """`count` messages were given up: blocked (every pending one of the chat),
        bad_request, not_found, too_large, api_error, retries_exhausted."""


NO_EVENTS = PipelineEvents()
