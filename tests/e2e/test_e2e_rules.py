"""Keyword rules end to end: feeds polled over HTTP (the real Ingestor stores search terms), the
real Dispatcher on the fake Bot API, digests planned by DigestService and sent by the Sender —
/rule with its archive test, Save / Cancel, /testrule, /rules with delete, limits, hostile
input, and groups where only administrators add rules; in Russian and English."""

from __future__ import annotations

import html
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

USER, ENGLISH = 7001, 7002
GROUP, ADMIN, MEMBER = -700, 71, 72

ARCHIVE = [  # the first poll: the archive a rule is tested against
    Item(
        title="Казахстан ответил на новые санкции Евросоюза",
        link="https://agency.example/a/1",
        description="<p>Астана прокомментировала санкции.</p>",
        published=NOW - timedelta(days=2),
    ),
    Item(
        title="Футбол: санкции против клуба из Казахстана",
        link="https://agency.example/a/2",
        description="<p>Федерация футбола Казахстана наказала клуб.</p>",
        published=NOW - timedelta(days=1),
    ),
    Item(
        title="Россия продлила санкции против поставщиков",
        link="https://agency.example/a/3",
        description="<p>Москва продлила ограничения.</p>",
        published=NOW - timedelta(hours=5),
    ),
    Item(
        title="EU sanctions hit Kazakhstan steel exporters",
        link="https://agency.example/a/4",
        description="<p>Brussels announced the sanctions.</p>",
        published=NOW - timedelta(hours=3),
    ),
    Item(
        title="Санкции против Казахстана десятилетней давности",
        link="https://agency.example/a/5",
        description="<p>Старая история.</p>",
        published=NOW - timedelta(days=9),  # older than the test's 7 days
    ),
]

FRESH = [  # the second poll: new articles for the digests
    Item(
        title="Казахстан столкнулся с санкциями из-за транзита",
        link="https://agency.example/b/1",
        description="<p>Транзит через Казахстан попал под ограничения.</p>",
        published=NOW + timedelta(minutes=5),
    ),
    Item(
        title="Генассамблея ООН приняла резолюцию о мире",
        link="https://agency.example/b/2",
        description="<p>Резолюция ООН принята большинством голосов.</p>",
        published=NOW + timedelta(minutes=6),
    ),
    Item(
        title="Футбольный клуб Казахстана получил санкции: футбол без зрителей",
        link="https://agency.example/b/3",
        description="<p>Матчи пройдут без зрителей.</p>",
        published=NOW + timedelta(minutes=7),
    ),
    Item(
        title="Kazakhstan faces new sanctions over transit",
        link="https://agency.example/b/4",
        description="<p>Transit through Kazakhstan is under sanctions.</p>",
        published=NOW + timedelta(minutes=8),
    ),
    Item(
        title="Кирпичный завод увеличил выпуск продукции",
        link="https://agency.example/b/5",
        description="<p>Завод выпустил больше кирпича.</p>",
        published=NOW + timedelta(minutes=9),
    ),
]


class Env:
    """The running bot plus a way to poll the feed again and to deliver what was planned."""

    def __init__(self, env, feed_server, feed) -> None:
        self.bot_env, self.feed_server, self.feed = env, feed_server, feed

    def __getattr__(self, name):
        return getattr(self.bot_env, name)

    @property
    def digests(self):
        return self.bot_env.dp["digests"]

    async def poll(self, items, at) -> int:
        self.feed_server.add("/rss", rss(items, title="Agency"))
        async with Fetcher(allow_private=True, timeout=5.0) as fetcher:
            ingestor = Ingestor(
                feeds=self.feeds, articles=ArticleRepo(self.db), fetcher=fetcher,
                classifier=self.classifier, poll_interval=timedelta(minutes=10), clock=lambda: at,
            )  # fmt: skip
            feed = await self.feeds.get(self.feed.id)
            return (await ingestor.poll_feed(feed)).new

    async def deliver(self, chat_ids) -> dict[int, list[str]]:
        """Send every queued message; returns the digest messages each chat received."""
        before = {c: len(self.server.sent(c)) for c in chat_ids}
        queued = {
            c: await self.db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND status = 'pending'", (c,)
            )
            for c in chat_ids
        }
        sender = Sender(self.bot, stores_over(self.db), rate=0, idle_poll=0.2)
        sender.start()
        try:
            for chat_id in chat_ids:
                await self.server.wait_sent(chat_id, before[chat_id] + queued[chat_id])
        finally:
            await sender.stop()
        return {c: [m["text"] for m in self.server.sent(c)[before[c] :]] for c in chat_ids}


@pytest.fixture
async def env(tmp_path, feed_server):
    feed_server.add("/rss", rss(ARCHIVE, title="Agency"))
    async with running_bot(tmp_path, services) as bot_env:
        feed = await bot_env.feeds.add(feed_server.url("/rss"), now=NOW - timedelta(days=10))
        wrapped = Env(bot_env, feed_server, feed)
        assert await wrapped.poll(ARCHIVE, NOW) == len(ARCHIVE)  # a first poll: backfill
        yield wrapped


async def subscribe(env, chat_id: int, lang: str = "ru", *, instant: bool = True) -> None:
    await env.send(chat_id, "/start", lang=lang)
    await env.tap(chat_id, "ООН" if lang == "ru" else "United Nations")
    await env.tap(chat_id, "Готово" if lang == "ru" else "Done")
    await env.tap(chat_id, "Оставить" if lang == "ru" else "Keep")
    if instant:
        await env.chats.set_schedule(chat_id, mode="instant", times=[], weekday=None, now=NOW)
    # the first digest's 24-hour look-back is tested elsewhere: these chats had one already
    await env.db.execute(
        "UPDATE chats SET first_digest_at = ? WHERE id = ?", ("2025-01-01T00:00:00Z", chat_id)
    )


async def add_rule(env, chat_id: int, text: str, save: str = "Сохранить") -> dict:
    (reply,) = await env.send(chat_id, f"/rule {text}")
    await env.tap(chat_id, save)
    return reply


async def offer(env, chat_id: int, text: str, **kw) -> tuple[int, dict]:
    """A command answered by one message: (its message_id, its send params)."""
    (reply,) = await env.send(chat_id, text, **kw)
    return env.server.last_message(chat_id)[0], reply


def digest_count(texts: list[str]) -> int:
    return sum(1 for text in texts if text.startswith("📰"))


# -- the whole way: /rule → test → Save → instant and scheduled digests


async def test_rule_test_save_and_instant_digest_in_russian(env):
    await subscribe(env, USER)
    other = USER + 100
    await subscribe(env, other)  # no rules: gets only its topic
    offer_id, reply = await offer(env, USER, "/rule санкции -футбол @kz")
    text = reply["text"]
    assert "санкции -футбол @kz" in text and "подошло бы статей: 1" in text
    assert ARCHIVE[0].title in text
    assert ARCHIVE[1].title not in text and ARCHIVE[2].title not in text  # football; Russia
    assert ARCHIVE[3].title not in text  # English words are other words
    assert ARCHIVE[4].title not in text  # older than 7 days
    buttons = env.server.buttons(USER, offer_id)
    assert [label for label, _ in buttons] == ["💾 Сохранить", "Отмена"]
    assert all(len(data.encode()) <= 64 for _, data in buttons)
    await env.tap(USER, "Сохранить")
    assert "Правило сохранено" in env.screen(USER)["text"]
    assert env.server.buttons(USER, offer_id) == []  # saved: the buttons are gone

    assert await env.poll(FRESH, NOW + timedelta(minutes=10)) == len(FRESH)
    assert await env.digests.deliver_instant(NOW + timedelta(minutes=10)) == 2
    got = await env.deliver([USER, other])
    assert digest_count(got[USER]) == 1 and len(got[USER]) == 1
    mine = got[USER][0]
    assert "Правило: санкции -футбол @kz" in mine
    assert FRESH[0].title in mine  # «санкциями»
    assert FRESH[2].title not in mine  # -футбол
    assert FRESH[3].title not in mine and FRESH[4].title not in mine  # no rule, no topic
    assert (
        FRESH[1].title in mine
        and "тема: ООН" in mine
        and "по правилу «санкции -футбол @kz»" in mine
    )
    assert len(got[other]) == 1 and FRESH[0].title not in got[other][0]
    assert "Правило" not in got[other][0] and "тема:" not in got[other][0]
    # nothing is sent twice
    assert await env.digests.deliver_instant(NOW + timedelta(minutes=11)) == 0


async def test_scheduled_digest_and_latest_in_english(env):
    await env.send(ENGLISH, "/start", lang="en")
    await env.tap(ENGLISH, "United Nations")
    await env.tap(ENGLISH, "Done")
    await env.tap(ENGLISH, "Keep")
    await env.db.execute(
        "UPDATE chats SET first_digest_at = '2025-01-01T00:00:00Z' WHERE id = ?", (ENGLISH,)
    )
    (reply,) = await env.send(ENGLISH, '/rule sanction "new sanctions"', lang="en")
    assert "would have matched in the last 7 days: 0" in reply["text"]
    await env.tap(ENGLISH, "Save")
    assert "Rule saved" in env.screen(ENGLISH)["text"]
    await env.poll(FRESH, NOW + timedelta(minutes=10))
    chat = await env.chats.get(ENGLISH)
    assert chat.mode == "daily"
    # the next 09:00 in Moscow
    due = NOW.replace(hour=6, minute=1) + timedelta(days=1)
    env.clock_value[0] = due
    report = await env.digests.run_due(due)
    assert report.queued == 1
    got = await env.deliver([ENGLISH])
    assert digest_count(got[ENGLISH]) == 1 and len(got[ENGLISH]) == 1
    text = html.unescape(got[ENGLISH][0])
    assert 'Rule: sanction "new sanctions"' in text
    assert FRESH[3].title in text  # "new sanctions": in this order, adjacent
    assert FRESH[1].title in text and "topic: United Nations" in text
    assert FRESH[0].title not in text  # Russian words: not "sanction"
    # /latest shows the rule's section too
    latest = await env.send(ENGLISH, "/latest", lang="en")
    assert any("Rule: sanction" in m["text"] and FRESH[3].title in m["text"] for m in latest)


async def test_phrase_order_in_testrule(env):
    await subscribe(env, USER)
    (ordered,) = await env.send(USER, '/testrule "new sanctions"')
    (reversed_,) = await env.send(USER, '/testrule "sanctions new"')
    assert "подошло бы статей: 0" in ordered["text"]  # the archive has "EU sanctions hit"
    await env.poll(FRESH, NOW + timedelta(minutes=10))
    (ordered,) = await env.send(USER, '/testrule "new sanctions"')
    (reversed_,) = await env.send(USER, '/testrule "sanctions new"')
    assert "подошло бы статей: 1" in ordered["text"] and FRESH[3].title in ordered["text"]
    assert "подошло бы статей: 0" in reversed_["text"]
    assert ordered.get("reply_markup") is None  # /testrule saves nothing and offers nothing
    assert await env.db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0
    (plain,) = await env.send(USER, "/testrule санкции")
    assert "подошло бы статей: 5" in plain["text"]  # any form; the 9-day-old one is out


async def test_cancel_and_restart_safe_buttons(env):
    await subscribe(env, USER)
    offer_id, _ = await offer(env, USER, "/rule санкции")
    await env.tap(USER, "Отмена")
    assert "не сохранено" in env.screen(USER)["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 0
    # a button pressed again (or after the draft is gone) says so, and saves nothing
    draft_data = "kr:s:999999"
    answer = await env.press(USER, offer_id, draft_data)
    assert "уже сохранено, отменено или удалено" in answer["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 0


async def test_rules_list_and_delete(env):
    await subscribe(env, USER)
    await add_rule(env, USER, "санкции @kz")
    await add_rule(env, USER, '"нефтяное эмбарго"')
    (listing,) = await env.send(USER, "/rules")
    assert "1. санкции @kz" in listing["text"] and '2. "нефтяное эмбарго"' in listing["text"]
    await env.tap(USER, "1. санкции")
    screen = env.screen(USER)["text"]
    assert "санкции @kz" not in screen and '1. "нефтяное эмбарго"' in screen
    await env.tap(USER, "1.")
    assert "Правил пока нет" in env.screen(USER)["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 0
    await env.send(USER, "/stop")
    await env.tap(USER, "Да")
    assert await env.chats.get(USER) is None


async def test_rules_go_with_the_chat(env):
    await subscribe(env, USER)
    await add_rule(env, USER, "санкции")
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 1
    await env.chats.delete(USER)
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 0


# -- limits and hostile input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/rule", "Правило пустое"),
        ('/rule "санкции', "Кавычка не закрыта"),
        ("/rule -футбол @kz", "только исключения или страны"),
        ("/rule санкции @zz", "Неизвестный код страны: @zz"),
        ("/rule " + " ".join(f"слово{i}" for i in range(11)), "не больше 10"),
        ("/rule " + "б" * 51, "не больше 50 символов"),
        ("/rule " + "<b>&amp;" * 1250, "Правило слишком длинное"),
        ("/rule санк\x07ции", "управляющие"),
        ("/testrule !!!", "нет ни букв, ни цифр"),
    ],
)
async def test_refusals_in_russian(env, text, expected):
    await subscribe(env, USER)
    (reply,) = await env.send(USER, text)
    assert expected in reply["text"], reply["text"]
    assert "/rule слова" in reply["text"] or "Формат" in reply["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0


async def test_refusals_in_english(env):
    await env.send(ENGLISH, "/start", lang="en")
    (reply,) = await env.send(ENGLISH, '/rule "oil embargo', lang="en")
    assert "A quote is not closed" in reply["text"] and "Usage" in reply["text"]
    (reply,) = await env.send(ENGLISH, "/rule -football", lang="en")
    assert "only exclusions or countries" in reply["text"]
    (reply,) = await env.send(ENGLISH, "/rule sanctions @xx", lang="en")
    assert "Unknown country code: @xx" in reply["text"]


async def test_hostile_html_is_escaped_and_the_bot_keeps_working(env):
    await subscribe(env, USER)
    (refused,) = await env.send(USER, "/rule <script>alert(1)</script> &")
    assert "«&amp;» нет ни букв" in refused["text"]
    (reply,) = await env.send(USER, '/rule <script>alert(1)</script> "<b>"')
    assert "<script>" not in reply["text"] and '"script alert 1 script" "b"' in reply["text"]
    await env.tap(USER, "Сохранить")
    (listing,) = await env.send(USER, "/rules")
    assert "<script>" not in listing["text"] and "1." in listing["text"]
    await env.poll(FRESH, NOW + timedelta(minutes=10))
    assert await env.digests.deliver_instant(NOW + timedelta(minutes=10)) == 1
    got = await env.deliver([USER])
    assert digest_count(got[USER]) == 1  # the topic's article, the rule matched nothing
    (after,) = await env.send(USER, "/testrule санкции")
    assert "подошло бы статей" in after["text"]


async def test_twenty_rules_at_most(env):
    await subscribe(env, USER)
    for n in range(20):
        await add_rule(env, USER, f"слово{n}")
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (USER,)) == 20
    (reply,) = await env.send(USER, "/rule ещё")
    assert "уже 20 правил" in reply["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (USER,)) == 20


async def test_two_drafts_saved_past_the_limit_are_refused(env):
    await subscribe(env, USER)
    for n in range(19):
        await add_rule(env, USER, f"слово{n}")
    first, _ = await offer(env, USER, "/rule первое")
    second, _ = await offer(env, USER, "/rule второе")
    await env.tap(USER, "Сохранить", message_id=first)
    answer = await env.tap(USER, "Сохранить", message_id=second)
    assert answer["show_alert"] is True and "уже 20 правил" in answer["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (USER,)) == 20


# -- groups


async def test_group_members_cannot_add_or_delete_rules(env):
    env.server.set_member_status(GROUP, ADMIN, "administrator")
    await env.send(GROUP, "/start", user_id=ADMIN, chat_type="group")
    (refused,) = await env.send(GROUP, "/rule санкции", user_id=MEMBER, chat_type="group")
    assert "администраторы" in refused["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM rule_drafts") == 0
    offer_id, _ = await offer(env, GROUP, "/rule санкции", user_id=ADMIN, chat_type="group")
    answer = await env.tap(GROUP, "Сохранить", message_id=offer_id, user_id=MEMBER)
    assert answer["show_alert"] is True and "администраторы" in answer["text"]
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 0
    await env.tap(GROUP, "Сохранить", message_id=offer_id, user_id=ADMIN)
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (GROUP,)) == 1
    (listing,) = await env.send(GROUP, "/rules", user_id=MEMBER, chat_type="group")
    assert "1. санкции" in listing["text"]  # anyone may look
    answer = await env.tap(GROUP, "1.", user_id=MEMBER)
    assert answer["show_alert"] is True
    assert await env.db.fetchval("SELECT COUNT(*) FROM chat_rules") == 1
    (tested,) = await env.send(GROUP, "/testrule санкции", user_id=MEMBER, chat_type="group")
    assert "подошло бы статей" in tested["text"]


async def test_manual_digest_carries_the_rule_section_once(env):
    await subscribe(env, USER, instant=False)
    await add_rule(env, USER, "санкции @kz")
    await env.poll(FRESH, NOW + timedelta(minutes=10))
    assert await env.send(USER, "/digest") == []  # queued for the sender
    got = await env.deliver([USER])
    assert digest_count(got[USER]) == 1 and len(got[USER]) == 1
    text = got[USER][0]
    assert "Правило: санкции @kz" in text and FRESH[0].title in text and FRESH[2].title in text
    (again,) = await env.send(USER, "/digest")
    assert "Ничего нового" in again["text"]
