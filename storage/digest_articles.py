"""Article reads for digests: slim rows (no summary, no match details) above a cursor."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain import Article
from storage.codes import json_tuple
from storage.db import Database
from storage.facade import decoded
from storage.timefmt import to_db

_COLUMNS = (
    "id, feed_id, key, url, title, lead, image_url, source, published_at, fetched_at,"
    " backfill, topics, countries, cluster_id, language"
)


def _slim(row: aiosqlite.Row) -> Article:
    return Article(
        id=row[0],
        feed_id=row[1],
        key=row[2],
        url=row[3],
        title=row[4],
        summary="",
        lead=row[5],
        image_url=row[6],
        source=row[7],
        published_at=datetime.fromisoformat(row[8]),  # "…Z" text (storage.timefmt), fast path
        fetched_at=datetime.fromisoformat(row[9]),
        backfill=bool(row[10]),
        topics=json_tuple(row[11]),
        countries=json_tuple(row[12]),
        cluster_id=row[13],
        language=row[14],
    )


class DigestArticles:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def max_id(self) -> int:
        return await self.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM articles")

    async def above(self, after_id: int, *, limit: int) -> list[Article]:
        """Articles with id > after_id, at most the newest `limit` of them."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM articles WHERE id > ? ORDER BY id DESC LIMIT ?",
            (after_id, limit),
        )
        return await decoded(rows, _slim)

    async def newest(self, limit: int) -> list[Article]:
        return await self.above(0, limit=limit)

    async def published_since(self, since: datetime, *, up_to_id: int, limit: int) -> list[Article]:
        """Articles published at or after `since` (first polls included), id ≤ up_to_id."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM articles WHERE published_at >= ? AND id <= ?"
            " ORDER BY id DESC LIMIT ?",
            (to_db(since), up_to_id, limit),
        )
        return await decoded(rows, _slim)
