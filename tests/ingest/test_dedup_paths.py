"""Dedup on every path, aimed at the promise "an entry a feed listed once never comes back as
new": entries without a URL (so no unique URL index can hide a missing key filter) whose title
or date changed under the same guid, with and without a purge in between, and a feed that lists
again an article that was purged. Real SQLite file, the real pipeline, feeds over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.understand.classify import Classifier
from tests.ingest.test_ingest import T0, Env
from tests.support.feedgen import Item, rss


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture
async def env(tmp_path, classifier):
    e = await Env(tmp_path / "ingest.sqlite3", classifier).open()
    yield e
    await e.close()


def urlless(n: int, *, edited: bool = False) -> list[Item]:
    return [
        Item(
            title=f"Сообщение без ссылки {i}" + (" (обновлено)" if edited else ""),
            link=None,
            description=f"<p>Текст сообщения {i}" + (", дополненный." if edited else ".") + "</p>",
            guid=f"urn:agency:{i}",
            published=T0 - timedelta(hours=i) + (timedelta(minutes=7) if edited else timedelta()),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("purge", [False, True], ids=["kept", "purged"])
async def test_urlless_entry_edited_under_the_same_guid_is_not_new(env, feed_server, purge):
    feed_server.add("/rss", rss(urlless(3)))
    url = feed_server.url("/rss")
    await env.feeds.add(url, now=T0)
    first = await env.poll(url)
    assert first.new == 3
    assert await env.count("SELECT COUNT(*) FROM articles WHERE url IS NULL OR url = ''") == 3
    if purge:
        await env.restart()
        assert await env.articles.purge_older_than(T0 + timedelta(days=1)) == 3
    feed_server.add("/rss", rss(urlless(3, edited=True)))  # new title, text and date, same guid
    env.clock.now = T0 + timedelta(minutes=10)
    again = await env.poll(url)
    assert (again.new, again.known) == (0, 3)
    assert await env.count("SELECT COUNT(*) FROM articles") == (0 if purge else 3)
    assert await env.count("SELECT COUNT(*) FROM articles WHERE title LIKE '%обновлено%'") == 0


async def test_urlless_new_entry_among_edited_ones_is_the_only_new_one(env, feed_server):
    feed_server.add("/rss", rss(urlless(3)))
    url = feed_server.url("/rss")
    await env.feeds.add(url, now=T0)
    await env.poll(url)
    fresh = Item("Совсем новое сообщение", None, "<p>Новый текст.</p>", "urn:agency:new", T0)
    feed_server.add("/rss", rss([fresh, *urlless(3, edited=True)]))
    env.clock.now = T0 + timedelta(minutes=10)
    out = await env.poll(url)
    assert (out.new, out.known) == (1, 3)
    assert await env.count("SELECT COUNT(*) FROM articles") == 4


@pytest.mark.parametrize("with_url", [True, False], ids=["url", "no-url"])
async def test_a_feed_listing_a_purged_article_again_does_not_bring_it_back(
    env, feed_server, with_url
):
    item = Item(
        "Старая новость",
        "https://agency.example/news/old" if with_url else None,
        "<p>Старый текст.</p>",
        "old-1",
        T0 - timedelta(days=40),
    )
    feed_server.add("/rss", rss([item]))
    url = feed_server.url("/rss")
    await env.feeds.add(url, now=T0)
    assert (await env.poll(url)).new == 1
    assert await env.articles.purge_older_than(T0 - timedelta(days=30)) == 1
    # The feed drops it, then lists it again (a re-published archive page), changed body each time.
    feed_server.add("/rss", rss([], title="Test Agency (empty)"))
    env.clock.now = T0 + timedelta(minutes=10)
    await env.poll(url)
    feed_server.add("/rss", rss([item], title="Test Agency (again)"))
    env.clock.now = T0 + timedelta(minutes=20)
    out = await env.poll(url)
    assert (out.new, out.known) == (0, 1)
    assert await env.count("SELECT COUNT(*) FROM articles") == 0
