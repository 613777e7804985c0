"""A feed's name is the feed's to choose (its <title>) or an admin's (a custom title): on every
screen that shows it — /sources (both forms), the admin's /feeds, /addfeed, /delfeed, rename,
/stats, the feed buttons' answers, and digests (the story's source and the "также: …" list) —
the fake Bot API must accept the HTML, and what the user sees is the name, character for character.
"""

from __future__ import annotations

import json

import pytest

from bot.delivery.sender import Sender
from bot.digests.planner import DigestService
from bot.digests.render import Labels
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.e2e.test_e2e_reading import subscribe_to_un
from tests.support.adminharness import ADMIN, running_admin_bot
from tests.support.botharness import NOW, running_bot
from tests.support.fakebotapi_objects import visible_text
from tests.support.feedgen import Item, rss

NAME = "A & B <i>"  # unescaped, "&" and an unclosed <i> are refused by Telegram's HTML parser
OTHER = "C&D <b>x</b> &amp;"  # already looks like HTML: must still be shown as typed
# A feed's own <title> is read as HTML (its tags dropped); these characters stay in the name.
FEED_TITLE = 'A & B < C > "D"'
USER = 3003


def assert_all_accepted(server) -> None:
    """Every request the bot made was answered 200: no text was refused as bad HTML."""
    refused = [(r.method, r.status) for r in server.requests if r.ok is not None and not r.ok]
    assert refused == []


def shown(message: dict) -> str:
    return visible_text(message["text"])


# --- subscriber screens ------------------------------------------------------------------------


def services(db, classifier, clock) -> dict:
    def labels_for(lang: str) -> Labels:
        return Labels(
            lang, {i.slug: i.name_ru if lang == "ru" else i.name_en for i in classifier.topics}
        )

    return {"digests": DigestService(stores_over(db), labels_for=labels_for, clock=clock)}


async def story(env, source: str, cluster: int | None, url: str) -> int:
    article_id = await env.db.insert(
        "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at, backfill,"
        " topics, countries, cluster_id) VALUES (?, ?, 'Генассамблея ООН приняла резолюцию',"
        " 'Резолюция.', ?, ?, ?, 0, ?, '[]', ?)",
        (url, url, source, to_db(NOW), to_db(NOW), json.dumps(["un"]), cluster),
    )  # fmt: skip
    if cluster is None:
        await env.db.execute("UPDATE articles SET cluster_id = id WHERE id = ?", (article_id,))
    return article_id


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path, services) as env:
        first = await env.feeds.add("https://khovar.tj/rss", now=NOW)
        await env.db.execute("UPDATE feeds SET title = ? WHERE id = ?", (NAME, first.id))
        await env.feeds.add("https://mfa.tj/rss", now=NOW, title=OTHER)
        yield env


async def test_sources_before_subscribing_shows_the_names(env):
    (reply,) = await env.send(USER, "/sources")
    assert_all_accepted(env.server)
    text = shown(reply)
    assert f"• {NAME}" in text and f"• {OTHER}" in text


async def test_sources_with_mute_buttons_shows_the_names_before_and_after_a_tap(env):
    await subscribe_to_un(env, USER)
    (reply,) = await env.send(USER, "/sources")
    assert f"• {NAME}" in shown(reply) and f"• {OTHER}" in shown(reply)
    message_id, _ = env.server.last_message(USER)
    labels = [text for text, _ in env.server.buttons(USER, message_id)]
    assert f"🔊 {NAME}" in labels and f"🔊 {OTHER}" in labels  # button texts are plain text
    await env.tap(USER, NAME)
    assert f"🔇 {NAME}" in shown(env.screen(USER))  # the edited screen
    assert f"• {OTHER}" in shown(env.screen(USER))
    assert_all_accepted(env.server)


async def test_digest_shows_the_source_and_the_also_list_as_typed(env):
    await subscribe_to_un(env, USER)
    first = await story(env, NAME, None, "https://khovar.tj/1")
    await story(env, OTHER, first, "https://mfa.tj/1")
    before = len(env.server.sent(USER))
    assert await env.send(USER, "/digest") == []  # queued; the sender delivers it
    sender = Sender(env.bot, stores_over(env.db), rate=0)
    await sender.drain(timeout=10)
    (digest,) = env.server.sent(USER)[before:]
    assert_all_accepted(env.server)
    text = shown(digest)
    assert NAME in text
    assert f"также: {OTHER}" in text


async def test_latest_shows_the_source_and_the_also_list_as_typed(env):
    await subscribe_to_un(env, USER)
    first = await story(env, NAME, None, "https://khovar.tj/1")
    await story(env, OTHER, first, "https://mfa.tj/1")
    (part,) = await env.send(USER, "/latest")
    assert_all_accepted(env.server)
    assert NAME in shown(part) and f"также: {OTHER}" in shown(part)


# --- admin screens -----------------------------------------------------------------------------


@pytest.fixture
async def admin(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def test_addfeed_shows_the_feeds_own_title_and_then_that_it_exists(admin, feed_server):
    items = [Item("Story", "https://khovar.tj/1", guid="1")]
    feed_server.add("/rss", rss(items, title=FEED_TITLE))
    (added,) = await admin.admin(f"/addfeed {feed_server.url('/rss')}")
    assert f"Added {FEED_TITLE} (#" in shown(added)
    (feed,) = await admin.feeds.list()
    await admin.feeds.rename(feed.id, OTHER)
    (again,) = await admin.admin(f"/addfeed {feed_server.url('/rss')}")
    assert OTHER in shown(again) and "already" in shown(again)
    assert_all_accepted(admin.server)


async def test_addfeed_with_a_custom_title(admin, feed_server):
    feed_server.add("/rss", rss([Item("Story", "https://khovar.tj/1", guid="1")]))
    (added,) = await admin.admin(f"/addfeed {feed_server.url('/rss')} {NAME}")
    assert f"Added {NAME} (#" in shown(added)
    assert_all_accepted(admin.server)


async def test_feeds_list_buttons_and_rename_show_the_names(admin):
    feed = await admin.feeds.add("https://khovar.tj/rss", now=NOW)
    await admin.db.execute("UPDATE feeds SET title = ? WHERE id = ?", (NAME, feed.id))
    await admin.feeds.add("https://mfa.tj/rss", now=NOW, title=OTHER)
    (listed,) = await admin.admin("/feeds")
    assert NAME in shown(listed) and OTHER in shown(listed)
    # pause: the answer is a plain-text toast, the list is edited again
    answer = await admin.click(ADMIN, "#1 ")
    assert answer["text"] == f"Paused: {NAME}"
    assert NAME in shown(admin.screen(ADMIN))
    await admin.click(ADMIN, "Rename")
    _, ask = admin.server.last_message(ADMIN)
    assert f"new title for {NAME}" in shown(ask)
    (renamed,) = await admin.admin(OTHER)
    assert shown(renamed) == f"Renamed: {OTHER}"
    assert_all_accepted(admin.server)


async def test_delfeed_confirmation_and_answer_show_the_name(admin):
    feed = await admin.feeds.add("https://khovar.tj/rss", now=NOW, title=NAME)
    (confirm,) = await admin.admin(f"/delfeed {feed.id}")
    assert f"Remove {NAME}?" in shown(confirm)
    answer = await admin.click(ADMIN, "Yes, remove")
    assert answer["text"].startswith(f"Removed {NAME}.")
    assert_all_accepted(admin.server)


async def test_stats_lists_sources_by_name(admin):
    for n in range(2):
        await admin.db.execute(
            "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at,"
            " backfill, topics, countries) VALUES (?, ?, 'T', '', ?, ?, ?, 0, '[]', '[]')",
            (f"k{n}", f"https://x.tj/{n}", [NAME, OTHER][n], to_db(NOW), to_db(NOW)),
        )  # fmt: skip
    replies = await admin.admin("/stats")
    text = shown(replies[0])
    assert f"{NAME}: 1" in text and f"{OTHER}: 1" in text
    assert_all_accepted(admin.server)
