"""ChatRepo against a real SQLite file: creation cursor, filters, schedule, status, migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.chats import ChatRepo
from storage.db import Database
from storage.errors import ChatNotFoundError
from storage.timefmt import to_db

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


async def add_article(db: Database, n: int) -> int:
    return await db.insert(
        "INSERT INTO articles (key, url, title, source, published_at, fetched_at)"
        " VALUES (?, ?, ?, 'BelTA', ?, ?)",
        (f"k{n}", f"https://example.org/{n}", f"title {n}", to_db(NOW), to_db(NOW)),
    )


async def new_chat(repo: ChatRepo, chat_id: int = 42, **kw) -> object:
    args = dict(
        type="private", title=None, username="ann", language="ru", timezone="Europe/Moscow", now=NOW
    )
    args.update(kw)
    return await repo.ensure(chat_id, **args)


async def test_ensure_creates_with_cursor_at_newest_article(db):
    for n in range(3):
        last = await add_article(db, n)
    repo = ChatRepo(db)
    chat = await new_chat(repo)
    assert chat.cursor_article_id == last
    assert chat.status == "active" and chat.mode == "daily" and chat.times == ("09:00",)
    assert chat.topics == () and chat.countries == () and not chat.onboarded
    assert chat.last_slot_at == NOW and chat.created_at == NOW


async def test_ensure_existing_updates_only_title_and_username(db):
    repo = ChatRepo(db)
    await new_chat(repo, -100, type="group", title="Old", username=None, added_by=7)
    await repo.set_topics(-100, ["un"], NOW)
    await add_article(db, 1)
    chat = await new_chat(
        repo,
        -100,
        type="group",
        title="New",
        username="grp",
        language="en",
        timezone="Asia/Dushanbe",
    )
    assert (chat.title, chat.username) == ("New", "grp")
    assert chat.language == "ru" and chat.timezone == "Europe/Moscow"
    assert chat.topics == ("un",) and chat.cursor_article_id == 0 and chat.added_by == 7


async def test_topics_and_countries_toggle_and_set(db):
    repo = ChatRepo(db)
    await new_chat(repo)
    later = NOW + timedelta(minutes=1)
    chat = await repo.toggle_topic(42, "un", later)
    chat = await repo.toggle_topic(42, "cis", later)
    assert chat.topics == ("un", "cis") and chat.updated_at == later
    chat = await repo.toggle_topic(42, "un", later)
    assert chat.topics == ("cis",)
    chat = await repo.set_topics(42, ["osce", "un", "osce"], later)
    assert chat.topics == ("osce", "un")
    chat = await repo.set_countries(42, ["TJ", "by"], later)
    assert chat.countries == ("tj", "by")
    chat = await repo.toggle_country(42, "BY", later)
    assert chat.countries == ("tj",)


@pytest.mark.parametrize(
    ("mode", "times", "weekday", "expected_times", "expected_weekday"),
    [
        ("daily", ["08:30"], None, ("08:30",), None),
        ("times", ["18:00", "08:00", "12:00"], None, ("08:00", "12:00", "18:00"), None),
        ("weekly", ["09:00"], 0, ("09:00",), 0),
        ("instant", [], None, ("09:00",), None),
        ("daily", ["07:00"], 3, ("07:00",), None),
    ],
)
async def test_set_schedule(db, mode, times, weekday, expected_times, expected_weekday):
    repo = ChatRepo(db)
    await new_chat(repo)
    later = NOW + timedelta(hours=3)
    chat = await repo.set_schedule(42, mode=mode, times=times, weekday=weekday, now=later)
    assert (chat.mode, chat.times, chat.weekday) == (mode, expected_times, expected_weekday)
    assert chat.last_slot_at == later


@pytest.mark.parametrize(
    ("mode", "times", "weekday"),
    [
        ("hourly", ["09:00"], None),
        ("daily", ["9:00"], None),
        ("daily", ["24:00"], None),
        ("daily", ["09:00", "10:00"], None),
        ("times", [], None),
        ("weekly", ["09:00"], None),
        ("weekly", ["09:00"], 7),
    ],
)
async def test_set_schedule_rejects(db, mode, times, weekday):
    repo = ChatRepo(db)
    await new_chat(repo)
    with pytest.raises(ValueError):
        await repo.set_schedule(42, mode=mode, times=times, weekday=weekday, now=NOW)


async def test_status_reactivate_keeps_settings(db):
    repo = ChatRepo(db)
    await new_chat(repo)
    await repo.set_topics(42, ["un"], NOW)
    await repo.set_status(42, "blocked", NOW)
    assert (await repo.reactivate(42, NOW)).status == "active"
    await repo.set_status(42, "paused", NOW)
    chat = await repo.reactivate(42, NOW)  # paused is the user's choice: stays paused
    assert chat.status == "paused" and chat.topics == ("un",)
    assert await repo.reactivate(999, NOW) is None
    with pytest.raises(ValueError):
        await repo.set_status(42, "gone", NOW)


async def test_timezone_language_onboarded(db):
    repo = ChatRepo(db)
    await new_chat(repo)
    later = NOW + timedelta(hours=1)
    chat = await repo.set_timezone(42, "UTC+05:00", later)
    assert chat.timezone == "UTC+05:00" and chat.last_slot_at == later
    assert (await repo.set_language(42, "en", later)).language == "en"
    assert (await repo.mark_onboarded(42, later)).onboarded


async def test_missing_chat_raises(db):
    repo = ChatRepo(db)
    assert await repo.get(1) is None
    with pytest.raises(ChatNotFoundError):
        await repo.set_topics(1, ["un"], NOW)
    with pytest.raises(ChatNotFoundError):
        await repo.toggle_topic(1, "un", NOW)


async def test_delete_cascades(db):
    repo = ChatRepo(db)
    await new_chat(repo)
    digest_id = await db.insert(
        "INSERT INTO digests (chat_id, slot_at, kind, created_at) VALUES (42, ?, 'manual', ?)",
        (to_db(NOW), to_db(NOW)),
    )
    await db.execute(
        "INSERT INTO outbox (chat_id, digest_id, text, not_before, created_at)"
        " VALUES (42, ?, 'x', ?, ?)",
        (digest_id, to_db(NOW), to_db(NOW)),
    )
    assert await repo.delete(42)
    assert not await repo.delete(42)
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM digests") == 0


async def test_migrate_moves_subscription_and_rows(db):
    repo = ChatRepo(db)
    await new_chat(repo, -5, type="group", title="G")
    await repo.set_topics(-5, ["cis"], NOW)
    digest_id = await db.insert(
        "INSERT INTO digests (chat_id, slot_at, kind, created_at) VALUES (-5, ?, 'manual', ?)",
        (to_db(NOW), to_db(NOW)),
    )
    await db.execute(
        "INSERT INTO outbox (chat_id, digest_id, text, not_before, created_at)"
        " VALUES (-5, ?, 'x', ?, ?)",
        (digest_id, to_db(NOW), to_db(NOW)),
    )
    await new_chat(repo, -1005, type="supergroup", title="fresh")  # already seen under new id
    await repo.migrate(-5, -1005)
    assert await repo.get(-5) is None
    chat = await repo.get(-1005)
    assert chat.topics == ("cis",) and chat.type == "supergroup" and chat.title == "G"
    assert await db.fetchval("SELECT chat_id FROM outbox") == -1005
    assert await db.fetchval("SELECT chat_id FROM digests") == -1005
    await repo.migrate(-5, -2000)  # old id gone: nothing to do
    assert await repo.get(-2000) is None


async def test_list_and_counts(db):
    repo = ChatRepo(db)
    for chat_id in (1, 2, 3):
        await new_chat(repo, chat_id)
    await repo.set_status(2, "paused", NOW)
    await repo.set_status(3, "blocked", NOW)
    assert [c.id for c in await repo.list()] == [1, 2, 3]
    assert [c.id for c in await repo.list(status="paused")] == [2]
    assert await repo.counts() == {"active": 1, "paused": 1, "blocked": 1, "total": 3}
