"""FeedRepo: the list of sources, their HTTP validators and their health (errors, back-off)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Feed, PollSuccess, cap_title
from storage.db import Database
from storage.errors import ConflictError, FeedExistsError
from storage.timefmt import from_db, to_db


def _feed(row: Any) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        custom_title=row["custom_title"],
        site_url=row["site_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        active=bool(row["active"]),
        paused=bool(row["paused"]),
        error_count=row["error_count"],
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        last_error_at=from_db(row["last_error_at"]),
        last_success_at=from_db(row["last_success_at"]),
        last_polled_at=from_db(row["last_polled_at"]),
        next_poll_at=from_db(row["next_poll_at"]),
        initial_done=bool(row["initial_done"]),
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
    )


class FeedRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        url: str,
        *,
        now: datetime,
        title: str | None = None,
        first_poll_at: datetime | None = None,
    ) -> Feed:
        if await self.get_by_url(url) is not None:
            raise FeedExistsError(url)
        try:
            feed_id = await self.db.insert(
                "INSERT INTO feeds (url, custom_title, created_at, next_poll_at)"
                " VALUES (?, ?, ?, ?)",
                (url, cap_title(title), to_db(now), to_db(first_poll_at or now)),
            )
        except ConflictError:  # added meanwhile (another process, or a concurrent /addfeed)
            raise FeedExistsError(url) from None
        feed = await self.get(feed_id)
        assert feed is not None
        return feed

    async def get(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchone("SELECT * FROM feeds WHERE id = ?", (feed_id,))
        return None if row is None else _feed(row)

    async def get_by_url(self, url: str) -> Feed | None:
        row = await self.db.fetchone("SELECT * FROM feeds WHERE url = ?", (url,))
        return None if row is None else _feed(row)

    async def list(self) -> list[Feed]:
        return [_feed(r) for r in await self.db.fetchall("SELECT * FROM feeds ORDER BY id")]

    async def list_active(self) -> list[Feed]:
        rows = await self.db.fetchall(
            "SELECT * FROM feeds WHERE active = 1 AND paused = 0 ORDER BY id"
        )
        return [_feed(r) for r in rows]

    async def claim_due(self, now: datetime, lease: timedelta) -> list[Feed]:
        """The due feeds, taken for polling: their next poll moves to `now + lease`, so another
        process on the database does not poll them too (the poll then sets the real next
        time). A process killed mid-poll leaves the feed due again when the lease ends.
        PostgreSQL skips rows another process is claiming this instant (SKIP LOCKED)."""
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        async with self.db.transaction(serial=False) as conn:
            async with conn.execute(
                "SELECT * FROM feeds WHERE active = 1 AND paused = 0"
                " AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY next_poll_at, id" + lock,
                (to_db(now),),
            ) as cur:
                feeds = [_feed(r) for r in await cur.fetchall()]
            if feeds:
                marks = ",".join("?" * len(feeds))
                await conn.execute(
                    f"UPDATE feeds SET next_poll_at = ? WHERE id IN ({marks})",
                    (to_db(now + lease), *(f.id for f in feeds)),
                )
        return feeds

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM feeds"))

    async def remove(self, feed_id: int) -> bool:
        """Forget the source; its stored articles stay (articles.feed_id becomes NULL)."""
        async with (
            self.db.transaction() as conn,
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)) as cur,
        ):
            return cur.rowcount > 0

    async def set_paused(self, feed_id: int, paused: bool, now: datetime) -> None:
        await self.db.execute(
            "UPDATE feeds SET paused = ?, active = CASE WHEN ? = 1 THEN active ELSE 1 END,"
            " error_count = CASE WHEN ? = 1 THEN error_count ELSE 0 END, next_poll_at = ?"
            " WHERE id = ?",
            (int(paused), int(paused), int(paused), to_db(now), feed_id),
        )

    async def rename(self, feed_id: int, title: str | None) -> None:
        await self.db.execute(
            "UPDATE feeds SET custom_title = ? WHERE id = ?", (cap_title(title), feed_id)
        )

    async def schedule_now(self, feed_id: int, now: datetime) -> None:
        await self.db.execute(
            "UPDATE feeds SET next_poll_at = ? WHERE id = ?", (to_db(now), feed_id)
        )

    async def record_error(
        self,
        feed_id: int,
        *,
        kind: str,
        message: str,
        now: datetime,
        next_poll_at: datetime,
        deactivate: bool,
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET error_count = error_count + 1, last_error = ?, last_error_kind = ?,"
                " last_error_at = ?, last_polled_at = ?, next_poll_at = ?,"
                " active = CASE WHEN ? = 1 THEN 0 ELSE active END WHERE id = ?",
                (
                    message,
                    kind,
                    to_db(now),
                    to_db(now),
                    to_db(next_poll_at),
                    int(deactivate),
                    feed_id,
                ),
            )
            await conn.execute(
                "INSERT INTO poll_log (feed_id, polled_at, outcome, error) VALUES (?, ?, 'error', ?)",
                (feed_id, to_db(now), f"{kind}: {message}"),
            )


async def write_success(conn: Any, feed_id: int, ok: PollSuccess, *, initial_done: bool) -> None:
    """Part of the poll transaction: validators, titles, health reset, next poll time."""
    sets = [
        "error_count = 0",
        "last_error = NULL",
        "last_error_kind = NULL",
        "last_success_at = ?",
        "last_polled_at = ?",
        "next_poll_at = ?",
        "etag = ?",
        "last_modified = ?",
    ]
    params: list[Any] = [
        to_db(ok.now),
        to_db(ok.now),
        to_db(ok.next_poll_at),
        ok.etag,
        ok.last_modified,
    ]
    optional: Sequence[tuple[str, Any]] = (
        ("body_hash", ok.body_hash),
        ("title", cap_title(ok.title)),
        ("site_url", ok.site_url),
        ("language", ok.language),
        ("url", ok.moved_to),
    )
    for column, value in optional:
        if value is not None:
            sets.append(f"{column} = ?")
            params.append(value)
    if initial_done:
        sets.append("initial_done = 1")
    params.append(feed_id)
    await conn.execute(f"UPDATE feeds SET {', '.join(sets)} WHERE id = ?", params)
