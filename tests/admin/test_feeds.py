"""The add-feed use case on real parts: a SQLite file, the real fetcher and probe against a feed
server on 127.0.0.1 (the only address its policy allows), the real audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.admin.feeds import Added, AddFeed, AlreadyThere, Refused
from bot.ingest.fetch import Fetcher
from bot.ingest.probe import FeedChecker
from storage.audit import AuditLog
from storage.db import Database
from storage.feeds import FeedRepo
from tests.support.adminharness import LOOPBACK_ONLY
from tests.support.feedgen import Item, rss
from tests.support.feedserver import FeedServer

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FEED = rss(
    [Item("One", "https://a.example/1", guid="1"), Item("Two", "https://a.example/2", guid="2")],
    title="Agency",
)


@dataclass
class Parts:
    add: AddFeed
    feeds: FeedRepo
    audit: AuditLog
    server: FeedServer


@pytest.fixture
async def parts(tmp_path, feed_server) -> AsyncIterator[Parts]:
    async with Database(tmp_path / "bot.sqlite3") as db, Fetcher(policy=LOOPBACK_ONLY, timeout=5) as fetcher:
        feeds, audit = FeedRepo(db), AuditLog(db)
        yield Parts(AddFeed(feeds, FeedChecker(fetcher), audit, lambda: NOW), feeds, audit, feed_server)


async def test_a_feed_is_checked_stored_and_audited_for_its_actor(parts):
    parts.server.add("/rss", FEED)
    result = await parts.add(parts.server.url("/rss"), actor=1001)
    assert isinstance(result, Added)
    assert (result.title, result.entries) == ("Agency", 2)
    assert result.check is not None and result.check.newest_title in ("One", "Two")
    (stored,) = await parts.feeds.list()
    assert stored.id == result.feed.id and stored.url == parts.server.url("/rss")
    assert stored.created_at == NOW
    (entry,) = await parts.audit.recent()
    assert (entry.actor_id, entry.action, entry.target, entry.details) == (
        1001, "feed.add", stored.url, None
    )  # fmt: skip


async def test_a_custom_title_wins_and_no_actor_means_no_audit_entry(parts):
    parts.server.add("/rss", FEED)
    result = await parts.add(parts.server.url("/rss"), title="Моё агентство")
    assert isinstance(result, Added) and result.title == "Моё агентство"
    assert (await parts.feeds.list())[0].custom_title == "Моё агентство"
    assert await parts.audit.count() == 0


async def test_unchecked_is_stored_without_a_fetch(parts):
    url = parts.server.url("/later")
    result = await parts.add(url, check=False, actor=7)
    assert isinstance(result, Added)
    assert (result.check, result.entries, result.title) == (None, None, url)
    assert parts.server.requests == []
    assert [f.url for f in await parts.feeds.list()] == [url]
    assert [e.action for e in await parts.audit.recent()] == ["feed.add"]


@pytest.mark.parametrize("check", [True, False])
@pytest.mark.parametrize(
    ("url", "kind", "reason"),
    [
        ("file:///etc/passwd", "invalid_url", "unsupported scheme 'file' (only http and https)"),
        ("http://u:p@a.example/rss", "invalid_url", "URL must not contain credentials (user:password@)"),
        ("http://127.0.0.2/rss", "not_allowed", "refused: 127.0.0.2 is a loopback address"),
        ("http://10.0.0.5/rss", "not_allowed", "refused: 10.0.0.5 is a private address"),
        ("http://169.254.169.254/x", "not_allowed", "refused: 169.254.169.254 is a link-local address"),
        ("http://[::1]:8080/rss", "not_allowed", "refused: ::1 is a loopback address"),
    ],
)  # fmt: skip
async def test_the_url_and_address_rules_hold_checked_or_not(parts, url, kind, reason, check):
    result = await parts.add(url, check=check, actor=1)
    assert result == Refused(result.url, kind, reason)
    assert result.bad_input
    assert await parts.feeds.list() == [] and await parts.audit.count() == 0
    assert parts.server.requests == []


async def test_allow_private_lets_any_address_through(tmp_path, feed_server):
    async with Database(tmp_path / "p.sqlite3") as db, Fetcher(allow_private=True) as fetcher:
        add = AddFeed(FeedRepo(db), FeedChecker(fetcher), AuditLog(db), lambda: NOW)
        result = await add("http://10.0.0.5/rss", check=False)
    assert isinstance(result, Added) and result.feed.url == "http://10.0.0.5/rss"


@pytest.mark.parametrize(
    ("body", "content_type", "kind", "reason"),
    [
        (b'{"a": 1}', "application/json", "malformed", "not a feed: not well-formed"),
        (b"", "application/rss+xml", "empty", "not a feed: empty body"),
        (b"<html><body>hi</body></html>", "text/html", "html", "got an HTML page, not a feed"),
    ],
)
async def test_what_is_not_a_feed_is_refused_and_not_stored(parts, body, content_type, kind, reason):
    parts.server.add("/x", body, content_type=content_type)
    result = await parts.add(parts.server.url("/x"), actor=1)
    assert isinstance(result, Refused) and not result.bad_input
    assert result.kind == kind and result.reason.startswith(reason), result
    assert result.offers == ()
    assert await parts.feeds.list() == [] and await parts.audit.count() == 0


async def test_a_page_offers_the_feeds_it_links_to(parts):
    parts.server.add_fixture("/news", "html_page.html")
    result = await parts.add(parts.server.url("/news"))
    assert isinstance(result, Refused) and result.kind == "html"
    assert [o.url for o in result.offers] == [parts.server.url("/rss/politics")]


async def test_a_fetch_failure_is_refused_with_its_reason(parts):
    result = await parts.add(parts.server.url("/missing"))
    assert result == Refused(parts.server.url("/missing"), "http_status", "HTTP 404 Not Found")


async def test_a_known_url_is_already_there_without_a_fetch(parts):
    known = await parts.feeds.add(parts.server.url("/rss"), now=NOW, title="Known")
    result = await parts.add(parts.server.url("/rss") + "#top", actor=1)  # same URL, normalized
    assert result == AlreadyThere(known)
    assert parts.server.requests == [] and await parts.audit.count() == 0


async def test_a_redirect_to_a_known_feed_is_already_there(parts):
    parts.server.add("/rss", FEED)
    parts.server.redirect("/old", "/rss")
    known = await parts.feeds.add(parts.server.url("/rss"), now=NOW)
    result = await parts.add(parts.server.url("/old"), actor=1)
    assert result == AlreadyThere(known)
    assert len(await parts.feeds.list()) == 1 and await parts.audit.count() == 0


async def test_a_redirected_feed_is_stored_at_its_new_address(parts):
    parts.server.add("/rss", FEED)
    parts.server.redirect("/old", "/rss")
    result = await parts.add(parts.server.url("/old"))
    assert isinstance(result, Added) and result.feed.url == parts.server.url("/rss")


@pytest.mark.parametrize("status", [302, 307])
async def test_a_temporary_redirect_keeps_the_address_as_given(parts, status):
    parts.server.add("/rss", FEED)
    parts.server.redirect("/today", "/rss", status=status)
    result = await parts.add(parts.server.url("/today"))
    assert isinstance(result, Added) and result.feed.url == parts.server.url("/today")
    assert result.entries > 0
