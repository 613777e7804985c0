"""Plans recorded in batches (a few statements per batch) leave the very rows that recording
them one by one leaves: dropped plans, taken slots, shifted slots, cursor-only instants, rich
and compact parts, forum threads and previews — on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import DigestPlan
from storage.engines import open_database
from storage.outbox import MESSAGE_TEXT, OutboxRepo
from storage.timefmt import to_db

NOW = datetime(2025, 6, 1, 6, tzinfo=UTC)
SLOT = datetime(2025, 6, 1, 6, tzinfo=UTC)
CHANGED = NOW - timedelta(days=1)  # what the planner read for chat 2; it has changed since


def plans() -> list[DigestPlan]:
    def plan(chat_id: int, **kw: object) -> DigestPlan:
        base: dict[str, object] = dict(
            chat_id=chat_id, kind="scheduled", slot_at=SLOT, parts=(f"{chat_id} a", f"{chat_id} b"),
            article_count=2, outcome="queued", expected_cursor=0, expected_updated_at=NOW,
            new_cursor=10 + chat_id, last_slot_at=SLOT, next_slot_at=SLOT + timedelta(days=1),
        )  # fmt: skip
        return DigestPlan(**(base | kw))  # type: ignore[arg-type]

    return [
        plan(1, part_threads=(11, 12)),
        plan(2, expected_updated_at=CHANGED),  # dropped
        plan(3),  # its scheduled slot is already recorded: nothing, the cursor stays
        plan(4, kind="manual"),  # a manual digest in a taken second moves on by a second
        plan(5, kind="instant", parts=(), article_count=0, outcome="empty"),  # the cursor only
        plan(6, rich="<b>rich</b>", thread_id=7),
        plan(7, preview_url="https://e.org/1", preview_part=1),
        plan(8, outcome="skipped", parts=(), article_count=0),
    ]


async def prepared(location: Path | str):  # type: ignore[no-untyped-def]
    db = await open_database(location).connect()
    stamp = to_db(NOW)
    await db.executemany(
        "INSERT INTO chats (id, type, timezone, created_at, updated_at, cursor_article_id)"
        " VALUES (?, 'private', 'UTC', ?, ?, 0)",
        [(n, stamp, stamp) for n in range(1, 9)],
    )
    await db.executemany(
        "INSERT INTO digests (chat_id, slot_at, kind, outcome, created_at) VALUES (?, ?, ?, 'queued', ?)",
        [(3, to_db(SLOT), "scheduled", stamp), (4, to_db(SLOT), "manual", stamp)],
    )
    return db


async def tables(db) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    queries = {
        # a digest shifted off a taken second gets its id after the batch's (nothing reads the
        # order of digest ids); the outbox keeps its order, which is each chat's sending order
        "digests": "SELECT chat_id, slot_at, kind, article_count, outcome FROM digests"
        " ORDER BY chat_id, slot_at",
        "outbox": f"SELECT chat_id, part, thread_id, {MESSAGE_TEXT} AS text, preview_url, format, fallback,"
        " status FROM outbox ORDER BY id",
        "chats": "SELECT id, cursor_article_id, last_slot_at, next_slot_at, first_digest_at"
        " FROM chats ORDER BY id",
    }
    return {name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in queries.items()}


@pytest.fixture
async def twin_location(db_location, request, tmp_path):
    if isinstance(db_location, Path):
        return tmp_path / "one-by-one.sqlite3"
    return await request.getfixturevalue("pg_template").fresh_database()


async def test_a_batch_records_what_one_by_one_records(db_location, twin_location):
    batched, single = await prepared(db_location), await prepared(twin_location)
    try:
        ids = await OutboxRepo(batched).record_digests(plans(), NOW)
        repo = OutboxRepo(single)
        async with single.transaction() as conn:
            expected = [await repo._record(conn, p, NOW) for p in plans()]
        assert [i is None for i in ids] == [i is None for i in expected]
        assert (
            [i == 0 for i in ids]
            == [i == 0 for i in expected]
            == [False, False, False, False, True, False, False, False]
        )
        assert ids[1] is None and ids[2] is None  # the changed chat, the taken slot
        got, want = await tables(batched), await tables(single)
        assert got == want
        assert len(got["outbox"]) == 2 + 2 + 1 + 2  # chats 1, 4, 6 (rich), 7
        assert [r[1] for r in got["digests"] if r[0] == 4] == [
            to_db(SLOT),
            to_db(SLOT + timedelta(seconds=1)),
        ]
    finally:
        await batched.close()
        await single.close()


async def test_a_batch_larger_than_one_statement(db):
    stamp = to_db(NOW)
    count = 700  # more than one statement's worth of plans
    await db.executemany(
        "INSERT INTO chats (id, type, timezone, created_at, updated_at, cursor_article_id)"
        " VALUES (?, 'private', 'UTC', ?, ?, 0)",
        [(n, stamp, stamp) for n in range(1, count + 1)],
    )
    many = [
        DigestPlan(chat_id=n, kind="scheduled", slot_at=SLOT, parts=(f"{n}",), article_count=1,
                   outcome="queued", expected_cursor=0, expected_updated_at=NOW, new_cursor=n)
        for n in range(1, count + 1)
    ]  # fmt: skip
    ids = await OutboxRepo(db).record_digests(many, NOW)
    assert len(set(ids)) == count and None not in ids
    rows = await db.fetchall(f"SELECT chat_id, {MESSAGE_TEXT} AS text FROM outbox ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [(n, f"{n}") for n in range(1, count + 1)]
    cursors = await db.fetchall("SELECT id, cursor_article_id FROM chats ORDER BY id")
    assert [tuple(r) for r in cursors] == [(n, n) for n in range(1, count + 1)]


async def add_chats(db, count: int) -> None:  # type: ignore[no-untyped-def]
    stamp = to_db(NOW)
    await db.executemany(
        "INSERT INTO chats (id, type, timezone, created_at, updated_at, cursor_article_id)"
        " VALUES (?, 'private', 'UTC', ?, ?, 0)",
        [(n, stamp, stamp) for n in range(1, count + 1)],
    )


def a_plan(chat_id: int, parts: tuple[str, ...], **kw: object) -> DigestPlan:
    base: dict[str, object] = dict(
        chat_id=chat_id, kind="scheduled", slot_at=SLOT, parts=parts, article_count=1,
        outcome="queued", expected_cursor=0, expected_updated_at=NOW, new_cursor=1,
    )  # fmt: skip
    return DigestPlan(**(base | kw))  # type: ignore[arg-type]


async def test_a_text_many_chats_get_is_stored_once_and_each_chat_sends_it(db):
    await add_chats(db, 5)
    repo = OutboxRepo(db)
    same = ("📰 the same digest", "its second part")

    plan = a_plan
    await repo.record_digests([plan(1, same), plan(2, same), plan(3, ("its own",))], NOW)
    # a later tick (its own batch, one by one too) finds the stored text and adds none
    await repo.record_digests([plan(4, same), plan(4, same, kind="manual")], NOW)
    await repo.record_digests([plan(5, same, rich="<b>rich</b>")], NOW)  # rich: its own text
    stored = await db.fetchall("SELECT text FROM outbox_texts ORDER BY text")
    assert sorted(r[0] for r in stored) == sorted([*same, "its own"])
    heads = await repo.due_heads(NOW, 100)
    assert {(m.chat_id, m.part, m.text) for m in heads} == {
        (1, 0, same[0]), (2, 0, same[0]), (3, 0, "its own"), (4, 0, same[0]), (5, 0, "<b>rich</b>"),
    }  # fmt: skip
    for message in heads:  # each chat's next part comes after its first is sent
        await repo.mark_sent(message.id, 1000 + message.id, NOW)
    seconds = await repo.due_heads(NOW, 100)
    assert {(m.chat_id, m.text) for m in seconds} == {(1, same[1]), (2, same[1]), (4, same[1])}


async def test_purge_deletes_old_finished_messages_and_their_texts_and_keeps_pending_ones(db):
    await add_chats(db, 4)
    repo = OutboxRepo(db)
    old = NOW - timedelta(days=400)

    plan = a_plan
    # chats 1-3 a year ago (1 and 2 the same text), chat 4 today with chat 3's text
    await repo.record_digests([plan(1, ("shared",)), plan(2, ("shared",)), plan(3, ("own",))], old)
    await repo.record_digests([plan(4, ("own",))], NOW)
    ids = {r[1]: r[0] for r in await db.fetchall("SELECT id, chat_id FROM outbox")}
    await repo.mark_sent(ids[1], 501, old)
    await repo.fail(ids[3], "chat not found")
    await repo.mark_sent(ids[4], 504, NOW)  # sent today: kept, and so is its text

    assert await repo.purge_finished(NOW - timedelta(days=365)) == (2, 0)
    left = await db.fetchall(f"SELECT chat_id, status, {MESSAGE_TEXT} FROM outbox ORDER BY chat_id")
    assert [tuple(r) for r in left] == [(2, "pending", "shared"), (4, "sent", "own")]
    await repo.mark_sent(ids[2], 502, NOW)
    assert await repo.purge_finished(NOW + timedelta(days=1)) == (2, 2)
    assert await db.fetchval("SELECT COUNT(*) FROM outbox_texts") == 0
