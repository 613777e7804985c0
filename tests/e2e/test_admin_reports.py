"""OPML import/export by file, /stats with its chart, and alerts (de-duplicated) end to end."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest

from bot.admin.alerts import Alerts
from bot.app.runner import alert_sender
from storage.alertlog import AlertLog
from storage.stats import StatsRepo
from storage.timefmt import to_db
from tests.support.adminharness import ADMIN, running_admin_bot
from tests.support.botharness import NOW
from tests.support.feedgen import Item, rss


@pytest.fixture
async def env(tmp_path):
    async with running_admin_bot(tmp_path) as env:
        yield env


async def upload(env, name, data):
    before = len(env.server.sent(ADMIN))
    await env.push(env.server.push_document(ADMIN, ADMIN, name, data))
    return env.server.sent(ADMIN)[before:]


async def test_opml_import_reports_progress_and_failures(env, feed_server):
    feed_server.add("/a", rss([Item("x", "https://a/1", guid="1")], title="A"))
    feed_server.add("/b", rss([Item("y", "https://b/1", guid="1")], title="B"))
    await env.feeds.add(feed_server.url("/b"), now=NOW)
    opml = f"""<?xml version="1.0"?><opml version="2.0"><body><outline text="News">
      <outline text="Агентство А" xmlUrl="{feed_server.url("/a")}"/>
      <outline text="B" xmlUrl="{feed_server.url("/b")}"/>
      <outline text="gone" xmlUrl="{feed_server.url("/missing")}"/>
      <outline text="local" xmlUrl="file:///etc/passwd"/></outline></body></opml>""".encode()
    (status,) = await upload(env, "subs.opml", opml)
    assert "Importing 2 feeds" in status["text"]
    final = env.server.message(ADMIN, env.server.last_message(ADMIN)[0])["text"]
    assert "1 added, 1 already present, 2 not added" in final
    assert "HTTP 404" in final and "file:///etc/passwd" in final
    added = await env.feeds.get_by_url(feed_server.url("/a"))
    assert added is not None and added.custom_title == "Агентство А"
    assert [e.action for e in await env.audit.recent()] == ["feed.import"]


async def test_opml_import_refuses_in_the_words_of_addfeed(env, feed_server):
    """One use case behind both: each refusal reads the same in the import's report."""
    feed_server.add("/json", b'{"a": 1}', content_type="application/json")
    urls = [
        f"http://127.0.0.2:{feed_server.port}/rss",  # loopback, but not the one address allowed
        "http://10.0.0.5/rss",
        feed_server.url("/json"),
        feed_server.url("/missing"),
    ]
    said = {}
    for url in urls:
        (msg,) = await env.admin(f"/addfeed {url}")
        assert msg["text"].startswith("❌ Not added: "), msg["text"]
        said[url] = html.unescape(msg["text"]).removeprefix("❌ Not added: ")
    # the kind in the admin's words, the one-line reason (the CLI's too) in brackets
    assert said[urls[0]] == "the address is private or local (refused: 127.0.0.2 is a loopback address)"
    assert "(not a feed: " in said[urls[2]], said[urls[2]]
    outlines = "".join(f'<outline text="f{i}" xmlUrl="{url}"/>' for i, url in enumerate(urls))
    await upload(env, "subs.opml", f"<opml><body>{outlines}</body></opml>".encode())
    final = html.unescape(env.server.message(ADMIN, env.server.last_message(ADMIN)[0])["text"])
    assert "0 added, 0 already present, 4 not added" in final
    lines = [line for line in final.splitlines() if line.startswith("• ")]
    assert sorted(lines) == sorted(f"• {url}: {said[url]}" for url in urls)  # checked at once
    assert await env.feeds.list() == []


async def test_opml_counts_a_redirect_to_a_known_feed_as_present(env, feed_server):
    feed_server.add("/b", rss([Item("y", "https://b/1", guid="1")], title="B"))
    feed_server.redirect("/old-b", "/b")
    await env.feeds.add(feed_server.url("/b"), now=NOW)
    opml = f'<opml><body><outline text="B" xmlUrl="{feed_server.url("/old-b")}"/></body></opml>'
    await upload(env, "subs.opml", opml.encode())
    final = env.server.message(ADMIN, env.server.last_message(ADMIN)[0])["text"]
    assert "0 added, 1 already present, 0 not added" in final
    assert len(await env.feeds.list()) == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<opml><body><outline xmlUrl='http://a/'></body>", "not well-formed"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><opml/>', "DOCTYPE"),
        (b"<html><body>hi</body></html>", "not an OPML"),
    ],
)
async def test_broken_opml_files(env, data, reason):
    (msg,) = await upload(env, "broken.xml", data)
    assert "cannot be imported" in msg["text"] and reason in msg["text"]
    assert await env.feeds.list() == []


async def test_opml_file_too_large_by_its_declared_size(env):
    await env.push(
        env.server.push_document(ADMIN, ADMIN, "big.opml", b"<opml/>", size=50 * 1024 * 1024)
    )
    (msg,) = env.server.sent(ADMIN)
    assert "too large" in msg["text"]


async def test_exportopml_sends_a_document(env):
    await env.feeds.add("https://khovar.tj/rss", now=NOW, title="Ховар")
    (doc,) = await env.admin("/exportopml")
    assert doc["document"].startswith("attach://") and doc["caption"] == "1 sources"
    assert "<file diplodigest.opml>" in doc.values()


async def test_stats_text_and_chart(env):
    await env.chats.ensure(5, type="private", title=None, username=None, language="ru",
                           timezone="UTC", now=NOW)  # fmt: skip
    feed = await env.feeds.add("https://khovar.tj/rss", now=NOW, title="Khovar")
    rows = [
        (feed.id, f"k{i}", "t", "Khovar", to_db(NOW - timedelta(days=i % 5)), to_db(NOW),
         json.dumps(["cis"] if i % 2 else ["un", "cis"]))
        for i in range(30)
    ]  # fmt: skip
    await env.db.executemany(
        "INSERT INTO articles (feed_id, key, title, source, published_at, fetched_at, topics)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    text, photo = await env.admin("/stats")
    assert "Subscribers: 1 active, 0 paused, 0 blocked" in text["text"]
    assert "ru: daily 1" in text["text"] and "Articles, last 14 days: 30" in text["text"]
    assert "Khovar: 30" in text["text"]
    assert "<file stats.png>" in photo.values()
    assert "🟦 CIS" in photo["caption"] and "🟥 United Nations" in photo["caption"]


async def test_alerts_deduplicated(env):
    silent = await env.feeds.add(
        "https://khovar.tj/rss", now=NOW - timedelta(days=30), title="Khovar"
    )
    dead = await env.feeds.add("https://dead.example/rss", now=NOW, title="Dead")
    await env.db.execute(
        "UPDATE feeds SET last_success_at = ? WHERE id = ?", (to_db(NOW), silent.id)
    )
    await env.db.execute(
        "UPDATE feeds SET active = 0, last_error = 'HTTP 410 Gone' WHERE id = ?", (dead.id,)
    )
    rows = [(silent.id, f"k{i}", "t", "Khovar", to_db(NOW - timedelta(hours=20 + i * 0.6)), to_db(NOW))
            for i in range(300)]  # fmt: skip
    await env.db.executemany(
        "INSERT INTO articles (feed_id, key, title, source, published_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    alerts = Alerts(send_text=alert_sender(env.bot), feeds=env.feeds, stats=StatsRepo(env.db), log_repo=AlertLog(env.db),
                    admin_ids={ADMIN}, admin_chat_id=None, clock=lambda: env.clock_value[0],
                    language="en", failure_threshold=1)  # fmt: skip
    sent = await alerts.check()
    assert sorted(a.key for a in sent) == sorted(
        [f"feed:{dead.id}:inactive", f"feed:{silent.id}:silent"]
    )
    texts = [m["text"] for m in env.server.sent(ADMIN)]
    assert any("Khovar: nothing for 20 h" in x for x in texts)
    assert any("Dead — HTTP 410 Gone" in x for x in texts)
    assert await alerts.check() == []  # de-duplicated
    env.clock_value[0] = NOW + timedelta(hours=25)
    assert {a.key for a in await alerts.check()} >= {f"feed:{dead.id}:inactive"}
    await env.chats.ensure(9, type="private", title=None, username=None, language="ru",
                           timezone="UTC", now=NOW)  # fmt: skip
    await env.db.execute(
        "INSERT INTO outbox (chat_id, part, text, status, not_before, created_at)"
        " VALUES (9, 0, 'x', 'failed', ?, ?)",
        (to_db(env.clock_value[0]), to_db(env.clock_value[0])),
    )
    assert [a.key for a in await alerts.check()] == ["delivery:failed"]


async def test_stats_rate_over_the_archive_age_broadcasts_once_no_empty_line(env):
    feed = await env.feeds.add("https://kabar.kg/rss", now=NOW - timedelta(days=2), title="Kabar")
    rows = [
        (feed.id, f"b{i}", "t", "Kabar", to_db(NOW - timedelta(days=i % 3)), to_db(NOW), "[]")
        for i in range(30)
    ]
    await env.db.executemany(
        "INSERT INTO articles (feed_id, key, title, source, published_at, fetched_at, topics)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    for chat_id in (11, 12, 13):
        await env.chats.ensure(chat_id, type="private", title=None, username=None,
                               language="ru", timezone="UTC", now=NOW)  # fmt: skip
    await env.db.execute(
        "INSERT INTO broadcasts (text, created_by, created_at, recipients) VALUES ('hi', ?, ?, 3)",
        (ADMIN, to_db(NOW)),
    )
    for chat_id in (11, 12, 13):  # one digests row per recipient: still one broadcast
        await env.db.execute(
            "INSERT INTO digests (chat_id, slot_at, kind, article_count, created_at)"
            " VALUES (?, ?, 'broadcast', 0, ?)",
            (chat_id, to_db(NOW), to_db(NOW)),
        )
    await env.chats.set_status(11, "paused", NOW)
    await env.chats.set_status(12, "paused", NOW)
    await env.chats.set_status(13, "paused", NOW)  # no active chat: no breakdown figure
    text, *_ = await env.admin("/stats")
    body = text["text"]
    assert "Articles, last 14 days: 30 (10/day)" in body  # 3 days of archive, not 14
    assert "broadcasts: 1" in body
    assert "\n\n" not in body.split("<b>Articles per source")[0].strip()


async def test_an_admin_who_blocked_the_bot_does_not_silence_the_others(env):
    blocked = ADMIN - 1  # sorted first: its refusal comes before the other admin's alert
    env.server.fail_next("sendMessage", "403", chat_id=blocked)
    alerts = Alerts(send_text=alert_sender(env.bot), feeds=env.feeds, stats=StatsRepo(env.db),
                    log_repo=AlertLog(env.db), admin_ids={blocked, ADMIN}, admin_chat_id=None,
                    clock=lambda: env.clock_value[0], language="en")  # fmt: skip
    await alerts.notify("admin.alert_db_write_ok")
    refused = [r for r in env.server.requests if r.method == "sendMessage" and not r.ok]
    assert [r.params["chat_id"] for r in refused] == [blocked]
    assert [m["text"] for m in env.server.sent(ADMIN)][-1].startswith("✅ The database records")
