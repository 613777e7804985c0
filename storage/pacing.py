"""Send pacing shared by every process on the database: DELIVERY_RATE, per-chat spacing, flood waits.

Rows of `delivery_pacing` hold epoch seconds: `global` (the next free slot of the bot-wide
rate), `pause` (a bot-wide flood wait ends), `chat:<id>` (that chat may get its next message).
A reservation reads and moves them in one write transaction, so two processes never take the
same slot. Only used when several processes may share the database (PostgreSQL); the only
process of a SQLite file paces itself in memory (bot.delivery.ratelimit).
"""

from __future__ import annotations

from storage.db import Database

_PRUNE_EVERY = 500  # reservations between deletions of chat rows whose time is long past


class PacingRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._since_prune = 0

    async def reserve(
        self, chat_id: int, now: float, *, interval: float, chat_interval: float
    ) -> float:
        """Take the next send slot for `chat_id`: the earliest moment at or after `now` that the
        bot-wide rate, any flood wait and the chat's own spacing allow. Returns that moment
        (epoch seconds); the caller waits until then and sends."""
        chat_key = f"chat:{chat_id}"
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT key, next_at FROM delivery_pacing WHERE key IN ('global', 'pause', ?)",
                (chat_key,),
            ) as cur:
                times = {r[0]: float(r[1]) for r in await cur.fetchall()}
            start = max(now, *times.values()) if times else now
            await conn.executemany(
                "INSERT INTO delivery_pacing (key, next_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET next_at = excluded.next_at",
                [("global", start + interval), (chat_key, start + chat_interval)],
            )
            self._since_prune += 1
            if self._since_prune >= _PRUNE_EVERY:
                self._since_prune = 0
                await conn.execute(
                    "DELETE FROM delivery_pacing WHERE key LIKE 'chat:%' AND next_at < ?",
                    (now - 3600,),
                )
        return start

    async def hold(self, key: str, until: float) -> None:
        """Nobody sends (key `pause`) or nobody sends to a chat (`chat:<id>`) before `until`."""
        await self.db.execute(
            "INSERT INTO delivery_pacing (key, next_at) VALUES (?, ?) ON CONFLICT (key)"
            " DO UPDATE SET next_at = CASE WHEN excluded.next_at > delivery_pacing.next_at"
            " THEN excluded.next_at ELSE delivery_pacing.next_at END",
            (key, until),
        )

    async def get(self, key: str) -> float | None:
        value = await self.db.fetchval("SELECT next_at FROM delivery_pacing WHERE key = ?", (key,))
        return None if value is None else float(value)
