"""AlertLog and DraftRepo: small admin-side state (alert de-duplication, button drafts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database
from storage.timefmt import from_db, to_db


class AlertLog:
    """One row per alert key: an alert is sent again only after its quiet period."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: str, text: str, *, now: datetime, quiet: timedelta) -> bool:
        """True (and the send recorded) if `key` was not sent within `quiet` before `now`."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT last_sent_at FROM alerts WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            last = from_db(row[0]) if row is not None else None
            if last is not None and now - last < quiet:
                return False
            await conn.execute(
                "INSERT INTO alerts (key, last_sent_at, text) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET last_sent_at = excluded.last_sent_at,"
                " text = excluded.text",
                (key, to_db(now), text),
            )
        return True



class DraftRepo:
    """What an inline button must remember but cannot carry in 64 bytes of callback data."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, kind: str, payload: str, *, by: int, now: datetime) -> int:
        return await self.db.insert(
            "INSERT INTO admin_drafts (kind, payload, created_by, created_at) VALUES (?, ?, ?, ?)",
            (kind, payload, by, to_db(now)),
        )

    async def get(self, draft_id: int, kind: str) -> str | None:
        return await self.db.fetchval(
            "SELECT payload FROM admin_drafts WHERE id = ? AND kind = ?", (draft_id, kind)
        )

    async def take(self, draft_id: int, kind: str) -> str | None:
        """The payload, deleted in the same step (a button pressed twice acts once)."""
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "DELETE FROM admin_drafts WHERE id = ? AND kind = ? RETURNING payload",
                (draft_id, kind),
            ) as cur,
        ):
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def purge(self, older_than: datetime) -> None:
        await self.db.execute("DELETE FROM admin_drafts WHERE created_at < ?", (to_db(older_than),))
