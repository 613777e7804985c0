"""Admin sources end to end: /addfeed (good, bad, HTML with and without a feed link, huge body,
private address), /feeds health and buttons, /delfeed, rename; a forged admin button refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.timefmt import to_db
from tests.support.adminharness import ADMIN, USER, running_admin_bot
from tests.support.botharness import NOW
from tests.support.feedgen import Item, rss

FEED = rss(
    [
        Item("Older story", "https://khovar.tj/1", guid="1", published=NOW - timedelta(days=2)),
        Item("Newest story", "https://khovar.tj/2", guid="2", published=NOW - timedelta(hours=1)),
    ],
    title="Khovar",
)


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def test_addfeed_checks_and_adds(env, feed_server):
    feed_server.add("/rss", FEED)
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/rss')}")
    assert "Added <b>Khovar</b>" in msg["text"] and "2 entries" in msg["text"]
    assert "Newest story" in msg["text"]
    (feed,) = await env.feeds.list()
    assert feed.url == feed_server.url("/rss")
    (again,) = await env.admin(f"/addfeed {feed_server.url('/rss')} My title")
    assert "already a source" in again["text"]
    entries = await env.audit.recent()
    assert [(e.actor_id, e.action) for e in entries] == [(ADMIN, "feed.add")]


async def test_addfeed_keeps_a_custom_title(env, feed_server):
    feed_server.add("/rss", FEED)
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/rss')} Ховар (рус)")
    assert "Ховар (рус)" in msg["text"]
    assert (await env.feeds.list())[0].custom_title == "Ховар (рус)"


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("", "Usage"),
        ("not a url", "not an absolute http(s) URL"),
        ("file:///etc/passwd", "unsupported scheme &#x27;file&#x27;"),
        ("http://10.0.0.5/rss", "private address"),
        ("http://[::1]:8080/rss", "loopback address"),
    ],
)
async def test_addfeed_bad_arguments(env, arg, reason):
    (msg,) = await env.admin(f"/addfeed {arg}".strip())
    assert reason in msg["text"]
    assert await env.feeds.list() == []


async def test_addfeed_refuses_a_huge_body(env, feed_server):
    feed_server.add("/big", b"<rss>" + b" " * (50 * 1024 * 1024))
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/big')}")
    assert "Not added: the feed is too large (body larger than 10 MiB)" in msg["text"]


async def test_addfeed_not_a_feed_and_broken_feed(env, feed_server):
    feed_server.add("/json", b'{"a": 1}', content_type="application/json")
    feed_server.add("/404", b"", status=404)
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/json')}")
    assert "Not added" in msg["text"]
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/404')}")
    assert "HTTP 404 Not Found" in msg["text"]


async def test_html_page_offers_its_feed_by_button(env, feed_server):
    feed_server.add_fixture("/news", "html_page.html")
    feed_server.add("/rss/politics", FEED)
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/news')}")
    assert "web page, not a feed" in msg["text"]
    answer = await env.click(ADMIN, "➕")
    assert "show_alert" not in answer or not answer["show_alert"]
    assert "Added <b>Khovar</b>" in env.screen(ADMIN)["text"]
    assert [f.url for f in await env.feeds.list()] == [feed_server.url("/rss/politics")]


async def test_html_page_without_feed_link(env, feed_server):
    feed_server.add("/page", b"<!doctype html><html><head><title>x</title></head><body>hi</body></html>",
                    content_type="text/html; charset=utf-8")  # fmt: skip
    (msg,) = await env.admin(f"/addfeed {feed_server.url('/page')}")
    assert "links to no feed" in msg["text"]


async def test_feeds_shows_health_and_buttons_work(env):
    feed = await env.feeds.add(
        "https://khovar.tj/rss", now=NOW - timedelta(days=30), title="Khovar"
    )
    await env.db.execute(
        "UPDATE feeds SET last_success_at = ?, error_count = 2, last_error = 'HTTP 502 Bad Gateway'",
        (to_db(NOW - timedelta(minutes=5)),),
    )
    rows = [
        (feed.id, f"k{d}-{i}", "t", "Khovar", to_db(NOW - timedelta(hours=18 + d * 24 + i * 0.3)), to_db(NOW))
        for d in range(8) for i in range(40)
    ]  # fmt: skip
    await env.db.executemany(
        "INSERT INTO articles (feed_id, key, title, source, published_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    (msg,) = await env.admin("/feeds")
    assert "Khovar: nothing for 18 h, usually 40/day" in msg["text"]
    assert "errors in a row: 2 — HTTP 502 Bad Gateway" in msg["text"]
    await env.click(ADMIN, "Pause")
    assert (await env.feeds.get(feed.id)).paused
    assert "Resume" in str(env.screen(ADMIN)["reply_markup"])
    await env.click(ADMIN, "Resume")
    assert not (await env.feeds.get(feed.id)).paused
    await env.click(ADMIN, "Rename")
    (ask,) = await env.admin("Ховар")
    assert "Renamed: Ховар" in ask["text"]
    assert (await env.feeds.get(feed.id)).custom_title == "Ховар"
    await env.admin("/feeds")
    await env.click(ADMIN, "Remove")
    assert "stored articles stay" in env.screen(ADMIN)["text"]
    await env.click(ADMIN, "Cancel")
    assert await env.feeds.get(feed.id) is not None
    await env.click(ADMIN, "Remove")
    await env.click(ADMIN, "Yes, remove")
    assert await env.feeds.get(feed.id) is None
    assert await env.db.fetchval("SELECT COUNT(*) FROM articles") == 320  # articles stay
    actions = [e.action for e in await env.audit.recent()]
    assert actions == ["feed.remove", "feed.rename", "feed.resume", "feed.pause"]


async def test_poll_now_answers_in_the_admins_language(env, feed_server):
    feed_server.add("/rss", FEED)
    feed = await env.feeds.add(feed_server.url("/rss"), now=NOW, title="Khovar")
    await env.admin("/feeds")
    answer = await env.click(ADMIN, "Poll")
    assert answer["text"] == "Polled Khovar: 2 new entries (0 known)"
    answer = await env.click(ADMIN, "🔄", lang="ru")
    assert answer["text"] == "Опрошен Khovar: лента не менялась с прошлого опроса"
    feed_server.add("/rss", FEED.replace(b"<title>Khovar</title>", b"<title>Khovar TJ</title>"))
    answer = await env.click(ADMIN, "🔄", lang="ru")
    assert answer["text"] == "Опрошен Khovar: нового нет (2 известные записи)"
    feed_server.add("/rss", b"<html>gone</html>", content_type="text/html")
    answer = await env.click(ADMIN, "🔄", lang="ru")
    assert answer["text"].startswith("Опрошен Khovar: ошибка: это не лента RSS или Atom ("), answer
    assert (await env.feeds.get(feed.id)).error_count == 1


async def test_delfeed_asks_first(env):
    feed = await env.feeds.add("https://belta.by/rss", now=NOW)
    (usage,) = await env.admin("/delfeed")
    assert "Usage" in usage["text"]
    (missing,) = await env.admin("/delfeed 999")
    assert "no longer exists" in missing["text"]
    (ask,) = await env.admin(f"/delfeed {feed.id}")
    assert "Remove" in ask["text"]
    await env.click(ADMIN, "Yes, remove")
    assert await env.feeds.list() == []


async def test_forged_admin_button_refused(env):
    feed = await env.feeds.add("https://belta.by/rss", now=NOW)
    await env.send(USER, "hello", lang="en")
    answer = await env.press(USER, 1, f"af:y:{feed.id}:0", lang="en")
    assert answer["show_alert"] and "administrators" in answer["text"]
    assert await env.feeds.get(feed.id) is not None


async def test_admin_commands_in_a_group_answer_privately_only(env):
    (msg,) = await env.send(-500, "/stats", user_id=ADMIN, chat_type="group", lang="en")
    assert "private chat" in msg["text"]
