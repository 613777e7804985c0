"""StatsRepo: read-only counts for /stats, feed health and alerts (no writes here)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.domain import DeliveryCounts, FeedActivity
from storage.db import Database, count_where
from storage.timefmt import from_db, to_db


class StatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def subscribers(self) -> list[tuple[str, str, str, int]]:
        """(status, language, mode, count) for every combination present."""
        rows = await self.db.fetchall(
            "SELECT status, language, mode, COUNT(*) FROM chats"
            " GROUP BY status, language, mode ORDER BY status, language, mode"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def feed_activity(self, since: datetime) -> dict[int, FeedActivity]:
        """Per feed: articles per day published since `since`, and the newest published time."""
        per_day: dict[int, dict[str, int]] = defaultdict(dict)
        for r in await self.db.fetchall(
            "SELECT feed_id, substr(published_at, 1, 10), COUNT(*) FROM articles"
            " WHERE feed_id IS NOT NULL AND published_at >= ? GROUP BY 1, 2",
            (to_db(since),),
        ):
            per_day[r[0]][r[1]] = r[2]
        newest = {
            r[0]: from_db(r[1])
            for r in await self.db.fetchall(
                "SELECT feed_id, MAX(published_at) FROM articles WHERE feed_id IS NOT NULL"
                " GROUP BY feed_id"
            )
        }
        ids = set(per_day) | set(newest)
        return {i: FeedActivity(i, per_day.get(i, {}), newest.get(i)) for i in ids}

    async def articles_per_day_by_topic(self, since: datetime) -> dict[str, dict[str, int]]:
        """{topic slug: {day: count}} for articles published since `since`."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for r in await self.db.fetchall(
            "SELECT j.value, substr(a.published_at, 1, 10), COUNT(*)"
            f" FROM articles a, {self.db.json_values('a.topics', 'j')}"
            " WHERE a.published_at >= ? GROUP BY 1, 2",
            (to_db(since),),
        ):
            out[r[0]][r[1]] = r[2]
        return dict(out)

    async def articles_per_source(self, since: datetime) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT source, COUNT(*) FROM articles WHERE published_at >= ?"
            " GROUP BY source ORDER BY 2 DESC, 1",
            (to_db(since),),
        )
        return [(r[0], r[1]) for r in rows]

    async def articles_per_day(self, since: datetime) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT substr(published_at, 1, 10), COUNT(*) FROM articles"
            " WHERE published_at >= ? GROUP BY 1 ORDER BY 1",
            (to_db(since),),
        )
        return {r[0]: r[1] for r in rows}

    async def first_seen(self) -> datetime | None:
        """When the archive starts: the first feed added or the oldest article, if earlier."""
        value = await self.db.fetchval(
            "SELECT MIN(t) FROM (SELECT MIN(created_at) AS t FROM feeds"
            " UNION ALL SELECT MIN(published_at) FROM articles) AS firsts"
        )
        return from_db(value)

    async def broadcasts_sent(self, since: datetime) -> int:
        """Broadcasts started since `since` (one each, however many chats received it)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM broadcasts WHERE created_at >= ?", (to_db(since),)
            )
        )

    async def digests_sent(self, since: datetime) -> dict[str, int]:
        """{kind: digests queued with articles} created since `since`."""
        rows = await self.db.fetchall(
            "SELECT kind, COUNT(*) FROM digests WHERE created_at >= ? AND outcome = 'queued'"
            " GROUP BY kind",
            (to_db(since),),
        )
        return {r[0]: r[1] for r in rows}

    async def delivery(self, since: datetime) -> DeliveryCounts:
        row = await self.db.fetchone(
            "SELECT "
            + ", ".join(
                count_where(c)
                for c in (
                    "status = 'sent'",
                    "status = 'failed'",
                    "status = 'pending'",
                    "attempts > 1",
                )
            )
            + " FROM outbox WHERE created_at >= ?",
            (to_db(since),),
        )
        assert row is not None
        return DeliveryCounts(row[0], row[1], row[2], row[3])

    async def blocked_since(self, since: datetime) -> int:
        """Chats that turned `blocked` since `since` (their last change is the block)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM chats WHERE status = 'blocked' AND updated_at >= ?",
                (to_db(since),),
            )
        )
