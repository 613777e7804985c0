"""The storage port's promises, through the `Storage` bundle, on both engines (the `db` fixture).

What any implementation of storage/port.py must keep: times go in and come out aware (any zone
in, UTC out, a naive time refused), each article and each scheduled digest is stored once,
a due feed and an outbox message are claimed by one owner at a time, a sent mark is final, and
a broken rule of the data surfaces as the project's ConflictError — never a driver's exception.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain import MAX_RULES, ArticleDraft, Claim, DigestPlan, NewArticle, PollSuccess
from storage.errors import (
    ChatNotFoundError,
    ConflictError,
    FeedExistsError,
    StorageError,
    TooManyRulesError,
)
from storage.port import Storage
from storage.stores import stores_over

NOW = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))
LEASE = timedelta(minutes=5)


@pytest.fixture
def storage(db) -> Storage:
    return stores_over(db)


def draft(key: str, *, published_at: datetime = NOW, url: str | None = None) -> ArticleDraft:
    return ArticleDraft(
        key=key,
        url=url or f"https://agency.example/{key}",
        title=f"Title {key}",
        summary="Summary",
        lead="Lead",
        image_url=None,
        source="Agency",
        published_at=published_at,
    )


async def store(storage: Storage, feed_id: int, *drafts: ArticleDraft) -> list[int]:
    return await storage.articles.store_poll(
        feed_id,
        [NewArticle(d, topics=("politics",)) for d in drafts],
        now=NOW,
        backfill=False,
        success=PollSuccess(now=NOW, next_poll_at=NOW + timedelta(minutes=10)),
        known_count=0,
    )


async def subscribe(storage: Storage, chat_id: int = 1):
    return await storage.chats.ensure(
        chat_id, type="private", title=None, username=None, language="en", timezone="UTC", now=NOW
    )


def plan(chat, *, kind: str = "scheduled", parts: tuple[str, ...] = ("one", "two")) -> DigestPlan:
    return DigestPlan(
        chat_id=chat.id,
        kind=kind,
        slot_at=NOW,
        parts=parts,
        article_count=len(parts),
        outcome="queued",
        expected_cursor=chat.cursor_article_id,
        expected_updated_at=chat.updated_at,
        new_cursor=None,
    )


def assert_utc(value: datetime | None) -> None:
    assert value is not None and value.utcoffset() == timedelta(0), value


# -- times


async def test_times_go_in_in_any_zone_and_come_out_as_the_same_instant_in_utc(storage):
    feed = await storage.feeds.add("https://agency.example/rss", now=NOW.astimezone(MOSCOW))
    assert feed.created_at == NOW
    assert_utc(feed.created_at)
    assert_utc(feed.next_poll_at)
    [article_id] = await store(storage, feed.id, draft("a", published_at=NOW.astimezone(MOSCOW)))
    article = await storage.articles.get(article_id)
    assert article is not None and article.published_at == NOW
    assert_utc(article.published_at)
    assert_utc(article.fetched_at)
    chat = await subscribe(storage)
    assert_utc(chat.created_at)
    assert_utc(chat.updated_at)


async def test_a_naive_time_is_refused(storage):
    with pytest.raises(ValueError, match="naive"):
        await storage.feeds.add("https://agency.example/rss", now=NOW.replace(tzinfo=None))
    assert await storage.feeds.count() == 0


# -- feeds


async def test_a_feed_url_is_stored_once_and_a_second_add_is_a_conflict(storage):
    await storage.feeds.add("https://agency.example/rss", now=NOW)
    with pytest.raises(FeedExistsError) as caught:
        await storage.feeds.add("https://agency.example/rss", now=NOW)
    assert isinstance(caught.value, ConflictError)
    assert await storage.feeds.count() == 1


async def test_two_adds_of_one_url_at_once_store_it_once_and_the_loser_gets_feed_exists(storage):
    """Both ask "is it there?" before either inserts: the unique index decides, and its
    violation leaves storage as FeedExistsError, not as the driver's integrity error."""
    url = "https://agency.example/rss"
    results = await asyncio.gather(
        *(storage.feeds.add(url, now=NOW) for _ in range(4)), return_exceptions=True
    )
    stored = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(stored) == 1
    assert refused and all(isinstance(e, FeedExistsError) for e in refused), refused
    assert await storage.feeds.count() == 1


async def test_a_due_feed_is_claimed_once_until_its_lease_ends(storage):
    first = await storage.feeds.add("https://one.example/rss", now=NOW)
    second = await storage.feeds.add("https://two.example/rss", now=NOW)
    await storage.feeds.add("https://later.example/rss", now=NOW, first_poll_at=NOW + LEASE * 3)
    assert [f.id for f in await storage.feeds.claim_due(NOW, LEASE)] == [first.id, second.id]
    assert await storage.feeds.claim_due(NOW + LEASE / 2, LEASE) == []
    back = await storage.feeds.claim_due(NOW + LEASE, LEASE)  # the claimer died mid-poll
    assert [f.id for f in back] == [first.id, second.id]


# -- articles


async def test_an_entry_key_is_stored_once_whatever_the_polls_repeat(storage):
    feed = await storage.feeds.add("https://agency.example/rss", now=NOW)
    ids = await store(storage, feed.id, draft("a"), draft("b"))
    assert len(ids) == 2
    assert await storage.feeds.get(feed.id) is not None
    assert await storage.articles.known_keys(feed.id, ["a", "b", "c"]) == {"a", "b"}
    assert await store(storage, feed.id, draft("a"), draft("b")) == []
    assert await storage.articles.count() == 2


async def test_the_same_story_from_a_second_feed_is_not_stored_again(storage):
    one = await storage.feeds.add("https://one.example/rss", now=NOW)
    two = await storage.feeds.add("https://two.example/rss", now=NOW)
    url = "https://agency.example/story"
    assert len(await store(storage, one.id, draft("a", url=url))) == 1
    assert await store(storage, two.id, draft("other-key", url=url)) == []
    assert await storage.articles.count() == 1
    assert await storage.articles.known_keys(two.id, ["other-key"]) == {"other-key"}


# -- chats


async def test_changing_a_chat_that_is_not_subscribed_is_chat_not_found(storage):
    with pytest.raises(ChatNotFoundError) as caught:
        await storage.chats.set_topics(404, ["politics"], NOW)
    assert isinstance(caught.value, StorageError)
    chat = await subscribe(storage)
    changed = await storage.chats.set_topics(chat.id, ["politics"], NOW + timedelta(minutes=1))
    assert changed.topics == ("politics",)
    assert changed.updated_at > chat.updated_at  # the planner's guard moved


# -- outbox


async def test_a_plan_is_recorded_once_and_a_stale_plan_not_at_all(storage):
    chat = await subscribe(storage)
    [digest_id] = await storage.outbox.record_digests([plan(chat)], NOW)
    assert digest_id
    assert await storage.outbox.record_digests([plan(chat)], NOW) == [None]  # cursor unchanged,
    # but the scheduled slot is taken; and a plan made before the chat changed is dropped:
    stale = await subscribe(storage, 2)
    await storage.chats.set_topics(stale.id, ["politics"], NOW + timedelta(minutes=1))
    assert await storage.outbox.record_digests([plan(stale)], NOW) == [None]
    assert (await storage.outbox.counts()).get("pending") == 2


async def test_an_outbox_message_is_claimed_by_one_owner_and_marked_sent_once(storage):
    chat = await subscribe(storage)
    await storage.outbox.record_digests([plan(chat)], NOW)
    until = NOW + LEASE
    [head] = await storage.outbox.claim_heads(NOW, 10, owner="w1", until=until)
    assert head.text == "one" and head.part == 0
    assert_utc(head.not_before)
    assert await storage.outbox.claim_heads(NOW, 10, owner="w2", until=until) == []
    assert await storage.outbox.claim(head.id, "w2", NOW, until) is None
    assert await storage.outbox.claim(head.id, "w1", NOW, until) is not None
    await storage.outbox.mark_sent(head.id, 1001, NOW)
    # sent is final: nobody claims it again, not even after the lease; the next part is the head
    assert await storage.outbox.claim(head.id, "w2", until, until + LEASE) is None
    [second] = await storage.outbox.due_heads(until, 10)
    assert second.part == 1
    assert await storage.outbox.counts() == {"sent": 1, "pending": 1, "failed": 0, "cancelled": 0}


async def test_the_next_due_time_is_aware(storage):
    chat = await subscribe(storage)
    assert await storage.outbox.next_due_at() is None
    await storage.outbox.record_digests([plan(chat)], NOW)
    due = await storage.outbox.next_due_at()
    assert due == NOW
    assert_utc(due)


# -- conflicts the data's rules raise


async def test_a_broken_rule_of_the_data_is_a_conflict_error_from_every_store(storage):
    with pytest.raises(ConflictError):
        await storage.rules.add(404, "war", "{}", by=None, now=NOW)
    with pytest.raises(ConflictError):
        await storage.routing.set_route(404, "politics", 7, by=None, now=NOW)
    await storage.access.create_invite("CODE", max_uses=1, by=1, now=NOW)
    with pytest.raises(ConflictError):  # a duplicate key: the unique index, through the port
        await storage.access.create_invite("CODE", max_uses=1, by=1, now=NOW)


async def test_a_chat_has_at_most_max_rules_and_the_limit_is_a_conflict(storage):
    chat = await subscribe(storage)
    for n in range(MAX_RULES):
        await storage.rules.add(chat.id, f"rule {n}", "{}", by=None, now=NOW)
    with pytest.raises(TooManyRulesError) as caught:
        await storage.rules.add(chat.id, "one more", "{}", by=None, now=NOW)
    assert isinstance(caught.value, ConflictError)
    assert await storage.rules.count(chat.id) == MAX_RULES


async def test_no_driver_exception_leaves_the_facade_on_a_unique_violation(db):
    """The engine level under every store: the driver's integrity error is the cause, the
    project's ConflictError is what callers see."""
    await db.execute(
        "INSERT INTO feeds (url, created_at) VALUES (?, ?)", ("https://x.example/", "2025-06-01")
    )
    with pytest.raises(ConflictError) as caught:
        await db.execute(
            "INSERT INTO feeds (url, created_at) VALUES (?, ?)", ("https://x.example/", "2025")
        )
    driver = caught.value.__cause__
    assert driver is not None and not isinstance(driver, StorageError)
    if db.dialect == "sqlite":
        assert isinstance(driver, sqlite3.IntegrityError)
    else:
        assert type(driver).__module__.startswith("asyncpg")
    with pytest.raises(ConflictError):  # inside a transaction too
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO feeds (url, created_at) VALUES (?, ?)", ("https://x.example/", "2")
            )
    assert await db.fetchval("SELECT COUNT(*) FROM feeds") == 1


# -- shared small ledgers


async def test_a_webhook_update_is_mine_once_then_busy_then_done(storage):
    assert await storage.updates.claim(1, 100, now=NOW) is Claim.MINE
    assert await storage.updates.claim(1, 100, now=NOW) is Claim.BUSY
    await storage.updates.done(1, 100, now=NOW)
    assert await storage.updates.claim(1, 100, now=NOW + timedelta(minutes=10)) is Claim.DONE


async def test_an_alert_is_sent_once_per_quiet_period(storage):
    quiet = timedelta(hours=6)
    assert await storage.alerts.claim("feed:1", "down", now=NOW, quiet=quiet)
    assert not await storage.alerts.claim("feed:1", "down", now=NOW + quiet / 2, quiet=quiet)
    assert await storage.alerts.claim("feed:1", "down", now=NOW + quiet, quiet=quiet)


async def test_monitoring_sees_the_oldest_pending_message_as_an_aware_time(storage):
    await storage.feeds.add("https://agency.example/rss", now=NOW)
    chat = await subscribe(storage)
    await storage.outbox.record_digests([plan(chat)], NOW)
    snapshot = await storage.monitoring.snapshot()
    assert (snapshot.active_feeds, snapshot.pending) == (1, 2)
    assert snapshot.oldest_pending_at == NOW
    assert_utc(snapshot.oldest_pending_at)
