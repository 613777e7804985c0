"""What monitoring reads at each scrape, on both engines: feeds to poll, the outbox backlog and
its oldest row; a database that does not answer is DatabaseUnavailable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import DigestPlan, Snapshot
from storage.chats import ChatRepo
from storage.errors import DatabaseUnavailable
from storage.feeds import FeedRepo
from storage.monitoring import MonitoringRepo
from storage.outbox import OutboxRepo

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def queue(db, chat_id: int, parts: tuple[str, ...], at: datetime) -> None:
    chats = ChatRepo(db)
    await chats.ensure(chat_id, type="private", title=None, username=None, language="ru",
                       timezone="UTC", now=at)  # fmt: skip
    chat = await chats.get(chat_id)
    plan = DigestPlan(
        chat_id=chat_id, kind="manual", slot_at=at, parts=parts, article_count=len(parts),
        outcome="queued", expected_cursor=chat.cursor_article_id,
        expected_updated_at=chat.updated_at, new_cursor=None,
    )  # fmt: skip
    assert (await OutboxRepo(db).record_digests([plan], at))[0]


async def test_snapshot_counts_active_feeds_and_pending_messages(db):
    monitoring = MonitoringRepo(db)
    assert await monitoring.snapshot() == Snapshot(0, 0, None)
    feeds = FeedRepo(db)
    await feeds.add("https://example.org/a.xml", now=NOW)
    paused = await feeds.add("https://example.org/b.xml", now=NOW)
    await feeds.add("https://example.org/c.xml", now=NOW)
    await feeds.set_paused(paused.id, True, NOW)
    await queue(db, 1, ("one", "two"), NOW - timedelta(minutes=5))
    await queue(db, 2, ("three",), NOW)
    assert await monitoring.snapshot() == Snapshot(2, 3, NOW - timedelta(minutes=5))
    first = await db.fetchval("SELECT MIN(id) FROM outbox")
    await OutboxRepo(db).mark_sent(first, 100, NOW)
    await OutboxRepo(db).fail_chat(1, "blocked: test")
    assert await monitoring.snapshot() == Snapshot(2, 1, NOW)


async def test_a_closed_database_is_unavailable(db):
    await db.close()
    with pytest.raises(DatabaseUnavailable):
        await MonitoringRepo(db).snapshot()
