"""A feed that rotates every guid and adds a session parameter to every link on each poll,
served on 127.0.0.1, through the real ingest and digest pipeline: each story is stored once and
each instant-mode chat gets it once. Genuinely different entries with the same title (a daily
"Briefing" on different days, or undated ones whose text differs) are still kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.digests.planner import DigestService
from bot.digests.render import Labels
from storage.chats import ChatRepo
from storage.outbox import MESSAGE_TEXT
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.ingest.test_ingest import T0, Env
from tests.support.feedgen import Item, rss

STORIES = [
    ("Генассамблея ООН приняла резолюцию о Сирии", "Резолюция поддержана большинством."),
    ("Министры СНГ встретились в Минске", "Обсуждались вопросы безопасности."),
    ("ОБСЕ направит наблюдателей на выборы", "Миссия начнёт работу в мае."),
]


def rotating_feed(poll: int, *, dated: bool = True) -> bytes:
    items = [
        Item(
            title,
            f"https://agency.example/news/{i}?sid=s{poll}x{i}",
            description=lead,
            guid=f"urn:uuid:{poll}-{i}-{poll * 7919}",
            published=T0 - timedelta(hours=i + 1) if dated else None,
        )
        for i, (title, lead) in enumerate(STORIES)
    ]
    return rss(items, title="Rotating Agency")


@pytest.fixture(scope="module")
def classifier():
    from bot.understand.classify import Classifier

    return Classifier.load()


@pytest.fixture
async def env(tmp_path, classifier):
    e = await Env(tmp_path / "rotating.sqlite3", classifier).open()
    yield e
    await e.close()


async def subscribe_instant(env, *chat_ids: int) -> None:
    chats = ChatRepo(env.db)
    for chat_id in chat_ids:
        await chats.ensure(
            chat_id,
            type="private",
            title=None,
            username=None,
            language="ru",
            timezone="UTC",
            now=T0,
        )
        await chats.set_all_sources(chat_id, T0)
        await chats.set_schedule(chat_id, mode="instant", times=[], weekday=None, now=T0)
        await env.db.execute(
            "UPDATE chats SET first_digest_at = ? WHERE id = ?",
            (to_db(T0 - timedelta(days=1)), chat_id),
        )


@pytest.mark.parametrize("dated", [True, False], ids=["dated", "undated"])
async def test_rotating_guids_and_session_links_store_and_deliver_each_story_once(
    env, feed_server, dated
):
    route = feed_server.add("/rss", rotating_feed(0, dated=dated))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))  # the first poll: the backlog
    await subscribe_instant(env, 1, 2)
    service = DigestService(
        stores_over(env.db), labels_for=lambda lang: Labels(lang, {}), clock=env.clock
    )
    for poll in range(1, 5):
        env.clock.now = T0 + timedelta(minutes=10 * poll)
        await env.feeds.schedule_now((await env.feeds.list())[0].id, env.clock.now)
        route.body = rotating_feed(poll, dated=dated)
        outcome = await env.poll(feed_server.url("/rss"))
        assert outcome.new == 0, f"poll {poll}: {outcome.line()}"
        await service.deliver_instant(env.clock.now)
    assert await env.count("SELECT COUNT(*) FROM articles") == len(STORIES)
    rows = await env.db.fetchall(f"SELECT chat_id, {MESSAGE_TEXT} AS text FROM outbox")
    for chat_id in (1, 2):
        text = "\n".join(r[1] for r in rows if r[0] == chat_id)
        for title, _ in STORIES:
            assert text.count(title) <= 1, (chat_id, title)


async def test_a_new_story_in_a_rotating_feed_still_arrives_once(env, feed_server):
    route = feed_server.add("/rss", rotating_feed(0))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))
    STORIES.append(("Саммит ШОС открылся в Астане", "Лидеры прибыли утром."))
    try:
        for poll in (1, 2):
            env.clock.now = T0 + timedelta(minutes=10 * poll)
            route.body = rotating_feed(poll)
            await env.feeds.schedule_now((await env.feeds.list())[0].id, env.clock.now)
            outcome = await env.poll(feed_server.url("/rss"))
            assert outcome.new == (1 if poll == 1 else 0)
    finally:
        STORIES.pop()
    assert await env.count("SELECT COUNT(*) FROM articles") == 4


async def test_daily_briefing_with_the_same_title_on_different_days_is_kept(env, feed_server):
    def briefing(days: int) -> bytes:
        items = [
            Item(
                "Briefing",
                f"https://agency.example/briefing?sid={d}",
                description=f"Day {d}",
                guid=f"b-{d}-{days}",
                published=T0 - timedelta(days=d),
            )
            for d in range(days)
        ]
        return rss(items, title="Daily")

    route = feed_server.add("/rss", briefing(1))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))
    route.body = briefing(3)  # two earlier days appear; the same title, other dates
    env.clock.now = T0 + timedelta(minutes=10)
    await env.feeds.schedule_now((await env.feeds.list())[0].id, env.clock.now)
    outcome = await env.poll(feed_server.url("/rss"))
    assert outcome.new == 2
    assert await env.count("SELECT COUNT(*) FROM articles WHERE title = 'Briefing'") == 3


async def test_undated_entries_with_one_title_but_different_text_are_kept(env, feed_server):
    def undated(texts: list[str], poll: int) -> bytes:
        items = [
            Item(
                "Briefing",
                f"https://agency.example/b?sid={poll}{i}",
                description=text,
                guid=f"u-{poll}-{i}",
            )
            for i, text in enumerate(texts)
        ]
        return rss(items, title="Undated")

    route = feed_server.add("/rss", undated(["Monday: talks in Geneva."], 0))
    await env.feeds.add(feed_server.url("/rss"), now=T0)
    await env.poll(feed_server.url("/rss"))
    route.body = undated(["Tuesday: a vote in New York.", "Monday: talks in Geneva."], 1)
    env.clock.now = T0 + timedelta(hours=20)
    await env.feeds.schedule_now((await env.feeds.list())[0].id, env.clock.now)
    outcome = await env.poll(feed_server.url("/rss"))
    assert outcome.new == 1
    assert await env.count("SELECT COUNT(*) FROM articles WHERE title = 'Briefing'") == 2
