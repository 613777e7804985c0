"""Admin end to end: another chat's keyword rules from the admin's private chat — /chatrule with
its archive test, Save / Cancel, /chatrules with delete, the audit log, and refusals."""

from __future__ import annotations

import json

import pytest

from bot.understand.searchterms import index_terms
from storage.timefmt import to_db
from tests.support.adminharness import ADMIN, USER, running_admin_bot
from tests.support.botharness import NOW

GROUP = -1000000001500


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def store(env, title: str, countries=()) -> None:
    article_id = await env.db.insert(
        "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at,"
        " countries) VALUES (?, ?, ?, '', 'Kabar', ?, ?, ?)",
        (title, f"https://kabar.example/{len(title)}", title, to_db(NOW), to_db(NOW),
         json.dumps(list(countries))),
    )  # fmt: skip
    terms = index_terms(env.classifier.tokenize(title, ""))
    await env.db.execute(
        "INSERT INTO article_search (rowid, terms) VALUES (?, ?)", (article_id, terms)
    )


async def rules_of(env, chat_id: int) -> list[str]:
    rows = await env.db.fetchall(
        "SELECT text FROM chat_rules WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [r[0] for r in rows]


async def test_admin_adds_tests_and_deletes_a_groups_rule(env):
    await env.admin(f"/subscribe {GROUP}")
    await store(env, "Sanctions on Kyrgyz banks", countries=("kg",))
    await store(env, "Sanctions on Uzbek banks", countries=("uz",))
    (offer,) = await env.admin(f"/chatrule {GROUP} sanctions bank @kg")
    assert str(GROUP) in offer["text"] and "last 7 days: 1" in offer["text"]
    assert "Sanctions on Kyrgyz banks" in offer["text"] and "Uzbek" not in offer["text"]
    await env.click(ADMIN, "Save")
    assert "Rule saved" in env.screen(ADMIN)["text"]
    assert await rules_of(env, GROUP) == ["sanctions bank @kg"]
    assert await rules_of(env, ADMIN) == []  # the group's rule, not the admin's
    actions = [r[0] for r in await env.db.fetchall("SELECT action FROM audit_log")]
    assert "chat.rule_add" in actions

    await env.admin(f"/chatrule {GROUP} embargo")
    await env.click(ADMIN, "Cancel")
    assert await rules_of(env, GROUP) == ["sanctions bank @kg"]

    (listing,) = await env.admin(f"/chatrules {GROUP}")
    assert "1. sanctions bank @kg" in listing["text"]
    await env.click(ADMIN, "1.")
    assert await rules_of(env, GROUP) == []
    assert "No rules yet" in env.screen(ADMIN)["text"]
    actions = [r[0] for r in await env.db.fetchall("SELECT action FROM audit_log")]
    assert "chat.rule_delete" in actions


async def test_admin_rule_refusals(env):
    (usage,) = await env.admin("/chatrule")
    assert "Usage" in usage["text"]
    (unknown,) = await env.admin("/chatrule -42 sanctions")
    assert "not subscribed" in unknown["text"]
    await env.admin(f"/subscribe {GROUP}")
    (bad,) = await env.admin(f'/chatrule {GROUP} "sanctions')
    assert "quote is not closed" in bad["text"]
    (usage,) = await env.admin("/chatrules")
    assert "Usage" in usage["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0


async def test_non_admin_cannot_use_chatrule(env):
    await env.admin(f"/subscribe {GROUP}")
    (refused,) = await env.send(USER, f"/chatrule {GROUP} sanctions", lang="en")
    assert "sanctions" not in refused["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0
    await env.admin(f"/chatrule {GROUP} sanctions")
    message_id, _ = env.server.last_message(ADMIN)
    (data,) = [d for text, d in env.server.buttons(ADMIN, message_id) if "Save" in text]
    answer = await env.press(USER, 1, data)  # the same button data from someone else's chat
    assert answer.get("show_alert") is True
    assert await rules_of(env, GROUP) == []
