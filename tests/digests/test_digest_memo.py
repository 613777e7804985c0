"""A tick plans one digest for the chats that would get the same one (DigestService's memo).

Each chat's queued messages must be exactly what planning that chat alone gives (`preview`,
which plans one chat with no memo): chats alike in every way share a text, and a chat that
differs in one thing the digest depends on — topics, countries, "everything", language, time zone,
cursor, format, first digest, a muted source — gets its own (a chat with keyword rules or
forum threads is planned apart: tests/understand/test_chatrules.py, test_digest_forum.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

from storage.chats import ChatRepo
from storage.outbox import MESSAGE_TEXT
from storage.timefmt import to_db
from tests.digests import test_digest_jobs as jobs
from tests.digests.test_digest_jobs import T0, add_article, subscribe

SLOT = T0 + timedelta(hours=1)  # 09:00 in Moscow, 11:00 in Yekaterinburg


# the same fixtures as the digest job tests
clock = jobs.clock
service = jobs.service


async def queued(db, chat_id: int) -> tuple[str, list[str]]:
    """The chat's messages: their format and the compact parts (a rich one's fallback)."""
    rows = await db.fetchall(
        f"SELECT format, {MESSAGE_TEXT} AS text, fallback FROM outbox WHERE chat_id = ?"
        " ORDER BY id",
        (chat_id,),
    )
    if rows and rows[0]["format"] == "rich":
        assert "<details>" in rows[0]["text"] and len(rows) == 1
        return "rich", json.loads(rows[0]["fallback"])
    return "html", [r["text"] for r in rows]


async def test_chats_alike_share_a_digest_and_each_difference_gets_its_own(db, service, clock):
    cis = await add_article(
        db, topics=("cis",), countries=("by",), published=T0 - timedelta(days=1)
    )
    for n in range(6):
        await add_article(db, topics=("un",), countries=("kz",) if n % 2 else (), cluster=1 + n % 3,
                          source=("BelTA", "Kabar", "Khovar")[n % 3],
                          published=T0 - timedelta(hours=3 * n))  # fmt: skip
    await add_article(db, topics=(), title="Untagged brick factory news")
    await add_article(db, topics=("osce",), title="OSCE: a topic chats 1-12 did not choose")
    await add_article(db, backfill=True, title="A new feed's first poll")  # first digests only
    repo = ChatRepo(db)
    for chat_id in range(1, 14):
        await subscribe(db, chat_id)
    await db.execute("UPDATE chats SET first_digest_at = ?, cursor_article_id = 0",
                     (to_db(T0 - timedelta(days=30)),))  # fmt: skip
    await repo.set_topics(12, ["cis", "un"], T0)  # the same topics, chosen in another order
    await repo.set_countries(4, ["kz"], T0)
    await repo.set_all_sources(5, T0)  # untagged news too
    await repo.set_topics(13, [], T0)  # every topic, but only tagged news: not chat 5's digest
    await repo.set_language(6, "en", T0)
    await repo.set_timezone(7, "Asia/Yekaterinburg", T0)
    await repo.set_schedule(7, mode="daily", times=("11:00",), weekday=None, now=T0)
    await db.execute("UPDATE chats SET cursor_article_id = ? WHERE id = 8", (cis,))
    await repo.set_digest_format(9, "rich", T0)
    await db.execute("UPDATE chats SET first_digest_at = NULL WHERE id = 10")
    feed = await db.insert(
        "INSERT INTO feeds (url, title, created_at) VALUES ('https://belta.by/rss', 'BelTA', ?)",
        (to_db(T0),),
    )
    await db.execute("UPDATE articles SET feed_id = ? WHERE source = 'BelTA'", (feed,))
    assert await repo.toggle_muted_feed(11, feed)
    clock.now = SLOT
    alone = {chat_id: await service.preview(chat_id) for chat_id in range(1, 14)}

    report = await service.tick()

    assert report.queued == 13
    got = {chat_id: await queued(db, chat_id) for chat_id in range(1, 14)}
    assert {chat_id: parts for chat_id, (_, parts) in got.items()} == alone
    assert got[1] == got[2] == got[3] == got[12]  # alike in every way
    for other in range(4, 12):
        assert got[other] != got[1], other
    assert got[13] != got[5] and got[13] != got[1]
