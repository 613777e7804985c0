"""The operator's command line, end to end: `python -m bot …` in a child process, the real
composition root, a real SQLite file, feeds from a FeedServer on 127.0.0.1 (the operator contract).
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from storage.audit import AuditLog
from storage.chats import ChatRepo
from storage.db import Database
from tests.support.cli_env import SAMPLES, CliEnv, cli, make_env, with_new_item
from tests.support.legacy_schema import build_legacy

KHOVAR = (SAMPLES / "khovar.xml").read_bytes()
SEED_TITLE = (
    "Представители внешнеполитических ведомств стран СНГ обсудили вопросы правозащитной "
    "проблематики"
)
SEED_COUNTRIES = {"tj", "az", "by", "kg", "ru", "tm", "uz"}
NEW_TITLE = "Министры иностранных дел СНГ обсудили права человека в ООН"


@pytest.fixture
def env(tmp_path, feed_server) -> CliEnv:
    feed_server.add("/khovar.xml", KHOVAR, etag='"v1"')
    feed_server.add(
        "/page.html",
        b"<html><body><p>no feed here</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    return make_env(
        tmp_path,
        [
            ("Ховар", feed_server.url("/khovar.xml")),
            ("Пропавшая", feed_server.url("/missing.xml")),
            ("Страница", feed_server.url("/page.html")),
        ],
    )


async def test_feeds_add_list_remove(tmp_path, feed_server):
    env = make_env(tmp_path)  # no default sources at all
    feed_server.add("/khovar.xml", KHOVAR)
    url = feed_server.url("/khovar.xml")

    empty = await cli(env, "feeds", "list")
    assert empty.code == 0 and empty.out.startswith("no feeds yet")

    added = await cli(env, "feeds", "add", url)
    assert added.code == 0, added.err
    assert url in added.out and "added" in added.out

    again = await cli(env, "feeds", "add", url)
    assert again.code == 1
    assert "already" in again.err and url in again.err
    assert feed_server.hits["/khovar.xml"] == 1  # a known URL is not fetched again

    for bad, why in [("file:///etc/passwd", "scheme"), ("not a url", "URL")]:
        refused = await cli(env, "feeds", "add", bad)
        assert refused.code == 2, (bad, refused)
        assert refused.err.startswith("error:") and why in refused.err
        assert "Traceback" not in refused.err

    listed = await cli(env, "feeds", "list")
    assert listed.code == 0
    assert len(listed.lines) == 1 and url in listed.out and "never" in listed.out

    missing = await cli(env, "feeds", "remove", feed_server.url("/other.xml"))
    assert missing.code == 1 and "no such feed" in missing.err


async def test_feeds_add_refuses_private_hosts_unless_allowed(tmp_path, feed_server):
    """FEEDS_ALLOW_PRIVATE=0: the CLI refuses what the poller would refuse, in one line, exit 2."""
    env = make_env(tmp_path).with_vars(FEEDS_ALLOW_PRIVATE="0")
    for url in [
        feed_server.url("/khovar.xml"),  # 127.0.0.1
        "http://localhost:8080/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/rss",
        "http://[::1]/rss",
    ]:
        refused = await cli(env, "feeds", "add", url)
        assert refused.code == 2, (url, refused)
        assert len(refused.err.splitlines()) == 1, refused.err
        assert refused.err.startswith("error: refused:") and "address" in refused.err, refused.err
    listed = await cli(env, "feeds", "list")
    assert listed.out.startswith("no feeds yet"), listed.out
    assert feed_server.requests == []  # refused before the probe fetched anything

    feed_server.add("/khovar.xml", KHOVAR)
    allowed = await cli(
        env.with_vars(FEEDS_ALLOW_PRIVATE="1"), "feeds", "add", feed_server.url("/khovar.xml")
    )
    assert allowed.code == 0, allowed.err


async def test_feeds_add_probes_and_prints_title_and_entry_count(tmp_path, feed_server):
    env = make_env(tmp_path)
    feed_server.add("/khovar.xml", KHOVAR)
    url = feed_server.url("/khovar.xml")
    added = await cli(env, "feeds", "add", url)
    assert added.code == 0, added.err
    assert added.lines[0].startswith(f"added #1 НИАТ «Ховар» <{url}>: 6 entries;"), added.out
    assert feed_server.hits["/khovar.xml"] == 1

    feed_server.add("/other.xml", KHOVAR)
    titled = await cli(env, "feeds", "add", feed_server.url("/other.xml"), "--title", "Ховар RU")
    assert titled.code == 0, titled.err
    assert "added #2 Ховар RU <" in titled.out and ": 6 entries;" in titled.out
    listed = (await cli(env, "feeds", "list")).out
    assert "Ховар RU" in listed and url in listed
    async with Database(env.db_path) as db:  # /audit shows what the operator added, as actor 0
        entries = await AuditLog(db).recent()
    assert [(e.actor_id, e.action, e.target, e.details) for e in entries] == [
        (0, "feed.add", feed_server.url("/other.xml"), "Ховар RU"), (0, "feed.add", url, None)
    ]  # fmt: skip


async def test_feeds_add_no_check_stores_without_a_fetch(tmp_path, feed_server):
    env = make_env(tmp_path)
    url = feed_server.url("/not-served-yet.xml")
    added = await cli(env, "feeds", "add", url, "--no-check", "--title", "Later")
    assert added.code == 0, added.err
    assert added.out.startswith(f"added #1 {url} without checking it"), added.out
    assert sum(feed_server.hits.values()) == 0 and feed_server.requests == []
    listed = await cli(env, "feeds", "list")
    assert len(listed.lines) == 1 and "Later" in listed.out and url in listed.out

    # --no-check skips the fetch, not the rules: the address policy still holds
    private = await cli(env.with_vars(FEEDS_ALLOW_PRIVATE="0"), "feeds", "add",
                        feed_server.url("/x.xml"), "--no-check")  # fmt: skip
    assert private.code == 2 and private.err.startswith("error: refused: 127.0.0.1 is a loopback")
    assert sum(feed_server.hits.values()) == 0


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/page.html", "got an HTML page, not a feed; the page links to no feed"),
        ("/data.json", "not a feed: not well-formed"),
        ("/empty.xml", "not a feed: empty body"),
        ("/missing.xml", "HTTP 404 Not Found (check the URL; --no-check stores it without"
                         " fetching)"),
    ],
)  # fmt: skip
async def test_feeds_add_refuses_what_is_not_a_feed(env, feed_server, path, reason):
    feed_server.add("/data.json", b'{"a": 1}', content_type="application/json")
    feed_server.add("/empty.xml", b"")
    url = feed_server.url(path)
    refused = await cli(env, "feeds", "add", url)
    assert refused.code == 2, refused
    assert len(refused.err.splitlines()) == 1 and "Traceback" not in refused.err
    assert refused.err.startswith("error: ") and reason in refused.err, refused.err
    assert refused.out == ""
    assert feed_server.hits[path] == 1
    assert (await cli(env, "feeds", "list")).out.startswith("no feeds yet")


async def test_feeds_add_offers_the_feeds_a_page_links_to(tmp_path, feed_server):
    env = make_env(tmp_path)
    feed_server.add_fixture("/news", "html_page.html")
    refused = await cli(env, "feeds", "add", feed_server.url("/news"))
    assert refused.code == 2
    assert refused.err.startswith("error: got an HTML page, not a feed; add one the page links"
                                  f" to: {feed_server.url('/rss/politics')}"), refused.err  # fmt: skip
    assert (await cli(env, "feeds", "list")).out.startswith("no feeds yet")


async def test_loopback_refusal_is_worded_as_addfeed_words_it(tmp_path, feed_server):
    """FEEDS_ALLOW_PRIVATE=0: the CLI and /addfeed refuse a loopback feed with one reason."""
    from tests.support.adminharness import running_admin_bot

    url = f"http://127.0.0.2:{feed_server.port}/khovar.xml"  # the bot's policy allows only .1
    feed_server.add("/khovar.xml", KHOVAR)
    env = make_env(tmp_path).with_vars(FEEDS_ALLOW_PRIVATE="0")
    refused = await cli(env, "feeds", "add", url)
    assert refused.code == 2
    async with running_admin_bot(tmp_path / "bot") as bot_env:
        (msg,) = await bot_env.admin(f"/addfeed {url}")
        assert await bot_env.feeds.list() == []
    said = html.unescape(msg["text"]).removeprefix("❌ Not added: the address is private or local (")
    assert said == "refused: 127.0.0.2 is a loopback address)", msg["text"]
    assert refused.err.startswith(f"error: {said.removesuffix(')')} (")
    assert sum(feed_server.hits.values()) == 0  # refused before anything is fetched
    assert (await cli(env, "feeds", "list")).out.startswith("no feeds yet")


async def test_poll_reports_each_feed_then_known(env, feed_server):
    first = await cli(env, "poll")
    assert first.code == 0, first.err
    lines = first.lines
    assert len(lines) == 4, first.out
    (good,) = [line for line in lines if "Ховар" in line]
    assert re.match(r"new\s+Ховар: 6 new, 0 known$", good), good
    (missing,) = [line for line in lines if "Пропавшая" in line]
    assert missing.startswith("error") and "404" in missing
    (page,) = [line for line in lines if "Страница" in line]
    assert page.startswith("error") and "html" in page.lower()
    assert lines[-1] == "3 feeds polled, 6 new articles, 2 errors"

    second = await cli(env, "poll")
    assert second.code == 0
    (good,) = [line for line in second.lines if "Ховар" in line]
    assert good.startswith("known") and "not modified" in good
    assert second.lines[-1] == "3 feeds polled, 0 new articles, 2 errors"
    conditional = [r for r in feed_server.requests if r.path == "/khovar.xml"][-1]
    assert conditional.headers.get("If-None-Match") == '"v1"'

    listed = await cli(env, "feeds", "list")
    assert "[ok]" in listed.out and "[2 errors]" in listed.out


async def test_articles_json_and_the_seed_article(env, feed_server):
    assert (await cli(env, "poll")).code == 0
    result = await cli(env, "articles", "--json", "--limit", "3")
    assert result.code == 0, result.err
    items = result.json_lines()
    assert len(items) == 3
    required = {
        "title",
        "url",
        "source",
        "published_at",
        "lead",
        "image_url",
        "topics",
        "countries",
        "cluster_id",
    }
    for item in items:
        assert required <= item.keys()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", item["published_at"])
        assert item["source"] and item["url"].startswith("https://")
    dates = [item["published_at"] for item in items]
    assert dates == sorted(dates, reverse=True)  # newest first

    every = (await cli(env, "articles", "--json", "--limit", "100")).json_lines()
    assert len(every) == 6
    (seed,) = [item for item in every if item["title"] == SEED_TITLE]
    assert {"human_rights", "cis"} <= set(seed["topics"])
    assert set(seed["countries"]) == SEED_COUNTRIES
    assert seed["published_at"] == "2025-02-21T06:12:00Z"
    assert seed["lead"] and seed["lead"].startswith("Межмидовские консультации")
    assert isinstance(seed["cluster_id"], int)

    text = await cli(env, "articles", "--limit", "1")
    assert text.code == 0 and text.out.count("https://") == 1


async def test_remove_keeps_articles(env, feed_server):
    assert (await cli(env, "poll")).code == 0
    removed = await cli(env, "feeds", "remove", feed_server.url("/khovar.xml"))
    assert removed.code == 0, removed.err
    assert "stay" in removed.out
    assert feed_server.url("/khovar.xml") not in (await cli(env, "feeds", "list")).out
    titles = [a["title"] for a in (await cli(env, "articles", "--json")).json_lines()]
    assert len(titles) == 6 and SEED_TITLE in titles
    async with Database(env.db_path) as db:
        entries = await AuditLog(db).recent()
    assert [(e.actor_id, e.action, e.target) for e in entries] == [
        (0, "feed.remove", feed_server.url("/khovar.xml"))
    ]


async def test_classify_json_lines(tmp_path):
    env = make_env(tmp_path)
    lines = [
        json.dumps(
            {
                "title": SEED_TITLE,
                "text": "В консультациях приняли участие представители "
                "Таджикистана, Беларуси и России.",
            },
            ensure_ascii=False,
        ),
        "this is not json",
        json.dumps([1, 2]),
        "",
        json.dumps({"title": "Погода во Франции", "text": "Солнечно."}),
    ]
    result = await cli(env, "classify", stdin="\n".join(lines) + "\n")
    assert result.code == 1
    out = result.json_lines()
    assert len(out) == 4
    seed, bad, array, plain = out
    assert {"human_rights", "cis"} <= set(seed["topics"])
    assert {"tj", "by", "ru"} <= set(seed["countries"])
    assert all(isinstance(words, list) and words for words in seed["matches"].values())
    assert "cis" in seed["matches"] and "tj" in seed["matches"]
    assert set(bad) == {"error"} and "line 2" in bad["error"]
    assert set(array) == {"error"} and "line 3" in array["error"]
    assert (plain["topics"], plain["countries"]) == ([], ["fr"])
    assert plain["matches"] == {"fr": ["Франции"]}

    clean = await cli(env, "classify", stdin=lines[0] + "\n")
    assert clean.code == 0 and len(clean.json_lines()) == 1


async def test_digest_dry_run(env, feed_server):
    unknown = await cli(env, "digest", "--chat", "777", "--dry-run")
    assert unknown.code == 1
    assert unknown.err.startswith("error:") and "777" in unknown.err
    assert "not subscribed" in unknown.err

    assert (await cli(env, "poll")).code == 0
    now = datetime.now(UTC)
    async with Database(env.db_path) as db:
        await ChatRepo(db).ensure(
            777,
            type="private",
            title=None,
            username=None,
            language="ru",
            timezone="Europe/Moscow",
            now=now,
        )
    nothing = await cli(env, "digest", "--chat", "777", "--dry-run")
    assert nothing.code == 0, nothing.err
    assert "nothing new" in nothing.out  # the first poll's items are backfill

    feed_server.add(
        "/khovar.xml", with_new_item(KHOVAR, NEW_TITLE, "n1", format_datetime(now)), etag='"v2"'
    )
    polled = await cli(env, "poll")
    assert any(re.match(r"new\s+Ховар: 1 new, 6 known$", line) for line in polled.lines)
    preview = await cli(env, "digest", "--chat", "777", "--dry-run")
    assert preview.code == 0, preview.err
    assert NEW_TITLE in preview.out and SEED_TITLE not in preview.out
    assert '<a href="https://news.example.org/n1">' in preview.out or (
        "https://news.example.org/n1" in preview.out
    )
    assert "message 1/1" in preview.out
    # a dry run sends nothing and moves no cursor: the same digest again
    assert NEW_TITLE in (await cli(env, "digest", "--chat", "777", "--dry-run")).out

    no_flag = await cli(env, "digest", "--chat", "777")
    assert no_flag.code == 2 and "--dry-run" in no_flag.err


async def test_retag_reports_counts(env, feed_server):
    assert (await cli(env, "poll")).code == 0
    result = await cli(env, "retag")
    assert result.code == 0, result.err
    assert result.out.strip() == "re-tagged 6 articles, 0 changed"


async def test_run_without_token_explains_and_previews_offline(env, feed_server):
    result = await cli(env, "run")
    assert result.code == 0, result.err
    assert "@BotFather" in result.out or "BotFather" in result.out
    assert "BOT_TOKEN" in result.out
    assert SEED_TITLE in result.out
    assert feed_server.requests == []  # no feed polled, nothing fetched
    assert not env.db_path.exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base"),
        ("POLL_INTERVAL_MINUTES", "0"),
        ("ADMIN_IDS", "alice"),
    ],
)
async def test_bad_setting_is_a_configuration_error(env, name, value):
    result = await cli(env.with_vars(**{name: value}), "feeds", "list")
    assert result.code == 2
    assert "configuration error" in result.err and name.lower() in result.err.lower()
    assert "Traceback" not in result.err
    assert not env.db_path.exists()


async def test_newer_database_is_refused_cleanly(env):
    assert (await cli(env, "feeds", "list")).code == 0
    with sqlite3.connect(env.db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = await cli(env, "articles", timeout=120)
    assert result.code != 0
    assert "Traceback" not in result.err
    assert "999" in result.err
    assert "upgrade diplodigest" in result.err


async def test_migrate_upgrades_an_older_file_in_place_and_exits(env):
    from storage.migrations import latest_version

    env.db_path.parent.mkdir(parents=True, exist_ok=True)
    build_legacy(env.db_path, upto=3)
    with sqlite3.connect(env.db_path) as conn:
        conn.execute(
            "INSERT INTO feeds (url, title, created_at) VALUES ('https://a.example/',"
            " 'Khovar', '2025-01-01T00:00:00+00:00')"
        )
    result = await cli(env, "migrate")
    assert result.code == 0, result.err
    assert f"version {latest_version()}" in result.out
    with sqlite3.connect(env.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
        assert conn.execute("SELECT title FROM feeds").fetchall() == [("Khovar",)]
    again = await cli(env, "migrate")  # nothing left to do
    assert again.code == 0 and f"version {latest_version()}" in again.out


async def test_migrate_refuses_a_newer_schema_in_one_line(env):
    assert (await cli(env, "migrate")).code == 0
    with sqlite3.connect(env.db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = await cli(env, "migrate")
    assert result.code == 1
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert "999" in result.err and "upgrade diplodigest" in result.err
