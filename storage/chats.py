"""Subscribers (people, groups, channels): the `chats` table, their filters and schedules."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain import Chat
from storage.codes import json_tuple
from storage.db import Database
from storage.errors import ChatNotFoundError
from storage.facade import decoded
from storage.outbox import cancel_pending
from storage.timefmt import from_db, to_db

log = logging.getLogger(__name__)

MODES = ("instant", "daily", "times", "weekly")
STATUSES = ("active", "paused", "blocked")
DIGEST_FORMATS = ("compact", "rich")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def chat_from_row(row: aiosqlite.Row) -> Chat:
    return Chat(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        username=row["username"],
        language=row["language"],
        timezone=row["timezone"],
        status=row["status"],
        mode=row["mode"],
        times=json_tuple(row["times"]),
        weekday=row["weekday"],
        topics=json_tuple(row["topics"]),
        countries=json_tuple(row["countries"]),
        cursor_article_id=row["cursor_article_id"],
        last_slot_at=from_db(row["last_slot_at"]),
        onboarded=bool(row["onboarded"]),
        added_by=row["added_by"],
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
        updated_at=from_db(row["updated_at"]),  # type: ignore[arg-type]
        all_sources=bool(row["all_sources"]),
        first_digest_at=from_db(row["first_digest_at"]),
        quiet=(row["quiet_from"], row["quiet_to"]) if row["quiet_from"] else None,
        digest_format=row["digest_format"],
    )


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


_NOT_BANNED = " AND id NOT IN (SELECT subject_id FROM bans)"  # an admin may resume a banned chat


class ChatRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due_for_slots(self, now: datetime) -> list[Chat]:
        """Active scheduled chats (not banned) whose cached next slot has passed or is unknown."""
        rows = await self.db.fetchall(
            "SELECT * FROM chats WHERE status = 'active' AND mode != 'instant'"
            " AND (next_slot_at IS NULL OR next_slot_at <= ?)" + _NOT_BANNED + " ORDER BY id",
            (to_db(now),),
        )
        return await decoded(rows, chat_from_row)

    async def due_instant(self, below: int) -> list[Chat]:
        """Active instant-mode chats (not banned) whose cursor is below article id `below`."""
        rows = await self.db.fetchall(
            "SELECT * FROM chats WHERE status = 'active' AND mode = 'instant'"
            " AND cursor_article_id < ?" + _NOT_BANNED + " ORDER BY id",
            (below,),
        )
        return await decoded(rows, chat_from_row)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return None if row is None else chat_from_row(row)

    async def ensure(
        self,
        chat_id: int,
        *,
        type: str,
        title: str | None,
        username: str | None,
        language: str,
        timezone: str,
        now: datetime,
        added_by: int | None = None,
    ) -> Chat:
        """The chat, created if new with its cursor at the newest stored article (no old flood).

        A new chat's `last_slot_at` is `now`: slots before it are not "missed".
        An existing chat only gets its title and username refreshed.
        """
        stamp = to_db(now)
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)) as cur:
                exists = await cur.fetchone() is not None
            if exists:
                await conn.execute(
                    "UPDATE chats SET title = ?, username = ? WHERE id = ?"
                    " AND (title IS DISTINCT FROM ? OR username IS DISTINCT FROM ?)",
                    (title, username, chat_id, title, username),
                )
            else:
                await conn.execute(
                    "INSERT INTO chats (id, type, title, username, language, timezone,"
                    " cursor_article_id, last_slot_at, added_by, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM articles),"
                    " ?, ?, ?, ?)",
                    (
                        chat_id,
                        type,
                        title,
                        username,
                        language,
                        timezone,
                        stamp,
                        added_by,
                        stamp,
                        stamp,
                    ),
                )
                log.info("new chat %s (%s)", chat_id, type)
        return await self._must_get(chat_id)

    async def set_topics(self, chat_id: int, topics: Sequence[str], now: datetime) -> Chat:
        """The chosen topics (empty: every topic); leaves "everything from my sources"."""
        return await self._update(chat_id, now, topics=json.dumps(_unique(topics)), all_sources=0)

    async def set_all_sources(self, chat_id: int, now: datetime) -> Chat:
        """Everything the sources publish, tagged or not (no topic filter)."""
        return await self._update(chat_id, now, topics="[]", all_sources=1)

    async def toggle_topic(self, chat_id: int, slug: str, now: datetime) -> Chat:
        chat = await self._toggle(chat_id, "topics", slug, now)
        if chat.all_sources:  # picking a topic narrows "everything" down to it
            chat = await self._update(chat_id, now, all_sources=0)
        return chat

    async def set_countries(self, chat_id: int, countries: Sequence[str], now: datetime) -> Chat:
        values = _unique([c.lower() for c in countries])
        return await self._update(chat_id, now, countries=json.dumps(values))

    async def set_quiet(self, chat_id: int, quiet: tuple[str, str] | None, now: datetime) -> Chat:
        """Quiet hours as local ("HH:MM", "HH:MM"), or None to turn them off."""
        if quiet is not None:
            for value in quiet:
                if not _HHMM.match(value):
                    raise ValueError(f"time {value!r} is not HH:MM")
            if quiet[0] == quiet[1]:
                raise ValueError("quiet hours need a start and an end that differ")
        start, end = quiet or (None, None)
        return await self._update(chat_id, now, quiet_from=start, quiet_to=end)

    async def set_digest_format(self, chat_id: int, digest_format: str, now: datetime) -> Chat:
        if digest_format not in DIGEST_FORMATS:
            raise ValueError(f"unknown digest format {digest_format!r}; expected {DIGEST_FORMATS}")
        return await self._update(chat_id, now, digest_format=digest_format)

    async def muted_feeds(self, chat_ids: Iterable[int]) -> dict[int, frozenset[int]]:
        """The sources each chat muted (chats without any are left out)."""
        ids = list(chat_ids)
        found: dict[int, set[int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT chat_id, feed_id FROM chat_muted_feeds WHERE chat_id IN ({marks})", chunk
            )
            for chat_id, feed_id in rows:
                found.setdefault(chat_id, set()).add(feed_id)
        return {chat_id: frozenset(feeds) for chat_id, feeds in found.items()}

    async def toggle_muted_feed(self, chat_id: int, feed_id: int) -> bool:
        """Mute the source for the chat, or unmute it if muted; True if it is muted now."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "DELETE FROM chat_muted_feeds WHERE chat_id = ? AND feed_id = ?", (chat_id, feed_id)
            ) as cur:
                if cur.rowcount:
                    return False
            await conn.execute(
                "INSERT INTO chat_muted_feeds (chat_id, feed_id) VALUES (?, ?)", (chat_id, feed_id)
            )
        return True

    async def toggle_country(self, chat_id: int, iso2: str, now: datetime) -> Chat:
        return await self._toggle(chat_id, "countries", iso2.lower(), now)

    async def set_schedule(
        self,
        chat_id: int,
        *,
        mode: str,
        times: Sequence[str],
        weekday: int | None,
        now: datetime,
    ) -> Chat:
        """New schedule; slots before `now` count as handled (no surprise digest on change)."""
        if mode not in MODES:
            raise ValueError(f"unknown schedule mode {mode!r}; expected one of {MODES}")
        clean = sorted(set(times))
        for value in clean:
            if not _HHMM.match(value):
                raise ValueError(f"time {value!r} is not HH:MM")
        if mode in ("daily", "weekly") and len(clean) != 1:
            raise ValueError(f"mode {mode} needs exactly one time, got {len(clean)}")
        if mode == "times" and not clean:
            raise ValueError("mode times needs at least one time")
        if mode == "weekly" and (weekday is None or not 0 <= weekday <= 6):
            raise ValueError("mode weekly needs a weekday 0 (Monday) … 6 (Sunday)")
        if mode == "instant":
            clean = clean or ["09:00"]
        return await self._update(
            chat_id,
            now,
            mode=mode,
            times=json.dumps(clean),
            weekday=weekday if mode == "weekly" else None,
            last_slot_at=to_db(now),
            next_slot_at=None,
        )

    async def set_timezone(self, chat_id: int, tz: str, now: datetime) -> Chat:
        """Validated by the caller (bot.digests.slots.parse_timezone); resets the slot clock to `now`."""
        return await self._update(
            chat_id, now, timezone=tz, last_slot_at=to_db(now), next_slot_at=None
        )

    async def set_language(self, chat_id: int, lang: str, now: datetime) -> Chat:
        return await self._update(chat_id, now, language=lang)

    async def set_status(self, chat_id: int, status: str, now: datetime) -> Chat:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
        if status != "blocked":
            return await self._update(chat_id, now, status=status, next_slot_at=None)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE chats SET status = 'blocked', next_slot_at = NULL, updated_at = ?"
                " WHERE id = ?",
                (to_db(now), chat_id),
            ) as cur:
                if cur.rowcount == 0:
                    raise ChatNotFoundError(chat_id)
            # A chat that blocked the bot gets nothing queued before, even if it comes back.
            await cancel_pending(conn, chat_id, "blocked")
        return await self._must_get(chat_id)

    async def reactivate(self, chat_id: int, now: datetime) -> Chat | None:
        """A chat that had blocked the bot came back: active again, settings untouched."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET status = 'active', next_slot_at = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'blocked'",
                (to_db(now), chat_id),
            )
        return await self.get(chat_id)

    async def mark_onboarded(self, chat_id: int, now: datetime) -> Chat:
        return await self._update(chat_id, now, onboarded=1)

    async def delete(self, chat_id: int) -> bool:
        async with (
            self.db.transaction() as conn,
            conn.execute("DELETE FROM chats WHERE id = ?", (chat_id,)) as cur,
        ):
            return cur.rowcount > 0

    async def migrate(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: move the subscription (digests/outbox follow by cascade).

        If the new id was already registered (someone used the bot there first), the old
        chat's settings win and the fresh row is replaced.
        """
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (old_id,)) as cur:
                if await cur.fetchone() is None:
                    return
            await conn.execute("DELETE FROM chats WHERE id = ?", (new_id,))
            await conn.execute(
                "UPDATE chats SET id = ?, type = 'supergroup' WHERE id = ?", (new_id, old_id)
            )
        log.info("chat %s migrated to %s", old_id, new_id)

    async def list(self, *, status: str | None = None) -> list[Chat]:
        if status is None:
            rows = await self.db.fetchall("SELECT * FROM chats ORDER BY id")
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM chats WHERE status = ? ORDER BY id", (status,)
            )
        return [chat_from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        """Chats per status, every status present, plus `total`."""
        result = dict.fromkeys(STATUSES, 0)
        for row in await self.db.fetchall("SELECT status, COUNT(*) FROM chats GROUP BY status"):
            result[row[0]] = row[1]
        result["total"] = sum(result.values())
        return result

    # -- internals

    async def _must_get(self, chat_id: int) -> Chat:
        chat = await self.get(chat_id)
        if chat is None:
            raise ChatNotFoundError(chat_id)
        return chat

    async def _update(self, chat_id: int, now: datetime, **fields: Any) -> Chat:
        columns = ", ".join(f"{name} = ?" for name in fields)  # names are ours, not user input
        params = [*fields.values(), to_db(now), chat_id]
        async with (
            self.db.transaction() as conn,
            conn.execute(f"UPDATE chats SET {columns}, updated_at = ? WHERE id = ?", params) as cur,
        ):
            if cur.rowcount == 0:
                raise ChatNotFoundError(chat_id)
        return await self._must_get(chat_id)

    async def _toggle(self, chat_id: int, column: str, value: str, now: datetime) -> Chat:
        def flip(values: list[str]) -> list[str]:
            return [v for v in values if v != value] if value in values else [*values, value]

        return await self._modify_list(chat_id, column, flip, now)

    async def _modify_list(
        self,
        chat_id: int,
        column: str,
        change: Callable[[list[str]], list[str]],
        now: datetime,
    ) -> Chat:
        async with self.db.transaction() as conn:
            async with conn.execute(f"SELECT {column} FROM chats WHERE id = ?", (chat_id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                raise ChatNotFoundError(chat_id)
            values = change(json.loads(row[0]))
            await conn.execute(
                f"UPDATE chats SET {column} = ?, updated_at = ? WHERE id = ?",
                (json.dumps(values), to_db(now), chat_id),
            )
        return await self._must_get(chat_id)
