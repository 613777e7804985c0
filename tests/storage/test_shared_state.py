"""The state several processes share through the database: typed-input dialogs (aiogram's FSM
storage on storage.conversations) and the webhook's ledger of update ids — on each engine (a
SQLite file, a PostgreSQL database), two connections standing for two processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey

from bot.app.fsm import DatabaseStorage
from bot.domain import Claim
from handlers.common.states import TextInput
from storage.conversations import DialogRepo
from storage.engines import AnyDatabase, open_database
from storage.webhook_updates import UpdateLedger

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
KEY = StorageKey(bot_id=123456, chat_id=-1001, user_id=42)


@pytest.fixture
async def two(db_location):
    """Two connections on one database: two processes."""
    async with open_database(db_location) as a, open_database(db_location) as b:
        yield a, b


def storage_on(db: AnyDatabase, now: list[datetime]) -> DatabaseStorage:
    return DatabaseStorage(DialogRepo(db), clock=lambda: now[0])


async def test_a_dialog_written_by_one_process_is_read_by_another(two):
    now = [T0]
    first, second = storage_on(two[0], now), storage_on(two[1], now)
    ctx = FSMContext(first, KEY)
    await ctx.set_state(TextInput.time)
    await ctx.update_data(mode="weekly", day=4, flow="a")
    await ctx.update_data(note="Душанбе")
    other = FSMContext(second, KEY)
    assert await other.get_state() == TextInput.time.state
    assert await other.get_data() == {"mode": "weekly", "day": 4, "flow": "a", "note": "Душанбе"}
    # the key is the whole StorageKey: another user, thread, destiny or bot sees nothing
    for stranger in (
        StorageKey(bot_id=123456, chat_id=-1001, user_id=43),
        StorageKey(bot_id=123456, chat_id=-1001, user_id=42, thread_id=7),
        StorageKey(bot_id=123456, chat_id=-1001, user_id=42, destiny="other"),
        StorageKey(bot_id=123456, chat_id=-1001, user_id=42, business_connection_id="bc"),
        StorageKey(bot_id=654321, chat_id=-1001, user_id=42),
    ):
        assert await second.get_state(stranger) is None
        assert await second.get_data(stranger) == {}
    await other.clear()
    assert await ctx.get_state() is None and await ctx.get_data() == {}
    assert await two[0].fetchval("SELECT count(*) FROM fsm_states") == 0  # no empty rows left


async def test_a_dialog_left_for_a_day_counts_as_none_and_a_new_one_starts_clean(two):
    now = [T0]
    storage = storage_on(two[0], now)
    ctx = FSMContext(storage, KEY)
    await ctx.set_state(TextInput.time)
    await ctx.update_data(mode="daily", flow="a")
    now[0] = T0 + timedelta(hours=23, minutes=59)
    assert await ctx.get_state() == TextInput.time.state
    now[0] = T0 + timedelta(days=1, seconds=1)
    assert await ctx.get_state() is None
    assert await ctx.get_data() == {}
    await ctx.set_state(TextInput.zone)  # a new dialog does not inherit the stale data
    assert await ctx.get_data() == {}
    assert await ctx.get_state() == TextInput.zone.state
    now[0] += timedelta(days=2)
    await ctx.update_data(flow="o")  # nor new data the stale state
    assert await ctx.get_state() is None
    assert await ctx.get_data() == {"flow": "o"}


async def test_purge_deletes_only_the_stale_dialogs(two):
    dialogs = DialogRepo(two[0])
    now = [T0]
    storage = storage_on(two[0], now)
    await storage.set_state(KEY, TextInput.time)
    now[0] = T0 + timedelta(hours=20)
    fresh = StorageKey(bot_id=123456, chat_id=5, user_id=5)
    await storage.set_state(fresh, TextInput.zone)
    assert await dialogs.purge(now=T0 + timedelta(hours=25)) == 1
    assert await storage.get_state(fresh) == TextInput.zone.state
    now[0] = T0
    assert await storage.get_state(KEY) is None  # gone, not merely hidden


async def test_an_update_id_is_claimed_once_across_processes(two):
    a, b = UpdateLedger(two[0]), UpdateLedger(two[1])
    assert await a.claim(1, 100, now=T0) is Claim.MINE
    assert await b.claim(1, 100, now=T0) is Claim.BUSY  # being handled elsewhere
    assert await b.claim(2, 100, now=T0) is Claim.MINE  # another bot's update 100
    await a.done(1, 100, now=T0)
    assert await b.claim(1, 100, now=T0 + timedelta(hours=30)) is Claim.DONE
    assert await a.claim(1, 100, now=T0 + timedelta(hours=30)) is Claim.DONE


async def test_a_claim_lapses_when_its_taker_dies_and_is_released_when_handling_fails(two):
    a, b = UpdateLedger(two[0]), UpdateLedger(two[1])
    assert await a.claim(1, 7, now=T0) is Claim.MINE  # then the process dies: never done
    assert await b.claim(1, 7, now=T0 + a.lease - timedelta(seconds=1)) is Claim.BUSY
    assert await b.claim(1, 7, now=T0 + a.lease + timedelta(seconds=1)) is Claim.MINE
    assert await a.claim(1, 7, now=T0 + a.lease + timedelta(seconds=2)) is Claim.BUSY
    await b.release(1, 7)  # handling raised: the next delivery is handled afresh
    assert await a.claim(1, 7, now=T0 + a.lease + timedelta(seconds=3)) is Claim.MINE
    await a.done(1, 7, now=T0)
    await a.release(1, 7)  # a release after done changes nothing
    assert await b.claim(1, 7, now=T0 + a.lease * 2) is Claim.DONE


async def test_old_update_ids_are_pruned(two):
    ledger = UpdateLedger(two[0])
    for n in range(5):
        assert await ledger.claim(1, n, now=T0) is Claim.MINE
        await ledger.done(1, n, now=T0)
    assert await ledger.claim(2, 1, now=T0 + ledger.keep + timedelta(seconds=1)) is Claim.MINE
    assert await two[0].fetchval("SELECT count(*) FROM webhook_updates WHERE bot_id = 1") == 5
    later = T0 + ledger.keep + timedelta(seconds=1)
    assert await ledger.claim(1, 99, now=later) is Claim.MINE
    assert await two[0].fetchval("SELECT count(*) FROM webhook_updates WHERE bot_id = 1") == 1
