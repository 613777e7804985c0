"""AccessRepo: who may subscribe — the access mode, invites, grants, approval requests and bans."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.domain import ACCESS_MODES, AccessRequest, Ban, Invite
from storage.db import Database
from storage.outbox import cancel_pending
from storage.timefmt import from_db, to_db

log = logging.getLogger(__name__)


def _invite(row: Any) -> Invite:
    return Invite(
        code=row["code"],
        max_uses=row["max_uses"],
        uses=row["uses"],
        created_by=row["created_by"],
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
        revoked=bool(row["revoked"]),
    )


def _request(row: Any) -> AccessRequest:
    return AccessRequest(
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        name=row["name"],
        language=row["language"],
        status=row["status"],
        requested_at=from_db(row["requested_at"]),  # type: ignore[arg-type]
    )


class AccessRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- mode

    async def mode(self) -> str:
        value = await self.db.fetchval("SELECT value FROM access_settings WHERE key = 'mode'")
        return value if value in ACCESS_MODES else "open"

    async def set_mode(self, mode: str) -> None:
        if mode not in ACCESS_MODES:
            raise ValueError(f"unknown access mode {mode!r}; expected one of {ACCESS_MODES}")
        await self.db.execute(
            "INSERT INTO access_settings (key, value) VALUES ('mode', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (mode,),
        )

    # -- grants

    async def is_granted(self, chat_id: int) -> bool:
        row = await self.db.fetchone("SELECT 1 FROM access_grants WHERE chat_id = ?", (chat_id,))
        return row is not None

    # -- invites

    async def create_invite(self, code: str, *, max_uses: int, by: int, now: datetime) -> Invite:
        if max_uses < 1:
            raise ValueError("an invite needs at least one use")
        await self.db.execute(
            "INSERT INTO invites (code, max_uses, created_by, created_at) VALUES (?, ?, ?, ?)",
            (code, max_uses, by, to_db(now)),
        )
        invite = await self.invite(code)
        assert invite is not None
        return invite

    async def invite(self, code: str) -> Invite | None:
        row = await self.db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
        return None if row is None else _invite(row)

    async def invites(self, *, usable_only: bool = True) -> list[Invite]:
        rows = await self.db.fetchall("SELECT * FROM invites ORDER BY created_at DESC, code")
        found = [_invite(r) for r in rows]
        return [i for i in found if i.usable] if usable_only else found

    async def revoke_invite(self, code: str) -> bool:
        async with (
            self.db.transaction() as conn,
            conn.execute("UPDATE invites SET revoked = 1 WHERE code = ?", (code,)) as cur,
        ):
            return cur.rowcount > 0

    async def redeem(self, code: str, chat_id: int, now: datetime) -> bool:
        """Use one seat of the invite and grant the chat access, atomically; False if unusable."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE invites SET uses = uses + 1"
                " WHERE code = ? AND revoked = 0 AND uses < max_uses",
                (code,),
            ) as cur:
                if cur.rowcount == 0:
                    return False
            await conn.execute(
                "INSERT INTO access_grants (chat_id, via, granted_at) VALUES (?, ?, ?)"
                " ON CONFLICT (chat_id) DO NOTHING",
                (chat_id, f"invite:{code}", to_db(now)),
            )
        return True

    # -- approval requests

    async def request(
        self, chat_id: int, *, user_id: int, name: str | None, language: str, now: datetime
    ) -> bool:
        """Record a pending request; False if one is already pending (admins were told)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT status FROM access_requests WHERE chat_id = ?", (chat_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == "pending":
                return False
            await conn.execute(
                "INSERT INTO access_requests (chat_id, user_id, name, language, requested_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
                " user_id = excluded.user_id, name = excluded.name, language = excluded.language,"
                " status = 'pending', requested_at = excluded.requested_at,"
                " decided_by = NULL, decided_at = NULL",
                (chat_id, user_id, name, language, to_db(now)),
            )
        return True

    async def get_request(self, chat_id: int) -> AccessRequest | None:
        row = await self.db.fetchone("SELECT * FROM access_requests WHERE chat_id = ?", (chat_id,))
        return None if row is None else _request(row)

    async def pending_requests(self) -> list[AccessRequest]:
        rows = await self.db.fetchall(
            "SELECT * FROM access_requests WHERE status = 'pending' ORDER BY requested_at"
        )
        return [_request(r) for r in rows]

    async def decide(
        self, chat_id: int, *, approve: bool, by: int, now: datetime
    ) -> AccessRequest | None:
        """Approve or reject a pending request (granting access); None if it was not pending."""
        status = "approved" if approve else "rejected"
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE access_requests SET status = ?, decided_by = ?, decided_at = ?"
                " WHERE chat_id = ? AND status = 'pending'",
                (status, by, to_db(now), chat_id),
            ) as cur:
                if cur.rowcount == 0:
                    return None
            if approve:
                await conn.execute(
                    "INSERT INTO access_grants (chat_id, via, granted_by, granted_at)"
                    " VALUES (?, 'approval', ?, ?) ON CONFLICT (chat_id) DO NOTHING",
                    (chat_id, by, to_db(now)),
                )
        return await self.get_request(chat_id)

    # -- bans

    async def ban(self, subject_id: int, *, by: int, reason: str | None, now: datetime) -> bool:
        """False if already banned. A subscribed chat is paused too (nothing is sent to it)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "INSERT INTO bans (subject_id, reason, banned_by, banned_at, prev_status)"
                " VALUES (?, ?, ?, ?, (SELECT status FROM chats WHERE id = ?))"
                " ON CONFLICT (subject_id) DO NOTHING",
                (subject_id, reason, by, to_db(now), subject_id),
            ) as cur:
                if cur.rowcount == 0:
                    return False
            await conn.execute(
                "UPDATE chats SET status = 'paused', next_slot_at = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'active'",
                (to_db(now), subject_id),
            )
            # What was queued before the ban is not sent either, now or after an unban.
            await cancel_pending(conn, subject_id, "banned")
        return True

    async def unban(self, subject_id: int, now: datetime) -> bool:
        """Lift the ban; a chat paused by it becomes active again (its own pause stays)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "DELETE FROM bans WHERE subject_id = ? RETURNING prev_status", (subject_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return False
            if row[0] == "active":
                await conn.execute(
                    "UPDATE chats SET status = 'active', next_slot_at = NULL, updated_at = ?"
                    " WHERE id = ? AND status = 'paused'",
                    (to_db(now), subject_id),
                )
        return True

    async def is_banned(self, *subject_ids: int | None) -> bool:
        ids = [i for i in subject_ids if i is not None]
        if not ids:
            return False
        marks = ",".join("?" * len(ids))
        row = await self.db.fetchone(f"SELECT 1 FROM bans WHERE subject_id IN ({marks})", ids)
        return row is not None

    async def bans(self) -> list[Ban]:
        rows = await self.db.fetchall("SELECT * FROM bans ORDER BY banned_at DESC")
        return [
            Ban(r["subject_id"], r["reason"], r["banned_by"], from_db(r["banned_at"]))  # type: ignore[arg-type]
            for r in rows
        ]
