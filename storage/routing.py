"""ChatRouting: forum groups send each topic's digest items to a thread of their own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.db import Database
from storage.errors import ConflictError
from storage.timefmt import to_db

_CHUNK = 500  # chat ids per query: well under SQLite's bound-parameter limit


class ChatRouting:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def routes(self, chat_id: int) -> dict[str, int]:
        """{topic slug or '*': message_thread_id} for the chat; empty = no forum routing."""
        rows = await self.db.fetchall(
            "SELECT topic, thread_id FROM chat_routes WHERE chat_id = ? ORDER BY topic", (chat_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def routes_for(self, chat_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """routes() of many chats at once (a planning pass); chats without routes are absent."""
        ids = list(dict.fromkeys(chat_ids))
        found: dict[int, dict[str, int]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = await self.db.fetchall(
                "SELECT chat_id, topic, thread_id FROM chat_routes"
                f" WHERE chat_id IN ({','.join('?' * len(chunk))}) ORDER BY chat_id, topic",
                chunk,
            )
            for chat_id, topic, thread_id in rows:
                found.setdefault(chat_id, {})[topic] = thread_id
        return found

    async def set_route(
        self, chat_id: int, topic: str, thread_id: int, *, by: int | None, now: datetime
    ) -> None:
        """Raises ConflictError if the chat is not subscribed (no chats row)."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)) as cur:
                if await cur.fetchone() is None:
                    raise ConflictError(f"chat {chat_id} is not subscribed")
            await conn.execute(
                "INSERT INTO chat_routes (chat_id, topic, thread_id, set_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id, topic) DO UPDATE SET"
                " thread_id = excluded.thread_id, set_by = excluded.set_by,"
                " updated_at = excluded.updated_at",
                (chat_id, topic, thread_id, by, to_db(now)),
            )

    async def remove_route(self, chat_id: int, topic: str) -> bool:
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "DELETE FROM chat_routes WHERE chat_id = ? AND topic = ?", (chat_id, topic)
            ) as cur,
        ):
            return cur.rowcount > 0
