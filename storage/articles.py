"""ArticleRepo: the archive — storing one poll's entries at once, reading, searching, purging."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from bot.domain import Article, ArticleDraft, ClusterRow, NewArticle, PollSuccess
from storage.codes import json_tuple
from storage.db import Database
from storage.feeds import write_success
from storage.timefmt import from_db, to_db

# SQLite's default limit on host parameters is 32766 (3.32+); stay well below it.
_CHUNK = 900


def article_from_row(row: Any) -> Article:
    return Article(
        id=row["id"],
        feed_id=row["feed_id"],
        key=row["key"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        lead=row["lead"],
        image_url=row["image_url"],
        source=row["source"],
        published_at=from_db(row["published_at"]),  # type: ignore[arg-type]
        fetched_at=from_db(row["fetched_at"]),  # type: ignore[arg-type]
        backfill=bool(row["backfill"]),
        topics=json_tuple(row["topics"]),
        countries=json_tuple(row["countries"]),
        matches={k: tuple(v) for k, v in json.loads(row["matches"]).items()},
        cluster_id=row["cluster_id"],
        language=row["language"],
    )


_COLUMNS = (
    "id, feed_id, key, url, title, summary, lead, image_url, source, published_at, fetched_at,"
    " backfill, topics, countries, matches, cluster_id, language"
)


class ArticleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these entry keys this feed has listed before (read-only: no per-row writes)."""
        known: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT key FROM feed_entries WHERE feed_id = ? AND key IN ({marks})",
                (feed_id, *chunk),
            )
            known.update(r[0] for r in rows)
        return known

    async def same_entries(
        self, feed_id: int, drafts: Sequence[ArticleDraft], *, undated_since: datetime
    ) -> set[str]:
        """Keys of `drafts` that are entries this feed already gave under another guid and link.

        The rule (a feed that rotates guids and adds a session parameter to every link on each
        poll must not bring the same stories back): the same feed, the same title and the same
        publication time is the same entry — a daily "Briefing" is another entry each day, as
        its date differs. An entry without a date has no time to compare: the same title and
        the same text, stored since `undated_since` (a few days), is the same entry; a new text
        under an old title is new.
        """
        if not drafts:
            return set()
        dated = [d for d in drafts if d.dated]
        undated = [d for d in drafts if not d.dated]
        stored: set[tuple[str, str]] = set()
        for chunk in _chunks(sorted({to_db(d.published_at) for d in dated}), 500):
            rows = await self.db.fetchall(
                "SELECT title, published_at FROM articles WHERE feed_id = ? AND published_at IN"
                f" ({','.join('?' * len(chunk))})",
                (feed_id, *chunk),
            )
            stored.update((_same(r[0]), r[1]) for r in rows)
        texts: set[tuple[str, str]] = set()
        if undated:
            rows = await self.db.fetchall(
                "SELECT title, summary FROM articles WHERE feed_id = ? AND published_at >= ?",
                (feed_id, to_db(undated_since)),
            )
            texts = {(_same(r[0]), _same(r[1])) for r in rows}
        same = {d.key for d in dated if (_same(d.title), to_db(d.published_at)) in stored}
        same |= {d.key for d in undated if (_same(d.title), _same(d.summary)) in texts}
        return same

    async def store_poll(
        self,
        feed_id: int,
        items: Sequence[NewArticle],
        *,
        now: datetime,
        backfill: bool,
        success: PollSuccess,
        known_count: int,
    ) -> list[int]:
        """One transaction per polled feed: new articles, their ledger rows, search terms, feed health.

        An article whose canonical URL is already stored (the same story in two feeds of one
        agency) is not stored twice: the ledger points at the existing row. Returns new ids.
        """
        fetched = to_db(now)
        async with self.db.transaction() as conn:
            # Batched: a handful of statements per poll, whatever the number of entries. Without
            # AUTOINCREMENT, rows inserted in this transaction get ids above the previous max.
            before = await _max_id(conn)
            await conn.executemany(
                _INSERT_ARTICLE, (_insert_row(feed_id, i, fetched, backfill) for i in items)
            )  # a generator: rows are built one at a time in the database thread
            ids_by_key: dict[str, int] = {}
            async with conn.execute(
                "SELECT id, key FROM articles WHERE id > ? AND feed_id = ?", (before, feed_id)
            ) as cur:
                async for row in cur:
                    ids_by_key[row[1]] = row[0]
            new_ids = sorted(ids_by_key.values())
            # Entries whose URL was already stored (the same story in another feed of the agency).
            dup_urls = [i.draft.url for i in items if i.draft.key not in ids_by_key and i.draft.url]
            ids_by_url = await _ids_by_url(conn, dup_urls)
            await conn.executemany(
                "INSERT INTO article_search (rowid, terms) VALUES (?, ?)",
                [
                    (ids_by_key[i.draft.key], i.search_terms)
                    for i in items
                    if i.search_terms and i.draft.key in ids_by_key
                ],
            )
            await conn.executemany(
                "INSERT INTO feed_entries (feed_id, key, article_id, first_seen_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (
                        feed_id,
                        i.draft.key,
                        ids_by_key.get(i.draft.key) or ids_by_url.get(i.draft.url or ""),
                        fetched,
                    )
                    for i in items
                ],
            )
            if new_ids:
                await conn.execute(
                    "UPDATE articles SET cluster_id = id WHERE cluster_id IS NULL AND id > ?",
                    (before,),
                )
            await write_success(conn, feed_id, success, initial_done=True)
            await conn.execute(
                "INSERT INTO poll_log (feed_id, polled_at, outcome, new_count, known_count)"
                " VALUES (?, ?, ?, ?, ?)",
                (feed_id, fetched, "new" if new_ids else "known", len(new_ids), known_count),
            )
        return new_ids

    async def record_unchanged(self, feed_id: int, success: PollSuccess, *, outcome: str) -> None:
        """A 304 or an identical body: one small transaction, nothing parsed, nothing per row."""
        async with self.db.transaction() as conn:
            await write_success(conn, feed_id, success, initial_done=False)
            await conn.execute(
                "INSERT INTO poll_log (feed_id, polled_at, outcome) VALUES (?, ?, ?)",
                (feed_id, to_db(success.now), outcome),
            )

    async def get(self, article_id: int) -> Article | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        return None if row is None else article_from_row(row)

    async def latest(self, limit: int = 20, *, offset: int = 0) -> list[Article]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM articles ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [article_from_row(r) for r in rows]

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM articles"))

    async def max_id(self) -> int:
        return int(await self.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM articles"))

    async def cluster_candidates(self, since: datetime) -> list[ClusterRow]:
        rows = await self.db.fetchall(
            "SELECT id, cluster_id, signature, published_at, source, language, evidence"
            " FROM articles WHERE published_at >= ? AND signature IS NOT NULL",
            (to_db(since),),
        )
        return [
            ClusterRow(r[0], r[1], r[2], from_db(r[3]), r[4], r[5], r[6])  # type: ignore[arg-type]
            for r in rows
        ]

    async def search(self, words: Sequence[str], limit: int = 10) -> list[Article]:
        """Articles whose normalized terms hold every word (the caller's lemmas), newest first."""
        match, params = self.db.search_match("s", [[w] for w in words])
        rows = await self.db.fetchall(
            f"SELECT {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))}"
            " FROM article_search s JOIN articles a ON a.id = s.rowid"
            f" WHERE {match} ORDER BY a.published_at DESC LIMIT ?",
            (*params, limit),
        )
        return [article_from_row(r) for r in rows]

    async def iter_all(self, batch: int = 500) -> AsyncIterator[list[Article]]:
        """All articles in id order, one batch in memory at a time (re-tagging the archive)."""
        last = 0
        while True:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM articles WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            yield [article_from_row(r) for r in rows]
            last = rows[-1]["id"]

    async def update_tags(
        self, rows: Sequence[tuple[int, Sequence[str], Sequence[str], dict[str, Sequence[str]]]]
    ) -> None:
        await self.db.executemany(
            "UPDATE articles SET topics = ?, countries = ?, matches = ? WHERE id = ?",
            [
                (
                    json.dumps(list(t)),
                    json.dumps(list(c)),
                    json.dumps({k: list(v) for k, v in m.items()}, ensure_ascii=False),
                    i,
                )
                for i, t, c, m in rows
            ],
        )

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete old articles; the feed_entries ledger keeps their keys so they never return."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM article_search WHERE rowid IN"
                " (SELECT id FROM articles WHERE published_at < ?)",
                (to_db(cutoff),),
            )
            async with conn.execute(
                "DELETE FROM articles WHERE published_at < ?", (to_db(cutoff),)
            ) as cur:
                return cur.rowcount


_INSERT_ARTICLE = (
    "INSERT INTO articles (feed_id, key, url, title, summary, lead, image_url, source,"
    " published_at, fetched_at, backfill, topics, countries, matches, cluster_id, signature,"
    " language, evidence)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _insert_row(feed_id: int, item: NewArticle, fetched: str, backfill: bool) -> tuple:
    d = item.draft
    return (
        feed_id, d.key, d.url, d.title, d.summary, d.lead, d.image_url, d.source,
        to_db(d.published_at), fetched, int(backfill),
        json.dumps(list(item.topics)), json.dumps(list(item.countries)),
        json.dumps({k: list(v) for k, v in item.matches.items()}, ensure_ascii=False),
        item.cluster_id, item.signature, item.language, item.evidence,
    )  # fmt: skip


async def _max_id(conn: Any) -> int:
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM articles") as cur:
        row = await cur.fetchone()
    return int(row[0])


async def _ids_by_url(conn: Any, urls: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(urls), _CHUNK):
        chunk = urls[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT url, id FROM articles WHERE url IN ({marks})", chunk
        ) as cur:
            async for row in cur:
                found[row[0]] = row[1]
    return found


def _same(text: str | None) -> str:
    """Titles and texts compared case- and spacing-blind."""
    return " ".join((text or "").casefold().split())


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
