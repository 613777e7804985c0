"""One story in two languages, end to end: a Russian and an English feed served on 127.0.0.1,
polled by the real ingest (the English telling joins the Russian story), then /start and /digest
in each language through the real Dispatcher, and the real sender: each chat receives one digest
with the story once, in its language, linking the other telling (compact and rich)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.sender import Sender
from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Ingestor
from storage.articles import ArticleRepo
from storage.stores import stores_over
from tests.e2e.test_e2e_reading import services
from tests.support.botharness import NOW, running_bot
from tests.support.feedgen import Item, rss

RU_CHAT, EN_CHAT, RICH_CHAT = 7101, 7102, 7103

RU = Item(
    title="В Душанбе прошло заседание Совета глав государств СНГ",
    link="https://belta.example/ru/cis-summit",
    description="<p>В Душанбе 10 октября состоялось заседание Совета глав государств СНГ."
    " Лидеры подписали 20 документов, в том числе заявление о 80-летии Победы. Председательство"
    " перешло к Туркменистану, следующее заседание пройдет в Ашхабаде.</p>",
    published=NOW - timedelta(hours=4),
)
EN = Item(
    title="CIS Heads of State Council meets in Dushanbe",
    link="https://belta.example/en/cis-summit?id=5&lang=en",
    description="<p>The CIS Heads of State Council held a meeting in Dushanbe on 10 October."
    " The leaders signed 20 documents, including a statement on the 80th anniversary of the"
    " Victory. Turkmenistan takes over the chairmanship.</p>",
    published=NOW - timedelta(hours=2),
)
OTHER = Item(  # the same day and city, another council: its own story
    title="CIS Council of Defence Ministers meets in Dushanbe",
    link="https://belta.example/en/defence",
    description="<p>The CIS Council of Defence Ministers met in Dushanbe on 10 October. Minister"
    " of Defence of Belarus Viktor Khrenin said the council approved 8 documents on military"
    " cooperation.</p>",
    published=NOW - timedelta(hours=1),
)


@pytest.fixture
async def env(tmp_path, feed_server):
    feed_server.add("/ru", rss([RU], title="БЕЛТА"))
    feed_server.add("/en", rss([EN, OTHER], title="BelTA English"))
    async with running_bot(tmp_path, services) as env:
        async with Fetcher(allow_private=True, timeout=5.0) as fetcher:
            ingestor = Ingestor(
                feeds=env.feeds,
                articles=ArticleRepo(env.db),
                fetcher=fetcher,
                classifier=env.classifier,
                poll_interval=timedelta(minutes=10),
                clock=lambda: NOW,
            )
            for path in ("/ru", "/en"):
                feed = await env.feeds.add(feed_server.url(path), now=NOW)
                assert (await ingestor.poll_feed(feed)).new
        yield env


async def subscribe(env, chat: int, lang: str) -> None:
    await env.send(chat, "/start", lang=lang)
    await env.tap(chat, "СНГ" if lang == "ru" else "CIS")
    await env.tap(chat, "Готово" if lang == "ru" else "Done")
    await env.tap(chat, "Оставить" if lang == "ru" else "Keep")


async def digest_of(env, chat: int) -> list[dict]:
    before = len(env.server.sent(chat))
    assert await env.send(chat, "/digest") == []  # queued for the sender
    await Sender(env.bot, stores_over(env.db), rate=0, idle_poll=0.1).drain(timeout=30)
    return env.server.sent(chat)[before:]


async def test_each_chat_gets_the_story_once_in_its_language_with_the_other_linked(env):
    clusters = await env.db.fetchall("SELECT url, cluster_id FROM articles ORDER BY id")
    by_url = dict(clusters)
    assert by_url[RU.link] == by_url[EN.link] != by_url[OTHER.link]

    await subscribe(env, RU_CHAT, "ru")
    (ru_digest,) = await digest_of(env, RU_CHAT)  # one message
    text = ru_digest["text"]
    assert text.count(RU.title) == 1 and EN.title not in text
    assert OTHER.title in text  # the other council is a story of its own
    link = "https://belta.example/en/cis-summit?id=5&amp;lang=en"
    assert f'<a href="{link}">также на английском</a>' in text
    assert "также: BelTA English" not in text  # the English telling is a link, not "also:"

    await subscribe(env, EN_CHAT, "en")
    (en_digest,) = await digest_of(env, EN_CHAT)
    text = en_digest["text"]
    assert text.count(EN.title) == 1 and RU.title not in text
    assert f'<a href="{RU.link}">also in Russian</a>' in text


async def test_a_rich_digest_links_the_other_telling_too(env):
    await subscribe(env, RICH_CHAT, "en")
    await env.db.execute("UPDATE chats SET digest_format = 'rich' WHERE id = ?", (RICH_CHAT,))
    (message,) = await digest_of(env, RICH_CHAT)
    rich = message["rich_message"]["html"]
    assert rich.count(EN.title) == 1 and RU.title not in rich
    assert f'<a href="{RU.link}">also in Russian</a>' in rich
