"""Monitoring (METRICS_LISTEN): the pipeline's events counted for Prometheus, served with
/healthz by an aiohttp server on the running event loop.

Each `Metrics` has its own CollectorRegistry (never the global one), so several bots in one
process (tests) count apart. The outbox figures are read from the database at each scrape.

/healthz answers 200 while the database answers a trivial query and feeds are being polled; 503
when the database fails, or when active feeds exist and this process has polled none of them
successfully for more than 3 × POLL_INTERVAL_MINUTES (counted from its start until its first
success: a restart gets that long before it is called stale). Sends never make it 503: a quiet
hour sends nothing; alert on `diplodigest_outbox_oldest_pending_age_seconds` instead.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from bot.app.core import Core
from bot.domain import Snapshot
from bot.observe import PipelineEvents
from bot.settings import Settings, StartupError, listen_address
from storage.errors import DatabaseUnavailable
from storage.port import MonitoringStore

log = logging.getLogger(__name__)

STALE_POLLS = 3  # intervals without a successful poll before /healthz says 503
# Telegram answers in tens of milliseconds to seconds; a 30 s request timeout is the ceiling.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _now() -> datetime:
    return datetime.now(UTC)


class Metrics(PipelineEvents):
    """The events as Prometheus counters, plus when this process last polled and sent."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        r = self.registry
        self._polls = Counter("diplodigest_polls", "Feed polls, failed ones included", ["feed"],
                              registry=r)  # fmt: skip
        self._poll_errors = Counter(
            "diplodigest_poll_errors", "Failed feed polls by error kind", ["feed", "kind"],
            registry=r,
        )  # fmt: skip
        self._stored = Counter("diplodigest_articles_stored", "New articles stored", ["feed"],
                               registry=r)  # fmt: skip
        self._planned = Counter(
            "diplodigest_digests_planned", "Digests queued with messages", ["kind"], registry=r
        )
        self._sent = Counter("diplodigest_messages_sent", "Messages Telegram accepted",
                             registry=r)  # fmt: skip
        self._retried = Counter(
            "diplodigest_messages_retried", "Messages to be sent again, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self._failed = Counter(
            "diplodigest_messages_failed", "Messages given up, by reason", ["reason"], registry=r
        )
        self._latency = Histogram(
            "diplodigest_send_latency_seconds", "Duration of accepted sendMessage requests",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._last_poll = Gauge(
            "diplodigest_last_successful_poll_timestamp_seconds",
            "Unix time of this process's last successful poll (0: none yet)", registry=r,
        )  # fmt: skip
        self._last_send = Gauge(
            "diplodigest_last_successful_send_timestamp_seconds",
            "Unix time of this process's last accepted send (0: none yet)", registry=r,
        )  # fmt: skip
        self.database = _DatabaseCollector()
        r.register(self.database)
        self.started_at = clock()
        self.last_poll_at: datetime | None = None
        self.last_send_at: datetime | None = None

    def poll_succeeded(self, feed_id: int, stored: int) -> None:
        self._polls.labels(str(feed_id)).inc()
        if stored > 0:
            self._stored.labels(str(feed_id)).inc(stored)
        self.last_poll_at = self.clock()
        self._last_poll.set(self.last_poll_at.timestamp())

    def poll_failed(self, feed_id: int, kind: str) -> None:
        self._polls.labels(str(feed_id)).inc()
        self._poll_errors.labels(str(feed_id), kind).inc()

    def digest_planned(self, kind: str) -> None:
        self._planned.labels(kind).inc()

    def message_sent(self, seconds: float) -> None:
        self._sent.inc()
        self._latency.observe(seconds)
        self.last_send_at = self.clock()
        self._last_send.set(self.last_send_at.timestamp())

    def message_retried(self, reason: str) -> None:
        self._retried.labels(reason).inc()

    def message_failed(self, reason: str, count: int = 1) -> None:
        if count > 0:  # a row count the engine did not know (-1) must not break the send
            self._failed.labels(reason).inc(count)

    def stale_polls(self, snapshot: Snapshot, interval: timedelta) -> str | None:
        """Why /healthz is 503 though the database answers, or None."""
        if not snapshot.active_feeds:
            return None
        since = self.last_poll_at or self.started_at
        if self.clock() - since <= STALE_POLLS * interval:
            return None
        what = "no successful poll" if self.last_poll_at is None else "last successful poll"
        return f"{what} since {_iso(since)}, more than {STALE_POLLS} poll intervals"


class _DatabaseCollector(Collector):
    """What the last scrape read from the database (`update` before each `generate_latest`)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.now: datetime | None = None

    def update(self, snapshot: Snapshot | None, now: datetime) -> None:
        self.snapshot, self.now = snapshot, now

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        yield GaugeMetricFamily(
            "diplodigest_database_up", "1 if the database answered this scrape",
            value=int(snap is not None),
        )  # fmt: skip
        if snap is None or self.now is None:
            return  # unknown, not zero: no outbox figures without the database
        yield GaugeMetricFamily(
            "diplodigest_outbox_pending", "Outbox messages still to send", value=snap.pending
        )
        age = (self.now - snap.oldest_pending_at).total_seconds() if snap.oldest_pending_at else 0
        yield GaugeMetricFamily(
            "diplodigest_outbox_oldest_pending_age_seconds",
            "How long the oldest message still to send has waited (0: none)", value=max(age, 0.0),
        )  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_app(metrics: Metrics, repo: MonitoringStore, poll_interval: timedelta) -> web.Application:
    async def read() -> tuple[Snapshot | None, str | None]:
        try:
            return await repo.snapshot(), None
        except DatabaseUnavailable as exc:
            log.warning("monitoring: the database does not answer: %s", exc)
            return None, str(exc)

    async def scrape(request: web.Request) -> web.Response:
        snapshot, _ = await read()
        metrics.database.update(snapshot, metrics.clock())
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        snapshot, error = await read()
        if snapshot is None:
            problem: str | None = "the database does not answer"
        else:
            problem = metrics.stale_polls(snapshot, poll_interval)
        body = {
            "status": "ok" if problem is None else "failing",
            "database": "ok" if error is None else f"unreachable: {error}",
            "problem": problem,
            "started_at": _iso(metrics.started_at),
            "last_successful_poll_at": _iso(metrics.last_poll_at),
            "last_successful_send_at": _iso(metrics.last_send_at),
            "active_feeds": None if snapshot is None else snapshot.active_feeds,
            "outbox_pending": None if snapshot is None else snapshot.pending,
        }
        status = 200 if body["status"] == "ok" else 503
        return web.Response(
            text=json.dumps(body), status=status, content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)
    return app


@asynccontextmanager
async def serve_metrics(settings: Settings, core: Core) -> AsyncIterator[None]:
    """Serve /metrics and /healthz on METRICS_LISTEN while the block runs; nothing when it is
    unset. `core` must come from `open_core(settings, monitored=True)`."""
    if settings.metrics_listen is None:
        yield
        return
    if not isinstance(core.events, Metrics):
        raise TypeError("serve_metrics needs a core opened with monitored=True")
    host, port = listen_address(settings.metrics_listen, "METRICS_LISTEN")
    interval = timedelta(minutes=settings.poll_interval_minutes)
    app = build_app(core.events, core.stores.monitoring, interval)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio's own text is long
            raise StartupError(
                f"cannot listen on METRICS_LISTEN {host}:{port} ({why}); "
                "is another process using the port?"
            ) from None
        log.info("metrics on http://%s:%d/metrics and /healthz", host, port)
        yield
    finally:
        await runner.cleanup()
