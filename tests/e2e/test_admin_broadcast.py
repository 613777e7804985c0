"""/broadcast end to end through the outbox and the real delivery engine, with 429 and 403."""

from __future__ import annotations

import pytest

from tests.support.adminharness import ADMIN, running_admin_bot
from tests.support.botharness import NOW

USERS = (3001, 3002, 3003, 3004)
TEXT = "Maintenance &lt;tonight&gt; &amp; more"


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        for user in USERS:
            await env.chats.ensure(user, type="private", title=None, username=None, language="en",
                                   timezone="UTC", now=NOW)  # fmt: skip
        await env.chats.set_status(USERS[3], "paused", NOW)
        env.sender.start()
        yield env


async def test_broadcast_preview_confirm_progress_and_tally(env):
    env.server.fail_next("sendMessage", "429", chat_id=USERS[1], retry_after=1)
    env.server.blocked.add(USERS[2])
    # An unknown typed tag is text, not markup (Telegram's own tags typed by hand are markup).
    preview, confirm = await env.admin("/broadcast Maintenance <tonight> & more")
    assert preview["text"] == TEXT
    assert "to 3 active subscribers" in confirm["text"]
    assert env.server.sent(USERS[0]) == []
    await env.click(ADMIN, "Send to 3")
    await env.eventually(lambda: "finished" in env.screen(ADMIN)["text"], timeout=10)
    assert "2 delivered, 1 failed (of 3)" in env.screen(ADMIN)["text"]
    for user in USERS[:2]:
        (msg,) = env.server.sent(user)
        assert msg["text"] == TEXT
    assert len(env.server.calls("sendMessage", USERS[1])) == 2  # 429 first, then sent
    assert env.server.sent(USERS[2]) == [] and env.server.sent(USERS[3]) == []
    assert (await env.chats.get(USERS[2])).status == "blocked"
    (entry,) = [e for e in await env.audit.recent() if e.action == "broadcast"]
    assert entry.details.startswith("3 chats")


async def test_broadcast_cancel_and_stale_buttons(env):
    await env.admin("/broadcast hello")
    message_id, _ = env.server.last_message(ADMIN)
    data = env.server.buttons(ADMIN, message_id)[0][1]
    await env.click(ADMIN, "Cancel")
    assert env.screen(ADMIN)["text"] == "Broadcast cancelled."
    answer = await env.press(ADMIN, message_id, data, lang="en")
    assert answer["show_alert"] and "already" in answer["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM outbox") == 0


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("<b>Важно</b>: A & B", "<b>Важно</b>: A &amp; B"),
        ('<a href="https://mfa.tj/x?a=1">МИД</a> <i>сегодня</i>',
         '<a href="https://mfa.tj/x?a=1">МИД</a> <i>сегодня</i>'),
        ("<script>x</script> <b>ok</b>", "&lt;script&gt;x&lt;/script&gt; <b>ok</b>"),
        ('<a href="javascript:alert(1)">x</a>', "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x</a>"),
    ],
)  # fmt: skip
async def test_broadcast_accepts_typed_telegram_tags_only(env, typed, sent):
    preview, *rest = await env.admin(f"/broadcast {typed}")
    if sent.endswith("x</a>"):  # a stray closing tag: Telegram refuses it, the admin is told
        assert "not valid Telegram HTML" in preview["text"] and rest == []
        return
    assert preview["text"] == sent


async def test_broadcast_usage(env):
    (usage,) = await env.admin("/broadcast")
    assert "Usage" in usage["text"]
