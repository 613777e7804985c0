"""METRICS_LISTEN: /metrics and /healthz scraped over HTTP on 127.0.0.1 from the real core (a
SQLite file, feeds from the feed server, sends to the fake Bot API), parsed with
prometheus_client's own parser; and `run` serving them, refusing a busy port in one line."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.app.core import Core, build_digest_service, open_core
from bot.app.metrics import Metrics, build_app, serve_metrics
from bot.delivery.sender import Sender
from bot.settings import Settings
from storage.chats import ChatRepo
from storage.monitoring import MonitoringRepo
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.e2e.test_app_run import Child, schedule_poll_now
from tests.e2e.test_startup import bot_api, one_line  # noqa: F401 (fixture)
from tests.support.cli_env import cli, make_env
from tests.support.fakebotapi import TOKEN, FakeBotAPI
from tests.support.feedgen import Item, rss
from tests.support.feedserver import FeedServer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def stored(m: Samples) -> float:
    return sum(v for (name, _), v in m.items() if name == "diplodigest_articles_stored_total")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def un_feed(n: int, now: datetime) -> bytes:
    """`n` entries about the UN (topic `un`), published within the last hours."""
    return rss([
        Item(f"Генеральная Ассамблея ООН приняла резолюцию номер {i}",
             f"https://news.example.org/un-{i}",
             f"Резолюция {i} Генеральной Ассамблеи ООН о сотрудничестве принята голосованием.",
             guid=f"un-{i}", published=now - timedelta(hours=i + 1))
        for i in range(n)
    ])  # fmt: skip


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def scrape(base: str) -> Samples:
    status, text = await get(f"{base}/metrics")
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def settings_for(tmp_path: Path, port: int, **extra: object) -> Settings:
    return Settings(
        _env_file=None,
        database_path=tmp_path / "bot.sqlite3",
        feeds_allow_private=True,
        metrics_listen=f"127.0.0.1:{port}",
        **extra,
    )


@asynccontextmanager
async def monitored_core(settings: Settings) -> AsyncIterator[Core]:
    async with open_core(settings, seed_sources=False, monitored=True) as core:
        assert isinstance(core.events, Metrics)
        async with serve_metrics(settings, core):
            yield core


async def subscribe(core: Core, *chat_ids: int) -> None:
    chats, now = ChatRepo(core.db), datetime.now(UTC)
    for chat_id in chat_ids:
        await chats.ensure(chat_id, type="private", title=None, username=None, language="ru",
                           timezone="UTC", now=now)  # fmt: skip
        await chats.set_topics(chat_id, ["un"], now)


async def pending_rows(core: Core) -> int:
    return int(await core.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"))


async def test_scrape_counts_polls_articles_digests_sends_and_the_backlog(
    tmp_path, feed_server: FeedServer, server: FakeBotAPI, bot
):
    now = datetime.now(UTC)
    feed_server.add("/un.xml", un_feed(3, now))
    feed_server.add("/gone.xml", b"gone", status=404)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with monitored_core(settings_for(tmp_path, port)) as core:
        un = await core.feeds.add(feed_server.url("/un.xml"), now=now)
        gone = await core.feeds.add(feed_server.url("/gone.xml"), now=now)
        fresh = await scrape(base)
        assert fresh[("diplodigest_database_up", ())] == 1
        assert fresh[("diplodigest_outbox_pending", ())] == 0
        assert fresh[("diplodigest_outbox_oldest_pending_age_seconds", ())] == 0
        assert fresh[("diplodigest_messages_sent_total", ())] == 0

        await core.ingestor.poll_all()
        await core.ingestor.poll_feed(await core.feeds.get(un.id))  # unchanged: known, 0 stored
        m = await scrape(base)
        feed, lost = (("feed", str(un.id)),), (("feed", str(gone.id)),)
        assert m[("diplodigest_polls_total", feed)] == 2
        assert m[("diplodigest_articles_stored_total", feed)] == 3
        assert m[("diplodigest_polls_total", lost)] == 1
        assert m[("diplodigest_poll_errors_total", (("feed", str(gone.id)), ("kind", "http_status")))] == 1
        assert ("diplodigest_poll_errors_total", (("feed", str(un.id)), ("kind", "http_status"))) not in m
        assert ("diplodigest_articles_stored_total", lost) not in m
        assert m[("diplodigest_last_successful_poll_timestamp_seconds", ())] >= now.timestamp() - 1

        await subscribe(core, 1, 2, 3)
        digests = build_digest_service(core)
        for chat_id in (1, 2, 3):
            assert await digests.digest_now(chat_id) == 3  # the first digest: the last 24 hours
        assert await digests.digest_now(1) == 0  # nothing new: no digest planned
        queued = await pending_rows(core)
        assert queued == 3  # one message each
        # the oldest waits an hour: its age is read from the database at the scrape
        await core.db.execute(
            "UPDATE outbox SET created_at = ? WHERE chat_id = 2",
            (to_db(datetime.now(UTC) - timedelta(hours=1)),),
        )
        m = await scrape(base)
        assert m[("diplodigest_digests_planned_total", (("kind", "manual"),))] == 3
        assert m[("diplodigest_outbox_pending", ())] == queued
        assert 3600 <= m[("diplodigest_outbox_oldest_pending_age_seconds", ())] < 3600 + 600

        server.fail_next("sendMessage", "429", chat_id=1, retry_after=1)
        server.fail_next("sendMessage", "403", chat_id=3)
        sender = Sender(bot, stores_over(core.db), rate=0, backoff_base=0.01, idle_poll=0.2,
                        events=core.events)  # fmt: skip
        await sender.drain(timeout=30)
        assert len(server.sent(1)) == len(server.sent(2)) == 1 and not server.sent(3)
        m = await scrape(base)
        assert m[("diplodigest_messages_sent_total", ())] == 2
        assert m[("diplodigest_messages_retried_total", (("reason", "429"),))] == 1
        assert m[("diplodigest_messages_failed_total", (("reason", "blocked"),))] == 1
        assert m[("diplodigest_send_latency_seconds_count", ())] == 2
        assert m[("diplodigest_send_latency_seconds_bucket", (("le", "+Inf"),))] == 2
        assert m[("diplodigest_outbox_pending", ())] == 0 == await pending_rows(core)
        assert m[("diplodigest_outbox_oldest_pending_age_seconds", ())] == 0
        assert m[("diplodigest_last_successful_send_timestamp_seconds", ())] >= now.timestamp() - 1


async def test_two_monitored_cores_in_one_process_count_apart(tmp_path, feed_server):
    now = datetime.now(UTC)
    feed_server.add("/un.xml", un_feed(2, now))
    ports = free_port(), free_port()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with (
        monitored_core(settings_for(tmp_path / "a", ports[0])) as first,
        monitored_core(settings_for(tmp_path / "b", ports[1])),
    ):
        feed = await first.feeds.add(feed_server.url("/un.xml"), now=now)
        await first.ingestor.poll_all()
        a = await scrape(f"http://127.0.0.1:{ports[0]}")
        b = await scrape(f"http://127.0.0.1:{ports[1]}")
    assert a[("diplodigest_articles_stored_total", (("feed", str(feed.id)),))] == 2
    assert not any(name == "diplodigest_articles_stored_total" for name, _ in b)


async def test_healthz_is_200_with_the_database_and_503_without(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with monitored_core(settings_for(tmp_path, port)) as core:
        status, body = await get(f"{base}/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok" and health["database"] == "ok"
        assert health["active_feeds"] == 0 and health["outbox_pending"] == 0
        assert health["last_successful_poll_at"] is None
        assert health["last_successful_send_at"] is None

        await core.db.close()  # the database is gone: every query fails
        status, body = await get(f"{base}/healthz")
        assert status == 503, body
        health = json.loads(body)
        assert health["status"] == "failing"
        assert health["database"].startswith("unreachable")
        assert health["outbox_pending"] is None
        m = await scrape(base)  # still answers: the database is down, not the scrape
        assert m[("diplodigest_database_up", ())] == 0
        assert ("diplodigest_outbox_pending", ()) not in m


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def health_server(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/healthz"
    finally:
        await runner.cleanup()


async def test_healthz_is_503_when_nothing_was_polled_for_three_intervals(tmp_path):
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    clock = Clock(start)
    metrics = Metrics(clock=clock)
    interval = timedelta(minutes=10)
    async with open_core(Settings(_env_file=None, database_path=tmp_path / "bot.sqlite3"),
                         seed_sources=False) as core:  # fmt: skip
        app = build_app(metrics, MonitoringRepo(core.db), interval)
        async with health_server(app) as url:

            async def status_at(minutes: float) -> int:
                clock.now = start + timedelta(minutes=minutes)
                return (await get(url))[0]

            assert await status_at(60) == 200  # no feeds: nothing to poll, never stale
            feed = await core.feeds.add("https://example.org/feed.xml", now=start)
            assert await status_at(30) == 200  # 3 intervals since the start: still in grace
            assert await status_at(30.5) == 503
            metrics.poll_succeeded(feed.id, 0)  # at 30.5
            assert await status_at(60) == 200
            assert await status_at(61) == 503
            body = (await get(url))[1]
            assert "last successful poll since 2026-01-05T09:30:30Z" in body
            await core.feeds.set_paused(feed.id, True, start)
            assert await status_at(61) == 200  # only paused feeds: nothing should be polled


@pytest.mark.parametrize("value", ["nonsense", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":9108"])
async def test_a_bad_metrics_listen_is_one_line(tmp_path, value):
    result = await cli(make_env(tmp_path, METRICS_LISTEN=value), "feeds", "list")
    assert result.code == 2
    line = one_line(result.err)
    assert line.startswith("configuration error: METRICS_LISTEN must be host:port"), line
    assert not (tmp_path / "data").exists()


@pytest.mark.timeout(240)  # two cold starts of the whole bot on a loaded machine
async def test_run_serves_metrics_and_health_and_refuses_a_busy_port(
    tmp_path, feed_server, bot_api  # noqa: F811
):
    feed_server.add("/un.xml", un_feed(3, datetime.now(UTC)))
    port = free_port()
    env = make_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=bot_api.base_url,
        SCHEDULER_TICK_SECONDS="1",
        METRICS_LISTEN=f"127.0.0.1:{port}",
    )
    added = await cli(env, "feeds", "add", feed_server.url("/un.xml"))
    assert added.code == 0, added.err
    await schedule_poll_now(env.db_path)  # what time would do: the feed is due now
    child = Child(env, bot_api)
    base = f"http://127.0.0.1:{port}"
    try:
        await child.start()
        deadline = asyncio.get_running_loop().time() + 90  # a hang guard, not a speed check
        while stored(m := await scrape(base)) < 3:  # the first poll comes with the first tick
            assert asyncio.get_running_loop().time() < deadline, (m, child.output())
            await asyncio.sleep(0.2)
        assert stored(m) == 3
        assert m[("diplodigest_polls_total", (("feed", "1"),))] >= 1
        status, body = await get(f"{base}/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok" and health["active_feeds"] == 1
        assert health["last_successful_poll_at"] is not None

        assert await child.terminate() == 0
    finally:
        await child.kill()

    # the port is taken (here: by a listener of the test's own): `run` stops in one line
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = await cli(env.with_vars(METRICS_LISTEN=f"127.0.0.1:{taken}"), "run", timeout=120)
    assert result.code == 1, result.err
    line = one_line(result.err)
    assert line == (
        f"error: cannot listen on METRICS_LISTEN 127.0.0.1:{taken} (Address already in use); "
        "is another process using the port?"
    ), line
