"""Delivery promises checked per chat through the fake Bot API: a flood wait is kept (for the
chat, and for everyone when it is the bot-wide limit), and a SIGKILL while a send is in flight
repeats at most that message while a row is marked sent only once Telegram accepted it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.sender import Sender
from bot.domain import DigestPlan
from storage.db import Database
from storage.outbox import MESSAGE_TEXT, OutboxRepo
from storage.stores import stores_over
from tests.support.fakebotapi import FakeBotAPI

NOW = datetime(2025, 6, 1, 6, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
STAMP = "2025-06-01T06:00:00Z"


async def fill(path: Path, chats: Iterable[int], parts: int) -> dict[int, list[str]]:
    """Each chat gets one digest of `parts` messages; returns the texts each chat must receive."""
    expected = {n: [f"digest for {n}, part {p}" for p in range(parts)] for n in chats}
    async with Database(path) as db:
        await db.executemany(
            "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
            " VALUES (?, ?, 'UTC', ?, ?)",
            [(n, "private" if n > 0 else "group", STAMP, STAMP) for n in chats],
        )
        plans = [
            DigestPlan(chat_id=n, kind="manual", slot_at=NOW, parts=tuple(texts),
                       article_count=1, outcome="queued", expected_cursor=0,
                       expected_updated_at=NOW, new_cursor=None)
            for n, texts in expected.items()
        ]  # fmt: skip
        await OutboxRepo(db).record_digests(plans, NOW)
    return expected


def received(server: FakeBotAPI, chat_id: int) -> list[str]:
    """What the chat actually got (a send whose reply was lost counts: the user saw it)."""
    return [p["text"] for p in server.sent(chat_id)]


def assert_each_chat_got_its_digest_once(server: FakeBotAPI, expected: dict[int, list[str]],
                                         repeats_allowed: int = 0) -> int:  # fmt: skip
    """Every chat got every part, in order; only a message in flight at a crash may come twice
    (right after itself), at most once per chat. Returns the number of repeats."""
    repeats = 0
    for chat_id, parts in expected.items():
        got = received(server, chat_id)
        collapsed = [t for i, t in enumerate(got) if i == 0 or got[i - 1] != t]
        assert collapsed == parts, f"chat {chat_id} got {got}, expected {parts}"
        extra = len(got) - len(parts)
        assert extra <= 1, f"chat {chat_id} got {extra} repeats: {got}"
        repeats += extra
    assert repeats <= repeats_allowed, f"{repeats} repeated messages, at most {repeats_allowed}"
    unexpected = {r.chat_id for r in server.sends()} - set(expected)
    assert not unexpected, f"messages to chats that were never queued: {unexpected}"
    return repeats


# -- flood waits, checked with the fake's timestamps


async def test_private_flood_wait_is_kept_for_the_chat_and_pauses_everyone(tmp_path, server, bot):
    path = tmp_path / "flood.sqlite3"
    expected = await fill(path, range(1, 5), parts=2)
    server.fail_next("sendMessage", "429", chat_id=2, retry_after=2)
    async with Database(path) as db:
        await Sender(bot, stores_over(db), rate=0, concurrency=1, idle_poll=0.1).drain(timeout=30)
    assert_each_chat_got_its_digest_once(server, expected)
    assert server.assert_retries_waited() == 1  # chat 2 retried, no sooner than 2 s later
    assert server.assert_global_pauses() == 1  # and nobody else was sent to meanwhile


async def test_group_flood_wait_holds_only_the_group(tmp_path, server, bot):
    path = tmp_path / "flood.sqlite3"
    expected = await fill(path, (-3, -2, -1, 1, 2, 3), parts=2)
    server.fail_next("sendMessage", "429", chat_id=-2, retry_after=2)
    async with Database(path) as db:
        await Sender(bot, stores_over(db), rate=0, concurrency=2, idle_poll=0.1).drain(timeout=30)
    assert_each_chat_got_its_digest_once(server, expected)
    assert server.assert_retries_waited() == 1
    (flood,) = [r for r in server.requests if r.status == 429]
    retry = next(r for r in server.sends(-2) if r.received_at > flood.received_at)
    others = [r for r in server.sends() if r.chat_id != -2
              and flood.answered_at < r.received_at < retry.received_at]  # fmt: skip
    assert others, "the other chats waited for the group's flood wait"


async def test_repeated_flood_waits_each_kept(tmp_path, server, bot):
    path = tmp_path / "flood.sqlite3"
    expected = await fill(path, range(1, 3), parts=1)
    server.fail_next("sendMessage", "429", chat_id=1, retry_after=1, times=2)
    async with Database(path) as db:
        await Sender(bot, stores_over(db), rate=0, concurrency=1, idle_poll=0.1).drain(timeout=30)
    assert_each_chat_got_its_digest_once(server, expected)
    assert server.assert_retries_waited() == 2 and server.assert_global_pauses() == 2


# -- SIGKILL while a send is in flight


class Child:
    """tests/support/outbox_child.py draining the outbox in a real process we can SIGKILL."""

    def __init__(self, path: Path, server: FakeBotAPI, concurrency: int) -> None:
        script = ROOT / "tests" / "support" / "outbox_child.py"
        self.args = [sys.executable, str(script), str(path), server.base_url, str(concurrency)]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}

    async def start(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*self.args, env=self.env)

    async def run(self) -> int:
        proc = await self.start()
        return await asyncio.wait_for(proc.wait(), 60)


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def sent_rows(path: Path) -> list[tuple[int, str, int]]:
    async with Database(path) as db:
        rows = await db.fetchall(
            f"SELECT chat_id, {MESSAGE_TEXT} AS text, message_id FROM outbox WHERE status = 'sent' ORDER BY id"
        )
    return [(r["chat_id"], r["text"], r["message_id"]) for r in rows]


def assert_sent_rows_were_accepted(server: FakeBotAPI, rows: list[tuple[int, str, int]]) -> None:
    """A row is 'sent' only if Telegram accepted exactly that message (and told us its id)."""
    for chat_id, text, message_id in rows:
        stored = server.messages.get((chat_id, message_id))
        assert stored is not None and stored.get("text") == text, (
            f"outbox says {text!r} reached chat {chat_id} as message {message_id};"
            f" Telegram has {stored}"
        )


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_sigkill_while_sends_hang_loses_and_repeats_nothing(tmp_path, server, concurrency):
    path = tmp_path / "hang.sqlite3"
    expected = await fill(path, range(1, 31), parts=3)
    child = Child(path, server, concurrency)
    proc = await child.start()
    await server.wait_sent(1, 1, timeout=30)
    await server.wait_calls("sendMessage", 20, timeout=30)
    server.fail_next("sendMessage", "hang", times=concurrency)  # the next sends never return
    await server.wait_until(
        lambda: sum(r.reply == "hung" for r in server.requests) == concurrency, timeout=30,
        what="every send slot to hang",
    )  # fmt: skip
    await kill(proc)
    hung = [(r.chat_id, r.params["text"]) for r in server.requests if r.reply == "hung"]
    rows = await sent_rows(path)
    assert_sent_rows_were_accepted(server, rows)
    assert not {(c, t) for c, t, _ in rows} & set(hung), "a hung send was recorded as sent"

    assert await child.run() == 0
    # A hung send never reached the chat, so nothing at all may repeat — and nothing is missing.
    assert_each_chat_got_its_digest_once(server, expected, repeats_allowed=0)
    assert_sent_rows_were_accepted(server, await sent_rows(path))
    async with Database(path) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status != 'sent'") == 0


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_sigkill_after_a_lost_reply_repeats_only_that_message(tmp_path, server, concurrency):
    path = tmp_path / "drop.sqlite3"
    expected = await fill(path, range(1, 31), parts=3)
    child = Child(path, server, concurrency)
    proc = await child.start()
    await server.wait_calls("sendMessage", 20, timeout=30)
    # Telegram delivers the next messages but the replies are lost; then sends hang, so the
    # child is stuck with those messages unconfirmed when it is killed.
    # Fewer lost replies in a row than the circuit breaker's threshold (3): no outage pause.
    drops = min(concurrency, 2)
    server.fail_next("sendMessage", "accept_drop", times=drops)
    server.fail_next("sendMessage", "hang", times=10 * concurrency)
    await server.wait_until(
        lambda: sum(r.reply == "hung" for r in server.requests) >= concurrency, timeout=60,
        what="the retries to hang",
    )  # fmt: skip
    await kill(proc)
    dropped = {(r.chat_id, r.params["text"]) for r in server.requests
               if r.reply == "accepted_dropped"}  # fmt: skip
    assert len(dropped) == drops
    rows = await sent_rows(path)
    assert_sent_rows_were_accepted(server, rows)

    server.release_hung()
    server.clear_failures()  # the restarted process finds Telegram healthy
    assert await child.run() == 0
    repeats = assert_each_chat_got_its_digest_once(server, expected, repeats_allowed=concurrency)
    repeated = {(c, t) for c in expected for t, n in Counter(received(server, c)).items() if n > 1}
    assert repeated <= dropped, f"repeated {repeated - dropped}, which were not in flight"
    assert repeats == len(repeated)
    assert_sent_rows_were_accepted(server, await sent_rows(path))


async def outbox_rows(db: Database, chat_id: int) -> list[tuple[str, str | None, int | None]]:
    rows = await db.fetchall(
        "SELECT status, sent_at, message_id FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [(r["status"], r["sent_at"], r["message_id"]) for r in rows]


async def test_a_send_telegram_holds_is_not_marked_sent_until_accepted(tmp_path, server, bot):
    """In process (no kill -9): while Telegram has not answered, the row is still pending with no
    sent_at or message id, so a crash at that moment can only resend it, never lose it; once
    Telegram accepts a retry, the row records that message's id."""
    path = tmp_path / "inflight.sqlite3"
    expected = await fill(path, (1,), parts=2)
    server.fail_next("sendMessage", "hang", chat_id=1)
    async with Database(path) as db:
        engine = Sender(bot, stores_over(db), rate=0, concurrency=1, idle_poll=0.05, backoff_base=0.05,
                        request_timeout=30)  # fmt: skip
        engine.start()
        try:
            await server.wait_until(lambda: any(r.reply == "hung" for r in server.requests),
                                    timeout=10, what="the first send to hang")  # fmt: skip
            await asyncio.sleep(0.2)  # the sender is waiting on Telegram's answer
            assert await outbox_rows(db, 1) == [("pending", None, None), ("pending", None, None)]
            server.release_hung()  # the connection closes unanswered: not delivered, retried
            await server.wait_sent(1, 2, timeout=15)
            await engine.drain(timeout=15)
        finally:
            await engine.stop()
        rows = await outbox_rows(db, 1)
    assert_each_chat_got_its_digest_once(server, expected)
    assert [status for status, _, _ in rows] == ["sent", "sent"]
    assert all(sent_at is not None for _, sent_at, _ in rows)
    assert_sent_rows_were_accepted(server, await sent_rows(path))


# -- a ban, a block or /stop holds for everything not yet sent


async def test_ban_holds_for_digests_queued_before_it_even_after_unban(tmp_path, server, bot):
    from storage.access import AccessRepo

    path = tmp_path / "ban.sqlite3"
    expected = await fill(path, (1, 2, 3), parts=2)
    async with Database(path) as db:
        access = AccessRepo(db)
        assert await access.ban(2, by=999, reason="spam", now=NOW)
        engine = Sender(bot, stores_over(db), rate=0, idle_poll=0.1)
        await engine.drain(timeout=30)
        assert received(server, 2) == [] and server.sends(2) == []
        assert await access.unban(2, NOW)
        await engine.drain(timeout=30)  # lifting the ban does not send what it cancelled
        statuses = [r[0] for r in await db.fetchall(
            "SELECT status FROM outbox WHERE chat_id = 2")]  # fmt: skip
    assert server.sends(2) == [] and statuses == ["cancelled", "cancelled"]
    del expected[2]
    assert_each_chat_got_its_digest_once(server, expected)


async def test_ban_between_parts_stops_the_rest(tmp_path, server, bot):
    """Sent parts stay sent; the parts not yet sent when the ban comes are never sent."""
    from storage.access import AccessRepo

    path = tmp_path / "ban.sqlite3"
    await fill(path, (1, 2), parts=3)
    async with Database(path) as db:
        engine = Sender(bot, stores_over(db), rate=100, idle_poll=0.1)  # parts of a chat 1 s apart
        engine.start()
        try:
            await server.wait_sent(1, 1, timeout=10)
            assert await AccessRepo(db).ban(1, by=999, reason=None, now=NOW)
            await server.wait_sent(2, 3, timeout=15)
        finally:
            await engine.stop()
    assert received(server, 1) == ["digest for 1, part 0"]
    assert received(server, 2) == [f"digest for 2, part {p}" for p in range(3)]


async def test_ban_while_fetched_but_not_yet_sent(tmp_path, server, bot):
    """The sender already holds the message (waiting for the rate limit) when the ban lands."""
    from storage.access import AccessRepo

    path = tmp_path / "ban.sqlite3"
    await fill(path, (1, 2), parts=1)
    async with Database(path) as db:
        # One send per 2 s overall: chat 2 waits in the sender's hands while chat 1 goes.
        engine = Sender(bot, stores_over(db), rate=0.5, concurrency=1, idle_poll=0.1)
        engine.start()
        try:
            await server.wait_sent(1, 1, timeout=10)
            assert await AccessRepo(db).ban(2, by=999, reason=None, now=NOW)
            async with asyncio.timeout(10):  # the sender's turn for chat 2 comes, and passes
                while engine.stats.cancelled < 1:  # noqa: ASYNC110  (the sender signals nothing)
                    await asyncio.sleep(0.05)
        finally:
            await engine.stop()
    assert len(received(server, 1)) == 1 and server.sends(2) == []


@pytest.mark.parametrize("how", ["stop", "blocked"])
async def test_stop_or_block_holds_for_queued_digests(tmp_path, server, bot, how):
    from storage.chats import ChatRepo

    path = tmp_path / "stop.sqlite3"
    expected = await fill(path, (1, 2, 3), parts=2)
    async with Database(path) as db:
        chats = ChatRepo(db)
        if how == "stop":
            assert await chats.delete(2)  # what /stop's confirmation does
        else:
            await chats.set_status(2, "blocked", NOW)  # what a my_chat_member "kicked" does
        await Sender(bot, stores_over(db), rate=0, idle_poll=0.1).drain(timeout=30)
        if how == "blocked":
            await chats.reactivate(2, NOW)  # the user comes back with /start
            await Sender(bot, stores_over(db), rate=0, idle_poll=0.1).drain(timeout=30)
    assert server.sends(2) == []
    del expected[2]
    assert_each_chat_got_its_digest_once(server, expected)
