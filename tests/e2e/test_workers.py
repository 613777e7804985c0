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
