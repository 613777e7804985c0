"""BroadcastRepo: an announcement queued into the outbox for every active subscriber, and its tally."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.domain import BroadcastTally
from storage.db import Database, count_where
from storage.timefmt import to_db


class BroadcastRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, text: str, *, by: int, now: datetime) -> int:
        """One transaction: the broadcast, a `digests` row (kind broadcast) and an outbox row
        per active, not banned chat. Delivery then treats them like any digest part."""
        stamp = to_db(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "INSERT INTO broadcasts (text, created_by, created_at) VALUES (?, ?, ?) RETURNING id",
                (text, by, stamp),
            ) as cur:
                broadcast_id = int((await cur.fetchone())[0])
            async with conn.execute(
                "SELECT id FROM chats WHERE status = 'active'"
                " AND id NOT IN (SELECT subject_id FROM bans) ORDER BY id"
            ) as cur:
                chat_ids = [r[0] for r in await cur.fetchall()]
            for chat_id in chat_ids:
                digest_id = await _insert_digest(conn, chat_id, now)
                await conn.execute(
                    "INSERT INTO outbox (chat_id, digest_id, part, text, not_before, created_at)"
                    " VALUES (?, ?, 0, ?, ?, ?)",
                    (chat_id, digest_id, text, stamp, stamp),
                )
                await conn.execute(
                    "INSERT INTO broadcast_digests (broadcast_id, digest_id) VALUES (?, ?)",
                    (broadcast_id, digest_id),
                )
            await conn.execute(
                "UPDATE broadcasts SET recipients = ? WHERE id = ?", (len(chat_ids), broadcast_id)
            )
        assert broadcast_id is not None
        return broadcast_id

    async def tally(self, broadcast_id: int) -> BroadcastTally:
        row = await self.db.fetchone(
            "SELECT COUNT(o.id), "
            + count_where("o.status = 'sent'")
            + ", "
            + count_where("o.status = 'failed'")
            + ", "
            + count_where("o.status = 'pending'")
            + " FROM broadcast_digests b JOIN outbox o ON o.digest_id = b.digest_id"
            " WHERE b.broadcast_id = ?",
            (broadcast_id,),
        )
        assert row is not None
        return BroadcastTally(broadcast_id, row[0], row[1], row[2], row[3])


async def _insert_digest(conn: Any, chat_id: int, now: datetime) -> int:
    """A `digests` row of kind broadcast; two broadcasts in one second shift to the next one."""
    slot = now
    while True:
        async with conn.execute(
            "INSERT INTO digests (chat_id, slot_at, kind, article_count, created_at)"
            " VALUES (?, ?, 'broadcast', 0, ?) ON CONFLICT (chat_id, kind, slot_at) DO NOTHING"
            " RETURNING id",
            (chat_id, to_db(slot), to_db(now)),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            return int(row[0])
        slot += timedelta(seconds=1)
