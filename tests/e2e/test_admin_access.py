"""Access end to end: approval and invite flows, bans (commands refused, nothing sent), /audit;
every admin command and button of the registry refused and audited for non-admins."""

from __future__ import annotations

import pytest

from handlers.admin.callbacks import ADMIN_PREFIXES
from handlers.common.commands import ADMIN_COMMANDS
from tests.support.adminharness import ADMIN, USER, running_admin_bot

OTHER = 3003
REFUSED = "Sorry, this command is for the administrators of this bot."


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def test_open_mode_lets_anyone_start(env):
    (welcome, *_) = await env.send(USER, "/start", lang="en")
    assert "Hello" in welcome["text"]


async def test_approval_flow_approve_then_onboarding(env):
    (msg,) = await env.admin("/access approval")
    assert "approval" in msg["text"] and await env.access.mode() == "approval"
    (pending,) = await env.send(USER, "/start", lang="en")
    assert "sent to the administrators" in pending["text"]
    assert await env.chats.get(USER) is None
    (request,) = env.server.sent(ADMIN)[-1:]
    assert str(USER) in request["text"]
    (again,) = await env.send(USER, "/start", lang="en")
    assert "waiting" in again["text"]
    await env.click(ADMIN, "Одобрить")
    (told,) = env.server.sent(USER)[-1:]
    assert "approved" in told["text"]
    assert "approved by" in env.screen(ADMIN)["text"]
    (welcome, *_) = await env.send(USER, "/start", lang="en")
    assert "Hello" in welcome["text"]
    assert await env.chats.get(USER) is not None
    answer = await env.press(ADMIN, env.server.last_message(ADMIN)[0], f"aq:1:{USER}")
    actions = [e.action for e in await env.audit.recent()]
    assert actions[:2] == ["access.approved", "access.mode"]
    assert answer["show_alert"] and "уже принято" in answer["text"]  # a second press is stale


async def test_approval_flow_reject(env):
    await env.access.set_mode("approval")
    await env.send(USER, "/start", lang="en")
    await env.click(ADMIN, "Отклонить")
    (told,) = env.server.sent(USER)[-1:]
    assert "declined" in told["text"]
    (pending,) = await env.send(USER, "/start", lang="en")  # may ask again
    assert "sent to the administrators" in pending["text"]


async def test_requests_go_to_admin_chat_when_set(tmp_path):
    async with running_admin_bot(tmp_path, admin_chat_id=-777) as env:
        await env.access.set_mode("approval")
        await env.send(USER, "/start", lang="en")
        (request,) = env.server.sent(-777)
        assert str(USER) in request["text"]
        (listed,) = await env.admin("/requests")
        assert str(USER) in listed["text"]


async def test_invite_flow_one_time_link(env):
    await env.admin("/access invite")
    (link,) = await env.admin("/invite")
    code = link["text"].rsplit("start=", 1)[1]
    assert "diplodigest_test_bot" in link["text"]
    (needed,) = await env.send(OTHER, "/start", lang="en")
    assert "invitation" in needed["text"]
    (welcome, *_) = await env.send(USER, f"/start {code}", lang="en")
    assert "Hello" in welcome["text"]
    assert await env.chats.get(USER) is not None
    (used,) = await env.send(OTHER, f"/start {code}", lang="en")
    assert "not valid any more" in used["text"]
    (bad,) = await env.admin("/invite 0")
    assert "Usage" in bad["text"]


async def test_limited_invite_and_existing_subscribers_keep_access(env):
    await env.send(OTHER, "/start", lang="en")  # subscribed while open
    await env.admin("/access invite")
    (link,) = await env.admin("/invite 2")
    code = link["text"].rsplit("start=", 1)[1]
    (back, *_) = await env.send(OTHER, "/start", lang="en")
    assert "Hello" in back["text"]  # not refused: subscribed before the mode changed
    for user in (USER, 4004):
        (welcome, *_) = await env.send(user, f"/start {code}", lang="en")
        assert "Hello" in welcome["text"]
    (full,) = await env.send(5005, f"/start {code}", lang="en")
    assert "not valid" in full["text"]


async def test_ban_refuses_commands_and_unban_restores(env):
    await env.send(USER, "/start", lang="en")
    (bad,) = await env.admin("/ban")
    assert "Usage" in bad["text"]
    (admin_ban,) = await env.admin(f"/ban {ADMIN}")
    assert "cannot be banned" in admin_ban["text"]
    (ok,) = await env.admin(f"/ban {USER} spam")
    assert "Banned" in ok["text"]
    assert (await env.chats.get(USER)).status == "paused"
    (refused,) = await env.send(USER, "/settings", lang="en")
    assert refused["text"] == "This bot is not available to you."
    assert await env.send(USER, "hello", lang="en") == []
    answer = await env.press(USER, 1, "st:tp", lang="en")
    assert answer["show_alert"]
    (listed,) = await env.admin("/bans")
    assert str(USER) in listed["text"] and "spam" in listed["text"]
    (unban,) = await env.admin(f"/unban {USER}")
    assert "Unbanned" in unban["text"]
    assert (await env.chats.get(USER)).status == "active"
    (not_banned,) = await env.admin(f"/unban {USER}")
    assert "was not banned" in not_banned["text"]


async def test_banned_group_is_refused(env):
    await env.admin("/ban -4242")
    (refused,) = await env.send(-4242, "/start", user_id=USER, chat_type="group", lang="en")
    assert "not available" in refused["text"]


async def test_audit_lists_actions_newest_first(env):
    (empty,) = await env.admin("/audit")
    assert "empty" in empty["text"]
    await env.admin("/access approval")
    await env.admin("/ban 99 flood")
    (log,) = await env.admin("/audit")
    lines = log["text"].splitlines()
    assert "<b>ban</b> 99 flood" in lines[1] and "<b>access.mode</b> approval" in lines[2]
    assert f"<code>{ADMIN}</code>" in lines[1]


async def test_access_usage(env):
    (now,) = await env.admin("/access")
    assert "open" in now["text"]
    (bad,) = await env.admin("/access closed")
    assert "Usage" in bad["text"]


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_every_admin_command_refused_for_non_admins(env, command):
    (msg,) = await env.send(USER, f"/{command} x", lang="en")
    assert msg["text"] == REFUSED
    (entry,) = await env.audit.recent()
    assert (entry.actor_id, entry.action, entry.details) == (USER, "denied", f"/{command}")


@pytest.mark.parametrize("prefix", ADMIN_PREFIXES)
async def test_every_admin_button_refused_for_non_admins(env, prefix):
    await env.send(USER, "hello", lang="en")
    data = f"{prefix}:1:1:1"  # well formed or not: no admin handler may see it
    answer = await env.press(USER, 1, data, lang="en")
    assert answer["show_alert"] and answer["text"] == REFUSED
    (entry,) = await env.audit.recent()
    assert (entry.actor_id, entry.action, entry.details) == (USER, "denied", data)


async def test_invites_are_listed_and_a_revoked_one_lets_nobody_in(env):
    await env.admin("/access invite")
    (link,) = await env.admin("/invite 3")
    assert "Invite for 3 uses:" in link["text"]
    code = link["text"].rsplit("start=", 1)[1]
    (welcome, *_) = await env.send(USER, f"/start {code}", lang="en")
    assert "Hello" in welcome["text"]
    (listed,) = await env.admin("/invites")
    assert f"<code>{code}</code> — used 1 of 3 times" in listed["text"]
    (unknown,) = await env.admin("/revokeinvite nosuchcode")
    assert "No invite" in unknown["text"]
    (usage,) = await env.admin("/revokeinvite")
    assert "Usage" in usage["text"]
    (revoked,) = await env.admin(f"/revokeinvite {code}")
    assert "Revoked" in revoked["text"]
    (none,) = await env.admin("/invites")
    assert none["text"] == "No invite can be used any more."
    (refused,) = await env.send(OTHER, f"/start {code}", lang="en")
    assert "not valid any more" in refused["text"]
    assert await env.chats.get(USER) is not None  # who joined with it stays
    actions = [e.action for e in await env.audit.recent()]
    assert actions[0] == "access.revoke" and "access.invite" in actions
