"""Typed-input dialogs (aiogram FSM state and data) in the `fsm_states` table, shared by every
process on the database; a dialog untouched for `ttl` counts as none (a user who walked away is
not stuck in "type your time")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.domain import DialogKey
from storage.db import Database
from storage.timefmt import to_db

_KEY = "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ?" \
       " AND business_connection_id = ? AND destiny = ?"  # fmt: skip
_COLUMNS = "bot_id, chat_id, user_id, thread_id, business_connection_id, destiny"


class DialogRepo:
    """One row per key: the state's name (or NULL), its data as JSON text, when it was written.

    A write to a row older than `ttl` starts afresh: setting a state drops the stale data, and
    setting data drops the stale state. A row with no state and no data is deleted.
    """

    def __init__(self, db: Database, *, ttl: timedelta = timedelta(days=1)) -> None:
        self.db = db
        self.ttl = ttl

    async def state(self, key: DialogKey, *, now: datetime) -> str | None:
        return await self.db.fetchval(
            f"SELECT state FROM fsm_states WHERE {_KEY} AND updated_at >= ?",
            (*key.params(), to_db(now - self.ttl)),
        )

    async def data(self, key: DialogKey, *, now: datetime) -> dict[str, Any]:
        raw = await self.db.fetchval(
            f"SELECT data FROM fsm_states WHERE {_KEY} AND updated_at >= ?",
            (*key.params(), to_db(now - self.ttl)),
        )
        return {} if raw is None else json.loads(raw)

    async def set_state(self, key: DialogKey, state: str | None, *, now: datetime) -> None:
        await self._upsert(
            key, now, state, "{}",
            "state = excluded.state, data = CASE WHEN fsm_states.updated_at < ? THEN '{}'"
            " ELSE fsm_states.data END",
        )  # fmt: skip

    async def set_data(self, key: DialogKey, data: dict[str, Any], *, now: datetime) -> None:
        encoded = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        await self._upsert(
            key, now, None, encoded,
            "data = excluded.data, state = CASE WHEN fsm_states.updated_at < ? THEN NULL"
            " ELSE fsm_states.state END",
        )  # fmt: skip

    async def _upsert(
        self, key: DialogKey, now: datetime, state: str | None, data: str, assign: str
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO fsm_states ({_COLUMNS}, state, data, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT ({_COLUMNS}) DO UPDATE SET {assign},"
                " updated_at = excluded.updated_at",
                (*key.params(), state, data, to_db(now), to_db(now - self.ttl)),
            )
            await conn.execute(
                f"DELETE FROM fsm_states WHERE {_KEY} AND state IS NULL AND data = '{{}}'",
                key.params(),
            )

    async def purge(self, *, now: datetime) -> int:
        """Delete the dialogs older than `ttl` (already treated as none); returns how many."""
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "DELETE FROM fsm_states WHERE updated_at < ?", (to_db(now - self.ttl),)
            ) as cur,
        ):
            return cur.rowcount
