"""Rich digests (sendRichMessage): one message with a heading per topic and a collapsible block
per story, within Telegram's documented limits; refused (an older Bot API server, a 400), the
digest goes out in the compact format instead — each chat gets exactly one copy either way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.sender import Sender
from bot.digests.planner import DigestService
from bot.digests.render import Labels, render_rich_digest, rich_block_count, telegram_length
from bot.digests.selection import DigestFilter, select_digest
from bot.domain import Article
from storage.chats import ChatRepo
from storage.stores import stores_over
from storage.timefmt import to_db
from tests.support import fakebotapi_objects as obj
from tests.support.fakebotapi import FakeBotAPI

T0 = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)
LABELS = {"ru": Labels("ru", {"un": "ООН", "cis": "СНГ"}), "en": Labels("en", {"un": "UN"})}


def art(n: int, title: str = "", topics=("un",), source="BelTA", cluster=None) -> Article:
    return Article(
        id=n, feed_id=None, key=f"k{n}", url=f"https://example.org/{n}?a=1&b=2",
        title=title or f"Story {n}", summary="", lead="Lead " * 40, image_url=None,
        source=source, published_at=T0 - timedelta(minutes=n), fetched_at=T0, backfill=False,
        topics=topics, countries=("tj", "kz"), cluster_id=cluster,
    )  # fmt: skip


def rich(articles, **kw) -> str | None:
    digest = select_digest(articles, DigestFilter((), ()), after_id=0, topic_order=("cis", "un"),
                           cap=kw.pop("cap", 25))  # fmt: skip
    return render_rich_digest(digest, labels=LABELS["ru"], zone=UTC, now=T0, **kw)


def test_rich_digest_has_headings_collapsible_stories_and_escapes_feed_strings():
    articles = [
        art(1, "Тот же сюжет, позже", source="C & D <y>", cluster=7),
        art(2, "Совет <b>ООН</b> & партнёры", source="A & B <x>", cluster=7),  # first report
        art(3, "СНГ: заседание", topics=("cis",)),
    ]
    html_text = rich(articles)
    assert obj.check_rich({"html": html_text}) is None  # Telegram would accept it
    assert html_text.index("<h4>СНГ</h4>") < html_text.index("<h4>ООН</h4>")
    assert html_text.count("<details>") == 2  # the story told twice appears once
    assert "Совет &lt;b&gt;ООН&lt;/b&gt; &amp; партнёры" in html_text
    assert ">A &amp; B &lt;x&gt;</a>" in html_text  # the source, linked
    assert "также: C &amp; D &lt;y&gt;" in html_text  # the also-list, escaped
    assert "<x>" not in html_text and "<y>" not in html_text


@pytest.mark.parametrize(("text_limit", "block_limit"), [(32_768, 500), (3_000, 500), (32_768, 30)])
def test_rich_digest_is_cut_at_story_boundaries_within_the_limits(text_limit, block_limit):
    articles = [art(n, "Заголовок " * 25) for n in range(1, 120)]
    html_text = rich(articles, cap=200, text_limit=text_limit, block_limit=block_limit)
    assert telegram_length(html_text) <= text_limit and rich_block_count(html_text) <= block_limit
    shown = html_text.count("<details>")
    assert html_text.count("</details>") == shown  # no story cut in half
    footer = html_text.rsplit("<footer>", 1)[1]
    assert f"+{119 - shown} ещё — /latest" in footer  # nothing silently dropped
    assert obj.check_rich({"html": html_text}) is None


@pytest.mark.parametrize("block_limit", [30, 61])
def test_rich_digest_fills_the_block_limit_as_telegram_counts_it(block_limit):
    """Counted by the fake's parser, not the renderer's own count: the stories shown stay within
    the limit, and one more story would not have fitted (nothing left out needlessly)."""
    articles = [art(n, f"Story {n}") for n in range(1, 120)]
    html_text = rich(articles, cap=200, block_limit=block_limit)
    story = html_text[html_text.index("<details>") : html_text.index("</details>") + 10]
    per_story = obj.rich_blocks(story)
    used = obj.rich_blocks(html_text)
    assert used <= block_limit < used + per_story
    assert obj.check_rich({"html": html_text}) is None


def test_rich_digest_heading_is_the_title_and_the_chats_date_and_items_say_why():
    from zoneinfo import ZoneInfo

    from bot.digests.selection import Digest, DigestItem, DigestSection

    digest = Digest(sections=(DigestSection("un", (DigestItem(art(1)),)),), more=0, marked=True)
    late = datetime(2025, 6, 1, 20, 30, tzinfo=UTC)  # already 2 June in Dushanbe
    html_text = render_rich_digest(digest, labels=LABELS["ru"], zone=ZoneInfo("Asia/Dushanbe"),
                                   now=late, title="A & B <i>")  # fmt: skip
    assert html_text.startswith("<h3>📰 <b>A &amp; B &lt;i&gt;</b> · 02.06.2025</h3>")
    assert "тема: ООН</p>" in html_text  # a chat with rules sees what brought each story
    default = render_rich_digest(digest, labels=LABELS["en"], zone=UTC, now=late)
    assert default.startswith("<h3>📰 <b>Digest</b> · 01.06.2025</h3>")
    unmarked = Digest(sections=digest.sections, more=0)
    assert "тема:" not in render_rich_digest(unmarked, labels=LABELS["ru"], zone=UTC, now=late)
    assert obj.check_rich({"html": html_text}) is None


def test_the_fake_enforces_the_documented_rich_limits():
    too_long = "<p>" + "я" * 32_769 + "</p>"
    assert "TOO_LONG" in obj.check_rich({"html": too_long})
    too_many = "".join("<p>x</p>" for _ in range(501))
    assert "TOO_MANY_BLOCKS" in obj.check_rich({"html": too_many})
    assert "parse" in obj.check_rich({"html": "<details><p>x</p>"})
    assert (
        obj.check_rich({"html": "<h3>t</h3><details><summary>s</summary><p>x</p></details>"})
        is None
    )


# -- end to end: DigestService → outbox → Sender → fake Bot API


async def subscribe(db, chat_id: int, digest_format: str) -> None:
    repo = ChatRepo(db)
    await repo.ensure(chat_id, type="private", title=None, username=None, language="ru",
                      timezone="UTC", now=T0)  # fmt: skip
    await repo.set_topics(chat_id, ["un"], T0)
    await repo.set_digest_format(chat_id, digest_format, T0)


async def add_articles(db, count: int) -> None:
    for n in range(count):
        await db.execute(
            "INSERT INTO articles (key, url, title, lead, source, published_at, fetched_at,"
            " backfill, topics, countries) VALUES (?, ?, ?, 'lead', 'BelTA', ?, ?, 0, ?, '[]')",
            (f"k{n}", f"https://example.org/{n}", f"Новость {n} " + "слово " * 60,
             to_db(T0), to_db(T0), json.dumps(["un"])),
        )  # fmt: skip


async def run_digests(db, server: FakeBotAPI, chats: list[int]) -> None:
    bot = server.make_bot()
    sender = Sender(bot, stores_over(db), rate=0, idle_poll=0.1)
    service = DigestService(stores_over(db), labels_for=LABELS.__getitem__, clock=lambda: T0)
    for chat_id in chats:
        assert await service.digest_now(chat_id) > 0
    await sender.drain(timeout=30)
    await bot.session.close()


async def test_rich_chat_gets_one_rich_message_compact_chat_its_parts(db):
    await subscribe(db, 1, "rich")
    await subscribe(db, 2, "compact")
    await add_articles(db, 25)
    async with FakeBotAPI() as server:
        await run_digests(db, server, [1, 2])
        rich_sent = server.sent(1)
        assert len(rich_sent) == 1 and server.calls("sendRichMessage", 1)
        assert rich_sent[0]["rich_message"]["html"].count("<details>") == 25
        compact = server.sent(2)
        assert len(compact) >= 2 and not server.calls("sendRichMessage", 2)  # over 4096: parts


@pytest.mark.parametrize("refusal", ["400", "old server"])
async def test_a_refused_rich_digest_goes_out_compact_exactly_once(db, refusal):
    await subscribe(db, 1, "rich")
    await subscribe(db, 2, "rich")
    await add_articles(db, 25)
    async with FakeBotAPI() as server:
        if refusal == "400":
            server.fail_next("sendRichMessage", "400", chat_id=1,
                             description="Bad Request: can't parse rich message")  # fmt: skip
        else:
            server.rich_messages = False
        await run_digests(db, server, [1, 2])
        parts = server.sent(1)
        assert len(parts) >= 2 and all("text" in p for p in parts)  # compact parts, in order
        texts = [p["text"] for p in parts]
        assert all(f"Новость {n} " in "".join(texts) for n in range(25))
        assert len(set(texts)) == len(texts)  # nothing twice
        if refusal == "400":
            assert len(server.sent(2)) == 1  # the other chat still got its rich digest
        rows = await db.fetchall("SELECT status FROM outbox WHERE chat_id = 1 ORDER BY id")
        assert [r[0] for r in rows] == ["replaced"] + ["sent"] * len(parts)
        # a restart finds nothing left to send
        async with FakeBotAPI() as again:
            bot = again.make_bot()
            await Sender(bot, stores_over(db), rate=0, idle_poll=0.1).drain(timeout=10)
            await bot.session.close()
            assert again.sent(1) == [] and again.sent(2) == []
