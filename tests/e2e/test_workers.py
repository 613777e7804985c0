"""`python -m bot worker`: extra processes on one PostgreSQL database, as deployed.

Two real worker processes share a database with queued digests and a due feed: every chat gets
every part exactly once and in order, the feed is fetched once, both stop cleanly on SIGTERM.
On SQLite a worker is refused while another process holds the database (one line, exit 1).
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime

import pytest

from storage.engines import open_database
from storage.feeds import FeedRepo
from storage.instance import single_instance
from tests.support.cli_env import SAMPLES, cli, make_env, start
from tests.support.fakebotapi import TOKEN, FakeBotAPI
from tests.support.outage import fan_out

pytestmark = pytest.mark.timeout(240)  # two cold starts of the bot on a loaded machine

CHATS = 12
PARTS = ("a", "b", "c")


async def _until(check, what: str, timeout: float = 120) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


async def test_two_workers_deliver_each_part_once_and_poll_a_feed_once(
    tmp_path, pg_template, feed_server
):
    url = await pg_template.fresh_database()
    feed_server.add("/feed.xml", (SAMPLES / "khovar.xml").read_bytes())
    server = await FakeBotAPI().start()
    env = make_env(
        tmp_path,
        [],
        DATABASE_URL=url,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.base_url,
        SCHEDULER_TICK_SECONDS="1",
        POLL_INTERVAL_MINUTES="1440",  # after the first poll the feed's next slot is hours away
        LOG_LEVEL="INFO",
    )
    async with open_database(url) as db:
        await fan_out(db, CHATS, PARTS)
        # an operator's `feeds add`: due at once, so both workers' first ticks race for it
        await FeedRepo(db).add(feed_server.url("/feed.xml"), now=datetime.now(UTC))
        logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
        procs = [await start(env, "worker", log=log) for log in logs]
        try:

            async def all_sent() -> bool:
                pending = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
                polled = await db.fetchval("SELECT COUNT(*) FROM poll_log")
                return pending == 0 and polled >= 1

            try:
                await _until(all_sent, "both workers to send everything and poll the feed")
            except AssertionError as exc:
                rows = await db.fetchall("SELECT status, claimed_by, not_before, error FROM outbox")
                raise AssertionError(
                    f"{exc}\n{[r.method for r in server.requests][-10:]}\n"
                    f"{[tuple(r) for r in rows][:5]}\n"
                    + "\n".join(log.read_text(errors="replace") for log in logs)
                ) from None
            await asyncio.sleep(3)  # a few more ticks of each: a repeat would show now
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(p.wait(), 30) for p in procs]
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await server.close()
        output = "\n".join(log.read_text(errors="replace") for log in logs)
        assert codes == [0, 0], output
        assert "Traceback" not in output, output
        for n in range(1, CHATS + 1):
            got = [p["text"] for p in server.sent(n)]
            assert got == [f"{n} {p}" for p in PARTS], f"chat {n} got {got}"
        assert feed_server.hits["/feed.xml"] == 1  # claimed by one worker, not polled twice
        assert await db.fetchval("SELECT COUNT(*) FROM poll_log") == 1
        assert output.count("as a worker") == 2  # both really ran


async def test_a_worker_on_sqlite_is_refused_while_run_holds_the_file(tmp_path):
    env = make_env(tmp_path, BOT_TOKEN=TOKEN)
    env.db_path.parent.mkdir(parents=True, exist_ok=True)
    with single_instance(env.db_path):
        result = await cli(env, "worker")
    assert result.code == 1
    assert result.err.startswith("error: diplodigest is already running on"), result.err
    assert "Traceback" not in result.err and TOKEN not in result.err + result.out


async def test_a_worker_without_a_token_says_so(tmp_path):
    result = await cli(make_env(tmp_path), "worker")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "error: worker sends digests, so it needs BOT_TOKEN; set it in .env or the environment"
        " (the same token as the `run` process)"
    ]


async def test_webhook_run_and_two_workers_fan_out_to_1000_through_a_kill9(tmp_path, pg_template):
    """One webhook-mode `run` and two `worker`s on PostgreSQL, 1,000 chats with a digest each;
    one worker is killed with SIGKILL mid-fan-out. Every chat gets its digest; the only repeats
    are messages the killed worker had in flight (at most its 4 concurrent sends)."""
    from tests.e2e.test_webhook import SECRET, free_port, post

    chats = 1000
    url = await pg_template.fresh_database()
    server = await FakeBotAPI().start()
    port = free_port()
    env = make_env(
        tmp_path,
        DATABASE_URL=url,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.base_url,
        SCHEDULER_TICK_SECONDS="1",
        DELIVERY_RATE="0",
        DELIVERY_CLAIM_SECONDS="5",  # the killed worker's claims lapse within the test
        LOG_LEVEL="INFO",
    )
    webhook = env.with_vars(
        TELEGRAM_MODE="webhook",
        WEBHOOK_URL="https://bot.example.org/tg/hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
    )
    async with open_database(url) as db:
        await fan_out(db, chats, ("digest",))
        logs = {name: tmp_path / f"{name}.log" for name in ("run", "worker1", "worker2")}
        procs = {
            "run": await start(webhook, "run", log=logs["run"]),
            "worker1": await start(env, "worker", log=logs["worker1"]),
            "worker2": await start(env, "worker", log=logs["worker2"]),
        }

        def delivered() -> int:
            return len({r.chat_id for r in server.sends() if r.ok and r.chat_id <= chats})

        def output() -> str:
            return "\n".join(f"--- {n}\n{p.read_text(errors='replace')}" for n, p in logs.items())

        try:

            async def some_delivered() -> bool:
                return delivered() >= 150 or any(p.returncode is not None for p in procs.values())

            await _until(some_delivered, "the fan-out to start")
            assert all(p.returncode is None for p in procs.values()), output()
            procs["worker1"].kill()  # SIGKILL: no clean-up of any kind
            await procs["worker1"].wait()
            at_kill = delivered()

            # meanwhile Telegram posts an update to the webhook process
            update_id, payload = server.message_update(6262, 6262, "/start", language_code="en")
            hook = f"http://127.0.0.1:{port}/tg/hook"
            await _until(lambda: _answers(hook), "the webhook to listen")
            assert await post(hook, {"update_id": update_id, **payload}, "wrong") in (401, 403)
            assert await post(hook, {"update_id": update_id, **payload}, SECRET) == 200
            assert server.sent(6262), "the webhook process did not answer /start"

            async def all_sent() -> bool:
                left = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
                return left == 0

            try:
                await _until(all_sent, "every digest to be sent after the kill")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{output()}") from None
            for name in ("run", "worker2"):
                procs[name].send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(procs[name].wait(), 60) == 0, output()
        finally:
            for proc in procs.values():
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await server.close()
        assert at_kill < chats, "the kill came after the fan-out: nothing was shown"
        copies = {}
        for request in server.sends():
            if request.ok and request.chat_id <= chats:
                copies[request.chat_id] = copies.get(request.chat_id, 0) + 1
        assert set(copies) == set(range(1, chats + 1))  # every chat got its digest
        repeats = sum(n - 1 for n in copies.values())
        assert repeats <= 4, f"{repeats} repeats; only the killed worker's in-flight may repeat"
        for n in range(1, chats + 1):
            assert {p["text"] for p in server.sent(n)} == {f"{n} digest"}, n
        assert "Traceback" not in logs["run"].read_text() + logs["worker2"].read_text()


async def _answers(url: str) -> bool:
    import aiohttp

    try:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return response.status > 0
    except aiohttp.ClientError:
        return False
