"""Which webhook updates were taken and handled (`webhook_updates`), shared by every process
behind one webhook URL, so that an update Telegram delivers twice is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import Claim
from storage.db import Database
from storage.timefmt import to_db


class UpdateLedger:
    """Insert-if-absent decides who handles an update; `done` marks it handled.

    A claim not marked done within `lease` belongs to a process that died (or whose handling
    failed without releasing it) and can be taken over. Rows older than `keep` are pruned at
    each claim: Telegram keeps an update for 24 hours, so no redelivery comes later.
    """

    def __init__(
        self,
        db: Database,
        *,
        lease: timedelta = timedelta(minutes=2),
        keep: timedelta = timedelta(days=2),
    ) -> None:
        self.db = db
        self.lease = lease
        self.keep = keep

    async def claim(self, bot_id: int, update_id: int, *, now: datetime) -> Claim:
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM webhook_updates WHERE bot_id = ? AND received_at < ?",
                (bot_id, to_db(now - self.keep)),
            )
            async with conn.execute(
                "INSERT INTO webhook_updates (bot_id, update_id, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT (bot_id, update_id) DO UPDATE SET received_at = excluded.received_at"
                " WHERE webhook_updates.handled_at IS NULL AND webhook_updates.received_at < ?"
                " RETURNING update_id",
                (bot_id, update_id, to_db(now), to_db(now - self.lease)),
            ) as cur:
                if await cur.fetchone() is not None:
                    return Claim.MINE
            async with conn.execute(
                "SELECT handled_at FROM webhook_updates WHERE bot_id = ? AND update_id = ?",
                (bot_id, update_id),
            ) as cur:
                row = await cur.fetchone()
        return Claim.BUSY if row is None or row[0] is None else Claim.DONE

    async def done(self, bot_id: int, update_id: int, *, now: datetime) -> None:
        await self.db.execute(
            "UPDATE webhook_updates SET handled_at = ? WHERE bot_id = ? AND update_id = ?",
            (to_db(now), bot_id, update_id),
        )

    async def release(self, bot_id: int, update_id: int) -> None:
        """Handling failed: the next delivery of the update is handled afresh."""
        await self.db.execute(
            "DELETE FROM webhook_updates WHERE bot_id = ? AND update_id = ? AND handled_at IS NULL",
            (bot_id, update_id),
        )
