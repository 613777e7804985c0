"""/digest, /latest, /search, /sources end to end with the real DigestService, FTS search and feeds."""

from __future__ import annotations

import json

import pytest

from bot.digests.planner import DigestService
from bot.digests.render import Labels
from bot.understand.searchterms import MorphSearch, index_terms
from storage.articles import ArticleRepo
from storage.outbox import MESSAGE_TEXT
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.support.botharness import NOW, running_bot

USER = 3003


async def add_article(env, title: str, lead: str, topics: tuple[str, ...],
                      countries: tuple[str, ...] = ()) -> int:  # fmt: skip
    article_id = await env.db.insert(
        "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at, backfill,"
        " topics, countries) VALUES (?, ?, ?, ?, 'Khovar', ?, ?, 0, ?, ?)",
        (title, f"https://khovar.tj/{len(title)}", title, lead, to_db(NOW), to_db(NOW),
         json.dumps(topics), json.dumps(countries)),
    )  # fmt: skip
    terms = index_terms(env.classifier.tokenize(title, lead))
    await env.db.execute(
        "INSERT INTO article_search (rowid, terms) VALUES (?, ?)", (article_id, terms)
    )
    return article_id


def services(db, classifier, clock) -> dict:
    def labels_for(lang: str) -> Labels:
        return Labels(
            lang, {i.slug: i.name_ru if lang == "ru" else i.name_en for i in classifier.topics}
        )

    return {
        "digests": DigestService(stores_over(db), labels_for=labels_for, clock=clock),
        "search": MorphSearch(classifier.morph, ArticleRepo(db)),
    }


async def subscribe_to_un(env, user: int) -> None:
    """/start through the buttons: the UN topic, the default schedule."""
    await env.send(user, "/start")
    await env.tap(user, "ООН")
    await env.tap(user, "Готово")
    await env.tap(user, "Оставить так")


@pytest.fixture
async def env(tmp_path):
    async with running_bot(tmp_path, services) as env:
        await subscribe_to_un(env, USER)
        yield env


async def test_digest_queues_then_nothing_new(env):
    await add_article(
        env, "Генассамблея ООН приняла резолюцию", "Резолюция о правах человека.", ("un",)
    )
    await add_article(env, "Саммит ШОС", "Лидеры ШОС встретились.", ("sco",))
    assert await env.send(USER, "/digest") == []  # queued to the outbox; delivery sends it
    rows = await env.db.fetchall(
        f"SELECT {MESSAGE_TEXT} AS text FROM outbox WHERE chat_id = ?", (USER,)
    )
    assert len(rows) == 1 and "Генассамблея" in rows[0][0] and "ШОС" not in rows[0][0]
    (reply,) = await env.send(USER, "/digest")
    assert "Ничего нового" in reply["text"]


async def test_latest_all_one_topic_and_unknown_topic(env):
    (empty,) = await env.send(USER, "/latest")
    assert "Пока ничего нет" in empty["text"]
    await add_article(env, "Совбез ООН обсудил Афганистан", "Заседание.", ("un",))
    (part,) = await env.send(USER, "/latest")
    assert "Совбез ООН" in part["text"]
    (by_name,) = await env.send(USER, "/latest ООН")
    assert "Совбез ООН" in by_name["text"]
    (unknown,) = await env.send(USER, "/latest астрология")
    assert "Не знаю такой темы" in unknown["text"] and "human_rights" in unknown["text"]
    assert await env.chats.get(USER) is not None
    rows = await env.db.fetchall("SELECT 1 FROM outbox")
    assert rows == []  # /latest changes nothing


async def test_search_word_forms_and_bad_queries(env):
    await add_article(
        env, "Права человека в Центральной Азии", "Доклад о правах человека.", ("human_rights",),
        ("tj", "uz"),
    )  # fmt: skip
    (found,) = await env.send(USER, "/search правами человека")
    assert "Права человека в Центральной Азии" in found["text"] and "Найдено" in found["text"]
    assert "Таджикистан, Узбекистан" in found["text"] and "TJ" not in found["text"]
    (none,) = await env.send(USER, "/search квантовая гравитация")
    assert "ничего не нашлось" in none["text"]
    (usage,) = await env.send(USER, "/search")
    assert "/search" in usage["text"]
    (huge,) = await env.send(USER, "/search " + "слово " * 2000)
    assert "ничего не нашлось" in huge["text"] and len(huge["text"]) < 600


async def test_sources_lists_active_feeds(env):
    (none,) = await env.send(USER, "/sources")
    assert "нет" in none["text"]
    await env.feeds.add("https://khovar.tj/rss", now=NOW, title="Khovar <TJ>")
    await env.feeds.add("https://belta.by/rss", now=NOW, title="BelTA")
    (listing,) = await env.send(USER, "/sources")
    assert (
        "Khovar &lt;TJ&gt;" in listing["text"]
        and "BelTA" in listing["text"]
        and "(2)" in listing["text"]
    )
