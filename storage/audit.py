"""AuditLog: every admin action (and refused attempt) with who, what and when."""

from __future__ import annotations

from datetime import datetime

from bot.domain import AuditEntry
from storage.db import Database
from storage.timefmt import from_db, to_db


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        actor_id: int,
        action: str,
        *,
        now: datetime,
        target: object = None,
        details: str | None = None,
    ) -> int:
        return await self.db.insert(
            "INSERT INTO audit_log (at, actor_id, action, target, details) VALUES (?, ?, ?, ?, ?)",
            (to_db(now), actor_id, action, None if target is None else str(target), details),
        )

    async def recent(self, *, limit: int = 20, offset: int = 0) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        return [
            AuditEntry(
                r["id"],
                from_db(r["at"]),  # type: ignore[arg-type]
                r["actor_id"],
                r["action"],
                r["target"],
                r["details"],
            )
            for r in rows
        ]

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM audit_log"))
