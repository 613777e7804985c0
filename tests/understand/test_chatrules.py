"""Keyword rules: parsing and its limits, word-form/phrase/exclusion/country matching, the
inverted index, rule sections in DigestPool, and DigestService planning on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.digests.planner import DigestService
from bot.digests.render import Labels, render_digest
from bot.digests.selection import DigestFilter, DigestPool, RuleRef
from bot.domain import Article
from bot.understand.chatrules import (
    MAX_TERMS,
    ChatRule,
    RuleError,
    RuleIndex,
    RuleSpec,
    parse_rule,
)
from bot.understand.morph import Morph
from bot.understand.searchterms import index_terms
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.errors import TooManyRulesError
from storage.outbox import MESSAGE_TEXT
from storage.stores import stores_over
from storage.timefmt import to_db

T0 = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)
CODES = ("kz", "uz", "ru", "us")


@pytest.fixture(scope="module")
def morph() -> Morph:
    return Morph()


def parse(morph: Morph, text: str) -> RuleSpec:
    return parse_rule(morph, text, CODES)


def hits(morph: Morph, rule: str, text: str, countries=()) -> bool:
    seq = list(morph.tokens(text).norm)
    return parse(morph, rule).matches(seq, set(seq), countries)


# -- parsing


def test_parse_canonical_form_and_parts(morph):
    spec = parse(morph, '  Санкции  "Нефтяное эмбарго" -футбол @KZ @uz ')
    assert spec.text == 'санкции "нефтяное эмбарго" -футбол @kz @uz'
    assert spec.required == (("санкция",), ("нефтяной", "эмбарго"))
    assert spec.excluded == (("футбол",),)
    assert spec.countries == ("kz", "uz")
    assert RuleSpec.from_json(spec.text, spec.to_json()) == spec


def test_guillemets_and_excluded_phrase(morph):
    spec = parse(morph, "газ -«газовый конфликт»")
    assert spec.excluded == (("газовый", "конфликт"),)
    assert spec.text == 'газ -"газовый конфликт"'


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"санкции', "quote"),
        ("«санкции", "quote"),
        ("-футбол", "no_words"),
        ("-футбол @kz", "no_words"),
        ("@kz", "no_words"),
        ("санкции @xx", "country"),
        ("санкции @", "country"),
        ("!!! ???", "no_letters"),
        ('""', "no_letters"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "too_many_terms"),
        ("а" * 51, "term_too_long"),
        ("x" * 10_000, "too_long"),
        ("санкции\x00", "control"),
        ("санк\x1bции", "control"),
        ('"раз два три четыре пять шесть семь восемь девять"', "phrase_too_long"),
    ],
)
def test_refusals(morph, text, code):
    with pytest.raises(RuleError) as caught:
        parse(morph, text)
    assert caught.value.code == code


def test_limits_are_inclusive(morph):
    assert len(parse(morph, " ".join(f"w{i}" for i in range(MAX_TERMS))).required) == MAX_TERMS
    assert parse(morph, "а" * 50).required


def test_html_characters_are_only_text(morph):
    spec = parse(morph, "<b>санкции</b> &amp;")
    assert spec.required == (("b", "санкция", "b"), ("amp",))  # only the letters count
    assert "<" not in spec.text


# -- matching


def test_russian_word_forms(morph):
    assert hits(morph, "санкции", "Новый пакет санкций против компании")
    assert hits(morph, "санкции", "Ограничения с санкциями связаны")
    assert not hits(morph, "санкции", "Пошлины на сталь")


def test_english_word_forms(morph):
    assert hits(morph, "sanction", "New sanctions on steel")
    assert hits(morph, "sanctions", "The EU will sanction two banks")
    assert not hits(morph, "sanction", "Tariffs on steel")


def test_phrase_needs_order_and_adjacency(morph):
    assert hits(morph, '"нефтяное эмбарго"', "Введено нефтяное эмбарго")
    assert hits(morph, '"нефтяное эмбарго"', "о нефтяном эмбарго")
    assert not hits(morph, '"нефтяное эмбарго"', "эмбарго нефтяное введено")
    assert not hits(morph, '"нефтяное эмбарго"', "нефтяное и газовое эмбарго")


def test_all_words_and_exclusion(morph):
    assert hits(morph, "санкции банк", "Санкции против банка")
    assert not hits(morph, "санкции банк", "Санкции против завода")
    assert not hits(morph, "санкции -футбол", "Санкции против футбольной федерации? Нет: футбол")
    assert hits(morph, "санкции -футбол", "Санкции против банка")


def test_country_limit_any_of(morph):
    assert hits(morph, "санкции @kz @uz", "Санкции", countries=("uz",))
    assert not hits(morph, "санкции @kz", "Санкции", countries=("ru",))
    assert not hits(morph, "санкции @kz", "Санкции")


def test_index_finds_only_matching_rules(morph):
    rules = [
        ChatRule(1, 10, parse(morph, "санкции")),
        ChatRule(2, 10, parse(morph, '"нефтяное эмбарго" -газ')),
        ChatRule(3, 11, parse(morph, "sanctions @kz")),
        ChatRule(4, 12, parse(morph, "пошлины")),
    ]
    index = RuleIndex(rules)
    text = index_terms(morph.tokens("Санкции и нефтяное эмбарго. New sanctions"))
    assert sorted(index.match(text.split(), ("kz",))) == [1, 2, 3]
    assert sorted(index.match(text.split(), ())) == [1, 2]
    assert index.match_all({7: text, 8: "пошлина"}, {7: ("kz",)}) == {
        1: [7],
        2: [7],
        3: [7],
        4: [8],
    }


# -- digest pool


def _article(n: int, topics=("un",), cluster=None, countries=()) -> Article:
    return Article(
        id=n, feed_id=1, key=f"k{n}", url=f"https://example.org/{n}", title=f"Story {n}",
        summary="", lead="", image_url=None, source="BelTA",
        published_at=T0.replace(minute=n % 60), fetched_at=T0, backfill=False,
        topics=tuple(topics), countries=tuple(countries), cluster_id=cluster,
    )  # fmt: skip


def test_pool_rule_section_first_and_marked():
    articles = [_article(1), _article(2, topics=()), _article(3, topics=()), _article(4)]
    pool = DigestPool(articles, ("un",), rule_hits={5: [2, 4], 6: [3]})
    ref5, ref6 = RuleRef(5, "санкции"), RuleRef(6, "пошлины")
    digest = pool.select(DigestFilter(("un",), (), rules=(ref5, ref6)), after_id=0)
    assert [(s.rule, s.topic, [i.article.id for i in s.items]) for s in digest.sections] == [
        (ref5, None, [4, 2]),  # a topical article a rule matched goes to the rule's section
        (ref6, None, [3]),
        (None, "un", [1]),
    ]
    assert digest.marked
    text = "\n".join(render_digest(digest, labels=Labels("ru", {"un": "ООН"}), zone=UTC, now=T0))
    assert "<b>Правило: санкции</b>" in text and "<b>Правило: пошлины</b>" in text
    assert text.count("по правилу «санкции»") == 2 and text.count("тема: ООН") == 1


def test_pool_without_rules_is_unchanged():
    pool = DigestPool([_article(1), _article(2, topics=())], ("un",), rule_hits={5: [2]})
    digest = pool.select(DigestFilter(("un",), ()), after_id=0)
    assert [s.topic for s in digest.sections] == ["un"] and not digest.marked
    text = "\n".join(render_digest(digest, labels=Labels("en", {"un": "UN"}), zone=UTC, now=T0))
    assert "topic:" not in text


def test_pool_rule_respects_cursor_and_one_per_story():
    articles = [_article(1, topics=(), cluster=1), _article(2, topics=(), cluster=1), _article(3)]
    pool = DigestPool(articles, ("un",), rule_hits={5: [1, 2]})
    ref = RuleRef(5, "x")
    digest = pool.select(DigestFilter(("un",), (), rules=(ref,)), after_id=0)
    assert [[i.article.id for i in s.items] for s in digest.sections] == [[1], [3]]
    later = pool.select(DigestFilter(("un",), (), rules=(ref,)), after_id=2)
    assert [s.topic for s in later.sections] == ["un"]


# -- storage and planning


async def _subscribe(db, chat_id: int, *, mode="instant", topics=("un",)) -> None:
    chats = ChatRepo(db)
    await chats.ensure(chat_id, type="private", title=None, username=None, language="ru",
                       timezone="UTC", now=T0)  # fmt: skip
    await chats.set_topics(chat_id, list(topics), T0)
    await chats.set_schedule(chat_id, mode=mode, times=[], weekday=None, now=T0)
    await db.execute("UPDATE chats SET first_digest_at = ? WHERE id = ?", (to_db(T0), chat_id))


async def _store(db, morph, title: str, topics=(), countries=()) -> int:
    article_id = await db.insert(
        "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at,"
        " topics, countries) VALUES (?, ?, ?, '', 'BelTA', ?, ?, ?, ?)",
        (title, f"https://example.org/{abs(hash(title))}", title, to_db(T0), to_db(T0),
         json.dumps(list(topics)), json.dumps(list(countries))),
    )  # fmt: skip
    await db.execute(
        "INSERT INTO article_search (rowid, terms) VALUES (?, ?)",
        (article_id, index_terms(morph.tokens(title))),
    )
    return article_id


async def test_repo_limits_cascade_and_drafts(db, morph):
    repo = RuleRepo(db)
    await _subscribe(db, 1)
    for n in range(20):
        await repo.add(1, f"слово{n}", "{}", by=1, now=T0)
    again = await repo.add(1, "слово0", "{}", by=1, now=T0)  # same text: one rule
    assert await repo.count(1) == 20 and again.text == "слово0"
    with pytest.raises(TooManyRulesError):
        await repo.add(1, "ещё", "{}", by=1, now=T0)
    spec = parse(morph, "санкции")
    draft = await repo.add_draft(1, spec.text, spec.to_json(), by=1, now=T0)
    assert await repo.take_draft(2, draft) is None  # another chat's draft
    assert await repo.take_draft(1, draft) == (spec.text, spec.to_json())
    assert await repo.take_draft(1, draft) is None  # a second tap
    await ChatRepo(db).delete(1)
    assert await repo.count(1) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0


async def test_instant_digest_has_rule_section_once(db, morph):
    await _subscribe(db, 1)
    await _subscribe(db, 2)  # no rules: the untagged article never reaches it
    repo = RuleRepo(db)
    spec = parse(morph, "санкции -футбол @kz")
    rule = await repo.add(1, spec.text, spec.to_json(), by=1, now=T0)
    await _store(db, morph, "Генассамблея ООН собралась", topics=("un",))
    await _store(db, morph, "Новый пакет санкций против банков", countries=("kz",))
    await _store(db, morph, "Санкции против футбольной федерации: футбол", countries=("kz",))
    await _store(db, morph, "Санкциями пригрозили заводу", countries=("ru",))
    service = DigestService(stores_over(db), labels_for=lambda lang: Labels(lang, {"un": "ООН"}),
                            topic_order=("un",), clock=lambda: T0)  # fmt: skip
    assert await service.deliver_instant(T0) == 2
    rows = await db.fetchall(
        f"SELECT chat_id, {MESSAGE_TEXT} AS text FROM outbox ORDER BY chat_id, part"
    )
    by_chat: dict[int, list[str]] = {}
    for chat_id, text in rows:
        by_chat.setdefault(chat_id, []).append(text)
    assert {c: len(m) for c, m in by_chat.items()} == {1: 1, 2: 1}
    mine = by_chat[1][0]
    assert f"Правило: {rule.text}" in mine
    assert "Новый пакет санкций" in mine and "по правилу «санкции -футбол @kz»" in mine
    assert "футбольной" not in mine and "заводу" not in mine
    assert "Генассамблея" in mine and "тема: ООН" in mine
    assert "санкций" not in by_chat[2][0] and "Правило" not in by_chat[2][0]
    assert await service.deliver_instant(T0) == 0  # cursors moved: nothing twice


def test_forum_rule_items_go_to_the_default_thread_under_their_heading():
    from bot.digests.forum import item_thread, split_digest

    articles = [_article(1), _article(2, topics=("cis",))]
    pool = DigestPool(articles, ("un", "cis"), rule_hits={5: [2]})
    ref = RuleRef(5, "санкции")
    digest = pool.select(DigestFilter((), (), rules=(ref,)), after_id=0)
    routes = {"un": 10, "cis": 20, "*": 30}
    split = dict(split_digest(digest, routes, topic_order=("un", "cis")))
    assert [(s.rule, s.topic) for s in split[30].sections] == [(ref, None)]
    assert [(s.rule, s.topic) for s in split[10].sections] == [(None, "un")]
    assert 20 not in split  # the rule's article left its topic's thread for the rule's section
    assert split[30].marked and split[10].marked
    rule_item = split[30].sections[0].items[0]
    assert item_thread(rule_item, routes, topic_order=("un", "cis")) == 30
