"""Hostile stored data against Telegram's limits: feeds with 5,000-character titles, many feeds,
long chat titles, ban reasons, audit details and article titles. Every message each screen
sends stays within 4096 UTF-16 units, and nothing is silently lost: every item appears across
the parts or is counted in a "+N more" line. Titles are capped when stored and by migration."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from bot.digests.render import TELEGRAM_LIMIT, pack, telegram_length
from bot.domain import FEED_TITLE_LIMIT, cap_title
from storage.db import Database
from storage.feeds import FeedRepo
from storage.timefmt import to_db
from tests.e2e.test_e2e_reading import USER, add_article, services
from tests.ingest.test_ingest import Env
from tests.support.adminharness import ADMIN, running_admin_bot
from tests.support.botharness import NOW, running_bot
from tests.support.feedgen import Item, rss
from tests.support.legacy_schema import build_legacy, legacy_scripts

HUGE = "Ж" * 4990 + " 🇷🇺 end"  # Cyrillic and a flag: UTF-16 units differ from characters


def assert_fits(messages: list[dict]) -> None:
    assert messages, "nothing was sent"
    for m in messages:
        text = m.get("text") or m.get("caption") or ""
        assert telegram_length(text) <= TELEGRAM_LIMIT, f"{telegram_length(text)} units"


def test_cap_title_cuts_with_an_ellipsis_and_keeps_short_titles():
    assert cap_title("BelTA") == "BelTA" and cap_title(None) is None
    capped = cap_title(HUGE)
    assert capped is not None and len(capped) == FEED_TITLE_LIMIT and capped.endswith("…")
    assert cap_title("x" * FEED_TITLE_LIMIT) == "x" * FEED_TITLE_LIMIT


def test_pack_never_loses_a_block_and_cuts_one_that_cannot_fit_alone():
    blocks = [f"• feed {i} " + "ю" * 150 for i in range(200)] + ["<b>" + "щ" * 5000 + "</b>"]
    parts = pack(blocks, "<b>Sources</b>", sep="\n")
    assert all(telegram_length(p) <= TELEGRAM_LIMIT and len(p) <= TELEGRAM_LIMIT for p in parts)
    joined = "\n".join(parts)
    assert all(f"• feed {i} " in joined for i in range(200))
    assert parts[-1].endswith("…")  # the oversized block: cut, not dropped, not fatal


async def test_feed_titles_are_capped_on_add_rename_and_poll(tmp_path, feed_server, classifier):
    env = await Env(tmp_path / "ingest.sqlite3", classifier).open()
    try:
        feed_server.add("/rss", rss([Item("Story", "https://a.example/1", guid="1",
                                          published=NOW)], title=HUGE))  # fmt: skip
        feed = await env.feeds.add(feed_server.url("/rss"), now=NOW)
        await env.poll(feed.url)
        stored = await env.feeds.get(feed.id)
        assert stored.title == cap_title(HUGE)
        (source,) = await env.db.fetchall("SELECT source FROM articles")
        assert source[0] == cap_title(HUGE)  # the name articles carry is the capped one
        await env.feeds.rename(feed.id, HUGE)
        assert (await env.feeds.get(feed.id)).custom_title == cap_title(HUGE)
        other = await env.feeds.add("https://b.example/rss", now=NOW, title=HUGE)
        assert other.custom_title == cap_title(HUGE)
    finally:
        await env.close()


@pytest.fixture(scope="module")
def classifier():
    from bot.understand.classify import Classifier

    return Classifier.load()


async def test_migration_caps_titles_stored_before_the_cap(tmp_path):
    path = tmp_path / "old.sqlite3"
    number = next(n for n, name, _ in legacy_scripts() if name.endswith("_feed_titles.sql"))
    build_legacy(path, upto=number - 1)  # the schema as the release before the cap left it
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO feeds (url, title, custom_title, created_at, next_poll_at)"
            " VALUES ('https://a/', ?, ?, ?, ?), ('https://b/', 'Short', NULL, ?, ?)",
            (HUGE, HUGE, to_db(NOW), to_db(NOW), to_db(NOW), to_db(NOW)),
        )
        conn.execute(
            "INSERT INTO articles (key, title, source, published_at, fetched_at)"
            " VALUES ('k', 't', ?, ?, ?)",
            (HUGE, to_db(NOW), to_db(NOW)),
        )
    async with Database(path) as db:
        feeds = {f.url: f for f in await FeedRepo(db).list()}
        assert feeds["https://a/"].title == feeds["https://a/"].custom_title
        assert len(feeds["https://a/"].title) == FEED_TITLE_LIMIT
        assert feeds["https://a/"].title.endswith("…") and feeds["https://b/"].title == "Short"
        assert len(await db.fetchval("SELECT source FROM articles")) == FEED_TITLE_LIMIT


async def insert_hostile_feeds(db, n: int) -> list[str]:
    """`n` feeds written straight into the table (as before the cap): every third one huge."""
    names = []
    for i in range(n):
        title = f"feed{i:03d} " + (HUGE if i % 3 == 0 else "Агентство")
        await db.execute(
            "INSERT INTO feeds (url, title, created_at, next_poll_at, last_error, error_count)"
            " VALUES (?, ?, ?, ?, ?, 3)",
            (f"https://f{i}.example/rss", title, to_db(NOW), to_db(NOW), "E" * 3000),
        )
        names.append(f"feed{i:03d} ")
    return names


async def test_sources_with_huge_titles_and_many_feeds(tmp_path):
    async with running_bot(tmp_path, services) as env:
        names = await insert_hostile_feeds(env.db, 150)
        sent = await env.send(USER, "/sources")
        assert_fits(sent)
        joined = "\n".join(m["text"] for m in sent)
        assert all(name in joined for name in names) and len(sent) > 1


async def test_search_and_latest_with_huge_article_titles(tmp_path):
    async with running_bot(tmp_path, services) as env:
        await env.send(USER, "/start")
        await env.tap(USER, "ООН")
        await env.tap(USER, "Готово")
        await env.tap(USER, "Оставить так")
        for i in range(10):
            await add_article(
                env, f"Совбез ООН {i} " + "ъ" * (4000 + i), "Заседание " * 500, ("un",)
            )
        for command in ("/search Совбез", "/latest"):
            sent = await env.send(USER, command)
            assert_fits(sent)
            joined = "\n".join(m["text"] for m in sent)
            assert all(f"Совбез ООН {i} " in joined for i in range(10)), command


@pytest.fixture
async def admin_env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def test_feeds_pages_with_huge_titles_and_errors(admin_env):
    names = await insert_hostile_feeds(admin_env.db, 12)
    seen = ""
    sent = await admin_env.admin("/feeds")
    assert_fits(sent)
    seen += sent[0]["text"]
    while any(
        "▶️" in label
        for label, _ in admin_env.server.buttons(ADMIN, admin_env.server.last_message(ADMIN)[0])
    ):
        await admin_env.click(ADMIN, "▶️")
        screen = admin_env.screen(ADMIN)
        assert_fits([screen])
        seen += screen["text"]
    assert [n for n in names if n not in seen] == []


async def test_chats_bans_audit_and_stats_with_hostile_data(admin_env):
    db = admin_env.db
    for i in range(25):
        await admin_env.chats.ensure(-1000 - i, type="group", title=f"chat{i:02d} " + "Ы" * 120,
                                     username=None, language="en", timezone="UTC", now=NOW)  # fmt: skip
    for i in range(60):
        await admin_env.access.ban(5000 + i, by=ADMIN, reason="R" * 3000, now=NOW)
    for _ in range(20):
        await admin_env.audit.record(ADMIN, "feed.rename", now=NOW, target="https://x/" + "u" * 3000,
                                     details=HUGE)  # fmt: skip
    rows = [
        (f"k{i}", "t", f"source{i:02d} " + HUGE, to_db(NOW - timedelta(hours=1)), to_db(NOW),
         json.dumps(["un"]))
        for i in range(20)
    ]  # fmt: skip
    await db.executemany(
        "INSERT INTO articles (key, title, source, published_at, fetched_at, topics)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    chats = await admin_env.admin("/chats")
    assert_fits(chats)
    bans = await admin_env.admin("/bans")
    assert_fits(bans)
    joined = "\n".join(m["text"] for m in bans)
    assert all(str(5000 + i) in joined for i in range(50)) and "and 10 more" in joined
    audit = await admin_env.admin("/audit")
    assert_fits(audit)
    assert audit[0]["text"].count("feed.rename") == 15
    stats = await admin_env.admin("/stats")
    assert_fits(stats)
    assert "source00" in stats[0]["text"]
