"""A new subscriber's first minute, end to end: a feed's first poll stored the archive over HTTP
(all of it backfill), then /start through the buttons, "show the latest now", /latest by topic
name and the first /digest — in Russian and English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Ingestor
from storage.articles import ArticleRepo
from storage.outbox import MESSAGE_TEXT
from tests.e2e.test_e2e_reading import services
from tests.support.botharness import NOW, running_bot
from tests.support.feedgen import Item, rss

USER = 5005

ARCHIVE = [
    Item(
        title="Правозащитники ОБСЕ обсудили права человека в Душанбе",
        link="https://agency.example/news/1",
        description="<p>Эксперты обсудили защиту прав человека и свободу слова.</p>",
        published=NOW - timedelta(hours=3),
    ),
    Item(
        title="Омбудсмен представил доклад о соблюдении прав человека",
        link="https://agency.example/news/2",
        description="<p>Уполномоченный по правам человека представил ежегодный доклад.</p>",
        published=NOW - timedelta(hours=20),
    ),
    Item(
        title="Совет ООН по правам человека принял резолюцию о свободе собраний",
        link="https://agency.example/news/3",
        description="<p>Резолюция о правах человека принята в Женеве.</p>",
        published=NOW - timedelta(days=4),  # older than a day: never in the first digest
    ),
    Item(
        title="Кирпичный завод увеличил выпуск продукции",
        link="https://agency.example/news/4",
        description="<p>Завод выпустил на десять процентов больше кирпича.</p>",
        published=NOW - timedelta(hours=1),  # no topic: not for "all topics" subscribers
    ),
]


@pytest.fixture
async def env(tmp_path, feed_server):
    feed_server.add("/rss", rss(ARCHIVE, title="Agency"))
    async with running_bot(tmp_path, services) as env:
        feed = await env.feeds.add(feed_server.url("/rss"), now=NOW)
        async with Fetcher(allow_private=True, timeout=5.0) as fetcher:
            ingestor = Ingestor(
                feeds=env.feeds,
                articles=ArticleRepo(env.db),
                fetcher=fetcher,
                classifier=env.classifier,
                poll_interval=timedelta(minutes=10),
                clock=lambda: NOW,
            )
            outcome = await ingestor.poll_feed(feed)
        assert outcome.new == len(ARCHIVE)
        backfill = await env.db.fetchval("SELECT COUNT(*) FROM articles WHERE backfill = 1")
        assert backfill == len(ARCHIVE)  # a first poll: everything is archive
        yield env


def titles_in(messages) -> set[int]:
    """Which archive items (1-based) the messages show."""
    text = "\n".join(m["text"] for m in messages)
    return {n for n, item in enumerate(ARCHIVE, 1) if item.title in text}


async def walk_through(
    env, chat_id: int, topic_button: str, done: str, keep: str, lang: str = "ru"
) -> None:
    await env.send(chat_id, "/start", lang=lang)
    await env.tap(chat_id, topic_button)
    await env.tap(chat_id, done)
    await env.tap(chat_id, keep)  # the schedule as it is: the walk-through ends


async def test_first_minute_in_russian_latest_button_topic_name_and_first_digest(env):
    await walk_through(env, USER, "Права человека", "Готово", "Оставить")
    final = env.screen(USER)
    assert "Готово" in final["text"] and "за последние сутки" in final["text"]
    before = len(env.server.sent(USER))
    await env.tap(USER, "Показать последние")
    latest = env.server.sent(USER)[before:]
    assert titles_in(latest) == {1, 2, 3}  # the archive counts for /latest, within retention
    assert titles_in(await env.send(USER, "/latest права человека")) == {1, 2, 3}
    assert titles_in(await env.send(USER, "/latest Права Человека")) == {1, 2, 3}
    assert await env.send(USER, "/digest") == []  # queued, not "nothing new"
    rows = await env.db.fetchall(
        f"SELECT {MESSAGE_TEXT} AS text FROM outbox WHERE chat_id = ?", (USER,)
    )
    assert len(rows) == 1
    assert titles_in([{"text": rows[0][0]}]) == {1, 2}  # the last 24 hours, never older
    (again,) = await env.send(USER, "/digest")
    assert "Ничего нового" in again["text"]  # the first digest happened: back to "what is new"


async def test_first_minute_in_english_with_every_topic(env):
    chat = USER + 1
    await walk_through(env, chat, "All topics", "Done", "Keep", lang="en")
    final = env.screen(chat)
    assert "All set" in final["text"] and "last 24 hours" in final["text"]
    before = len(env.server.sent(chat))
    await env.tap(chat, "Show the latest")
    assert titles_in(env.server.sent(chat)[before:]) == {1, 2, 3}  # not the brick factory


async def test_everything_from_my_sources_includes_the_untagged_item(env):
    await walk_through(env, USER, "Всё из источников", "Готово", "Оставить")
    assert "без темы" in env.screen(USER)["text"]
    before = len(env.server.sent(USER))
    await env.tap(USER, "Показать последние")
    assert titles_in(env.server.sent(USER)[before:]) == {1, 2, 3, 4}


async def test_instant_mode_closing_text_does_not_promise_a_schedule(env):
    await env.send(USER, "/start")
    await env.tap(USER, "Права человека")
    await env.tap(USER, "Готово")
    await env.tap(USER, "Сразу")
    await env.tap(USER, "Оставить")
    final = env.screen(USER)["text"]
    assert "сразу, как только появятся" in final and "по расписанию" not in final
