"""What monitoring asks the database on each scrape: is it there, how many feeds are polled, and
how long the outbox queue is. Cheap reads (the feeds table is small; pending rows use the
outbox's status index)."""

from __future__ import annotations

from bot.domain import Snapshot
from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.timefmt import from_db


class MonitoringRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def snapshot(self) -> Snapshot:
        """One read of what /metrics and /healthz report; DatabaseUnavailable if it fails."""
        try:
            feeds = await self.db.fetchval(
                "SELECT COUNT(*) FROM feeds WHERE active = 1 AND paused = 0"
            )
            row = await self.db.fetchone(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"
            )
        except Exception as exc:  # whatever the engine raises: the answer is "not reachable"
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        assert row is not None
        return Snapshot(int(feeds), int(row[0]), from_db(row[1]))
