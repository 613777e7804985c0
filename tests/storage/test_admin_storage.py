"""Admin storage: access mode, invites, requests, bans, audit, alerts, drafts, routes, broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.access import AccessRepo
from storage.alertlog import AlertLog, DraftRepo
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepo
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.errors import ConflictError
from storage.outbox import MESSAGE_TEXT
from storage.routing import ChatRouting

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def _chat(db, chat_id, status="active"):
    chats = ChatRepo(db)
    await chats.ensure(chat_id, type="private" if chat_id > 0 else "supergroup", title=None,
                       username=None, language="ru", timezone="UTC", now=NOW)  # fmt: skip
    if status != "active":
        await chats.set_status(chat_id, status, NOW)


async def test_mode_defaults_open_and_validates(db):
    access = AccessRepo(db)
    assert await access.mode() == "open"
    await access.set_mode("approval")
    assert await access.mode() == "approval"
    with pytest.raises(ValueError):
        await access.set_mode("closed")


async def test_invite_is_limited_and_grants(db):
    access = AccessRepo(db)
    await access.create_invite("abc", max_uses=2, by=1, now=NOW)
    assert await access.redeem("abc", 10, NOW)
    assert await access.redeem("abc", 11, NOW)
    assert not await access.redeem("abc", 12, NOW)
    assert not await access.redeem("nope", 12, NOW)
    assert await access.is_granted(10) and not await access.is_granted(12)
    await access.create_invite("one", max_uses=1, by=1, now=NOW)
    assert await access.revoke_invite("one")
    assert not await access.redeem("one", 13, NOW)
    assert [i.code for i in await access.invites()] == []


async def test_requests_pending_once_then_decided(db):
    access = AccessRepo(db)
    assert await access.request(5, user_id=5, name="A", language="en", now=NOW)
    assert not await access.request(5, user_id=5, name="A", language="en", now=NOW)
    assert [r.chat_id for r in await access.pending_requests()] == [5]
    decided = await access.decide(5, approve=True, by=1, now=NOW)
    assert decided is not None and decided.status == "approved"
    assert await access.decide(5, approve=False, by=1, now=NOW) is None  # already decided
    assert await access.is_granted(5)
    assert await access.request(6, user_id=6, name=None, language="ru", now=NOW)
    rejected = await access.decide(6, approve=False, by=1, now=NOW)
    assert rejected.status == "rejected" and not await access.is_granted(6)


async def test_bans(db):
    access = AccessRepo(db)
    assert await access.ban(-100, by=1, reason="spam", now=NOW)
    assert not await access.ban(-100, by=1, reason="spam", now=NOW)
    assert await access.is_banned(5, -100)
    assert not await access.is_banned(5, None)
    assert await access.unban(-100, NOW) and not await access.unban(-100, NOW)


async def test_ban_pauses_a_subscribed_chat_and_unban_restores_it(db):
    access, chats = AccessRepo(db), ChatRepo(db)
    await _chat(db, 7)
    await _chat(db, 8, "paused")
    await access.ban(7, by=1, reason=None, now=NOW)
    await access.ban(8, by=1, reason=None, now=NOW)
    assert (await chats.get(7)).status == "paused"
    await access.unban(7, NOW)
    await access.unban(8, NOW)
    assert (await chats.get(7)).status == "active"
    assert (await chats.get(8)).status == "paused"  # its own pause is kept


async def test_audit_newest_first(db):
    audit = AuditLog(db)
    await audit.record(1, "feed.add", now=NOW, target="http://x/")
    await audit.record(2, "ban", now=NOW + timedelta(minutes=1), target=-5, details="spam")
    entries = await audit.recent(limit=10)
    assert [(e.actor_id, e.action, e.target) for e in entries] == [
        (2, "ban", "-5"),
        (1, "feed.add", "http://x/"),
    ]
    assert await audit.count() == 2


async def test_alert_claim_respects_quiet_period(db):
    alerts = AlertLog(db)
    quiet = timedelta(hours=6)
    assert await alerts.claim("feed:1:silent", "x", now=NOW, quiet=quiet)
    assert not await alerts.claim("feed:1:silent", "x", now=NOW + timedelta(hours=5), quiet=quiet)
    assert await alerts.claim("feed:1:silent", "x", now=NOW + timedelta(hours=6), quiet=quiet)


async def test_drafts_taken_once(db):
    drafts = DraftRepo(db)
    draft = await drafts.put("bc", "hello", by=1, now=NOW)
    assert await drafts.get(draft, "feed") is None
    assert await drafts.take(draft, "bc") == "hello"
    assert await drafts.take(draft, "bc") is None


async def test_routes_need_a_subscribed_chat(db):
    routing = ChatRouting(db)
    with pytest.raises(ConflictError):
        await routing.set_route(-1001, "cis", 7, by=1, now=NOW)
    await _chat(db, -1001)
    await routing.set_route(-1001, "cis", 7, by=1, now=NOW)
    await routing.set_route(-1001, "human_rights", 9, by=1, now=NOW)
    await routing.set_route(-1001, "cis", 8, by=1, now=NOW)
    assert await routing.routes(-1001) == {"cis": 8, "human_rights": 9}
    assert await routing.remove_route(-1001, "cis")
    await ChatRepo(db).migrate(-1001, -1002)
    assert await routing.routes(-1002) == {"human_rights": 9}


async def test_broadcast_enqueues_active_unbanned_chats(db):
    for chat_id, status in (
        (1, "active"),
        (2, "paused"),
        (3, "blocked"),
        (4, "active"),
        (5, "active"),
    ):
        await _chat(db, chat_id, status)
    await AccessRepo(db).ban(5, by=9, reason=None, now=NOW)
    repo = BroadcastRepo(db)
    first = await repo.enqueue("hi", by=9, now=NOW)
    second = await repo.enqueue("again", by=9, now=NOW)
    tally = await repo.tally(first)
    assert (tally.recipients, tally.pending, tally.done) == (2, 2, False)
    rows = await db.fetchall(f"SELECT chat_id, {MESSAGE_TEXT} AS text FROM outbox ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "hi"), (4, "hi"), (1, "again"), (4, "again")]
    await db.execute("UPDATE outbox SET status = 'sent'")
    assert (await repo.tally(second)).done


async def test_a_rule_needs_a_subscribed_chat(db):
    rules = RuleRepo(db)
    with pytest.raises(ConflictError) as caught:
        await rules.add(-1002, "war", "{}", by=1, now=NOW)
    assert "-1002" in str(caught.value)
    assert await rules.count(-1002) == 0  # nothing half-written
    await _chat(db, -1002)
    assert (await rules.add(-1002, "war", "{}", by=1, now=NOW)).text == "war"
