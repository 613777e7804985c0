"""RuleRepo: chats' keyword rules and pending rule drafts, and the article terms rules match on.

A rule is stored as its canonical text and its parsed form as JSON (bot.understand.chatrules.RuleSpec
writes and reads it); this module only keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.domain import MAX_RULES, Candidate, StoredRule
from storage.db import Database
from storage.errors import ConflictError, TooManyRulesError
from storage.timefmt import from_db, to_db

_CHUNK = 500  # ids per query: well under SQLite's bound-parameter limit
DRAFT_TTL = timedelta(days=1)


class RuleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- rules

    async def list(self, chat_id: int) -> list[StoredRule]:
        rows = await self.db.fetchall(
            "SELECT id, chat_id, text, spec FROM chat_rules WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        )
        return [StoredRule(r[0], r[1], r[2], r[3]) for r in rows]

    async def for_chats(self, chat_ids: Iterable[int]) -> dict[int, list[StoredRule]]:
        """The rules of many chats at once (a planning pass); chats without rules are absent."""
        ids = list(dict.fromkeys(chat_ids))
        found: dict[int, list[StoredRule]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = await self.db.fetchall(
                "SELECT id, chat_id, text, spec FROM chat_rules"
                f" WHERE chat_id IN ({','.join('?' * len(chunk))}) ORDER BY chat_id, id",
                chunk,
            )
            for r in rows:
                found.setdefault(r[1], []).append(StoredRule(r[0], r[1], r[2], r[3]))
        return found

    async def any(self) -> bool:
        return bool(await self.db.fetchval("SELECT EXISTS (SELECT 1 FROM chat_rules)"))

    async def add(
        self, chat_id: int, text: str, spec: str, *, by: int | None, now: datetime
    ) -> StoredRule:
        """Save a rule (the same text twice is one rule). Raises TooManyRulesError at the limit
        and ConflictError if the chat is not subscribed."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id FROM chat_rules WHERE chat_id = ? AND text = ?", (chat_id, text)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                return StoredRule(row[0], chat_id, text, spec)
            async with conn.execute(
                "SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (chat_id,)
            ) as cur:
                count = (await cur.fetchone())[0]
            if count >= MAX_RULES:
                raise TooManyRulesError(chat_id)
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)) as cur:
                if await cur.fetchone() is None:
                    raise ConflictError(f"chat {chat_id} is not subscribed")
            async with conn.execute(
                "INSERT INTO chat_rules (chat_id, text, spec, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (chat_id, text, spec, by, to_db(now)),
            ) as cur:
                rule_id = (await cur.fetchone())[0]
        return StoredRule(int(rule_id), chat_id, text, spec)

    async def delete(self, chat_id: int, rule_id: int) -> bool:
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "DELETE FROM chat_rules WHERE id = ? AND chat_id = ?", (rule_id, chat_id)
            ) as cur,
        ):
            return cur.rowcount > 0

    async def count(self, chat_id: int) -> int:
        return int(
            await self.db.fetchval("SELECT COUNT(*) FROM chat_rules WHERE chat_id = ?", (chat_id,))
        )

    # -- drafts (a rule shown with Save / Cancel)

    async def add_draft(
        self, chat_id: int, text: str, spec: str, *, by: int | None, now: datetime
    ) -> int:
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM rule_drafts WHERE created_at < ?", (to_db(now - DRAFT_TTL),)
            )
            async with conn.execute(
                "INSERT INTO rule_drafts (chat_id, text, spec, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (chat_id, text, spec, by, to_db(now)),
            ) as cur:
                return int((await cur.fetchone())[0])

    async def take_draft(self, chat_id: int, draft_id: int) -> tuple[str, str] | None:
        """The draft (removed: a second tap finds nothing), None if gone or another chat's."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT text, spec FROM rule_drafts WHERE id = ? AND chat_id = ?",
                (draft_id, chat_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM rule_drafts WHERE id = ?", (draft_id,))
        return row[0], row[1]

    # -- what rules match on

    async def terms(self, ids: Iterable[int]) -> dict[int, str]:
        """{article id: normalized terms} (bot.understand.searchterms.index_terms, written at ingest)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        found: dict[int, str] = {}
        # one rowid range scan per chunk of neighbouring ids: FTS5 answers rowid ranges directly
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            if chunk[-1] - chunk[0] < 2 * len(chunk):
                keep = set(chunk)
                rows = await self.db.fetchall(
                    "SELECT rowid, terms FROM article_search WHERE rowid BETWEEN ? AND ?",
                    (chunk[0], chunk[-1]),
                )
                found.update((r[0], r[1]) for r in rows if r[0] in keep)
            else:
                rows = await self.db.fetchall(
                    "SELECT rowid, terms FROM article_search"
                    f" WHERE rowid IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((r[0], r[1]) for r in rows)
        return found

    async def recent_candidates(
        self, required: Iterable[Iterable[str]], since: datetime, *, limit: int = 5000
    ) -> list[Candidate]:
        """Articles published since `since` holding every required lemma sequence (FTS5 phrases
        do the narrowing; the caller checks exclusions and countries), newest first."""
        # rule text never becomes search syntax: the engine quotes each phrase
        match, params = self.db.search_match("s", [list(need) for need in required])
        rows = await self.db.fetchall(
            "SELECT a.id, a.title, a.published_at, a.countries, s.terms"
            " FROM article_search s JOIN articles a ON a.id = s.rowid"
            f" WHERE {match} AND a.published_at >= ?"
            " ORDER BY a.published_at DESC, a.id DESC LIMIT ?",
            (*params, to_db(since), limit),
        )
        return [
            Candidate(r[0], r[1], from_db(r[2]), json.loads(r[3]), r[4])  # type: ignore[arg-type]
            for r in rows
        ]
