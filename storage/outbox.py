"""Digest records and the persistent outbox: what must be sent, what was sent (message ids)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import aiosqlite

from bot.domain import Claimed, DigestPlan, OutboxMessage
from storage.db import Database
from storage.timefmt import from_db, to_db

log = logging.getLogger(__name__)

# Messages of banned or blocked chats are never sent (their rows are cancelled as well).
_DELIVERABLE = (
    " AND o.chat_id NOT IN (SELECT subject_id FROM bans)"
    " AND o.chat_id NOT IN (SELECT id FROM chats WHERE status = 'blocked')"
)
# A condition on `outbox o`: only each chat's oldest pending message (its parts go in order).
# A correlated NOT EXISTS (an index probe per row on outbox_chat), not a join to a GROUP BY:
# right after a fan-out the table has no statistics yet, and PostgreSQL then planned that join
# as a nested loop over all pending rows — seconds per batch for a few thousand chats.
_HEADS = (
    " AND o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM outbox e"
    " WHERE e.chat_id = o.chat_id AND e.status = 'pending' AND e.id < o.id)"
)
# Not held by another process: never claimed, its lease expired, or claimed by the asker.
_UNCLAIMED = " AND (o.claimed_until IS NULL OR o.claimed_until <= ? OR o.claimed_by = ?)"
_UNIQUE_KINDS = ("scheduled",)  # other kinds may repeat within a second: shift their slot_at


# A message's text: its own (`outbox.text`) or the one it shares (`outbox_texts`, by text_key).
_WITH_TEXT = (
    "SELECT o.*, x.text AS shared_text FROM outbox o"
    " LEFT JOIN outbox_texts x ON x.key = o.text_key WHERE "
)


# The same as an expression on `outbox` (for reading messages outside the sender: tests, tools).
MESSAGE_TEXT = (
    "COALESCE(outbox.text, (SELECT x.text FROM outbox_texts x WHERE x.key = outbox.text_key))"
)


@lru_cache(maxsize=1024)  # a tick's chats given the same digest: hashed once, not per batch
def text_key(text: str) -> str:
    """The key a planned message's text is stored under, once for every chat given it."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _message(row: aiosqlite.Row) -> OutboxMessage:
    own = row["text"]
    return OutboxMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        digest_id=row["digest_id"],
        part=row["part"],
        thread_id=row["thread_id"],
        text=own if own is not None else row["shared_text"],
        preview_url=row["preview_url"],
        attempts=row["attempts"],
        not_before=from_db(row["not_before"]),  # type: ignore[arg-type]
        rich=row["format"] == "rich",
        fallback=tuple(json.loads(row["fallback"])) if row["fallback"] else (),
    )


async def cancel_pending(conn: aiosqlite.Connection, chat_id: int, reason: str) -> int:
    """Inside the caller's transaction (the ban, the block): the chat's pending messages become
    'cancelled' — not sent now, and not after an unban or a return either."""
    async with conn.execute(
        "UPDATE outbox SET status = 'cancelled', error = ? WHERE chat_id = ? AND status = 'pending'",
        (f"cancelled: {reason}", chat_id),
    ) as cur:
        return cur.rowcount


_BATCH = 300  # plans per statement: 3 parameters each in the guard, 6 in the digests insert

_CURSOR_UPDATE = (
    "UPDATE chats SET cursor_article_id = COALESCE(?, cursor_article_id),"
    " last_slot_at = COALESCE(?, last_slot_at), next_slot_at = ?,"
    " first_digest_at = COALESCE(first_digest_at, ?) WHERE id = ?"
)
_OUTBOX_INSERT = (
    "INSERT INTO outbox (chat_id, digest_id, part, thread_id, text, text_key, preview_url, format,"
    " fallback, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TEXT_INSERT = "INSERT INTO outbox_texts (key, text) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"


def _validate(plan: DigestPlan) -> None:
    if plan.outcome == "queued" and not plan.parts:
        raise ValueError("a queued digest needs at least one message")
    if plan.part_threads and len(plan.part_threads) != len(plan.parts):
        raise ValueError("part_threads needs one thread (or None) per part")


def _cursor_params(plan: DigestPlan, digest_id: int | None, stamp: str | None) -> tuple:
    """The chat's cursor moves only with a recorded digest (a taken slot leaves it)."""
    return (
        plan.new_cursor if digest_id is not None else None,
        to_db(plan.last_slot_at),
        to_db(plan.next_slot_at),
        stamp if digest_id and plan.parts else None,  # a new subscriber no more
        plan.chat_id,
    )


def _outbox_rows(
    plan: DigestPlan, digest_id: int, stamp: str | None, keys: dict[str, str]
) -> list[tuple]:
    """One rich message (its compact parts wait as its fallback), or the compact parts. The
    compact parts' texts go by key: `keys` ({text: key}) gathers them for `outbox_texts`."""
    if plan.rich is not None:
        return [(plan.chat_id, digest_id, 0, plan.thread_id, plan.rich, None, None, "rich",
                 json.dumps(list(plan.parts)), stamp, stamp)]  # fmt: skip
    rows = []
    for n, text in enumerate(plan.parts):
        key = keys.get(text)
        if key is None:
            key = keys[text] = text_key(text)
        rows.append((
            plan.chat_id, digest_id, n, plan.part_threads[n] if plan.part_threads else plan.thread_id,
            None, key, plan.preview_url if n == plan.preview_part else None, "html", None, stamp,
            stamp,
        ))  # fmt: skip
    return rows


async def _insert_messages(
    conn: aiosqlite.Connection, rows: list[tuple], keys: dict[str, str]
) -> None:
    """The texts first (each once; one already stored stays), then the messages naming them."""
    if keys:
        await conn.executemany(_TEXT_INSERT, [(key, text) for text, key in keys.items()])
    if rows:
        await conn.executemany(_OUTBOX_INSERT, rows)


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- planning side

    async def record_digests(self, plans: Sequence[DigestPlan], now: datetime) -> list[int | None]:
        """All plans in one transaction, each all-or-nothing: digests row + outbox rows +
        the chat's cursor and slot. Returns each digest id, or None for a dropped plan."""
        for plan in plans:  # before anything is written: a bad plan records nothing
            _validate(plan)
        if len({p.chat_id for p in plans}) < len(plans):
            # one chat twice: the second plan's guard must see the first one's cursor
            async with self.db.transaction() as conn:
                return [await self._record(conn, plan, now) for plan in plans]
        results: list[int | None] = []
        async with self.db.transaction() as conn:
            for start in range(0, len(plans), _BATCH):
                results += await self._record_batch(conn, plans[start : start + _BATCH], now)
        return results

    async def _record_batch(
        self, conn: aiosqlite.Connection, plans: Sequence[DigestPlan], now: datetime
    ) -> list[int | None]:
        """`_record` for plans of distinct chats, in a few statements for the whole batch (each
        statement is a round trip to the database thread or server; four per plan made writing
        the plans half of a big tick). The same rows, in the same order, as `_record` one by one."""
        stamp = to_db(now)
        guard = " OR ".join(["(id = ? AND cursor_article_id = ? AND updated_at = ?)"] * len(plans))
        params = [
            v for p in plans for v in (p.chat_id, p.expected_cursor, to_db(p.expected_updated_at))
        ]
        async with conn.execute(f"SELECT id FROM chats WHERE {guard}", params) as cur:
            unchanged = {int(r[0]) for r in await cur.fetchall()}
        for plan in plans:
            if plan.chat_id not in unchanged:
                log.info("chat %s changed while planning its digest; retried later", plan.chat_id)
        kept = [p for p in plans if p.chat_id in unchanged]
        digest_ids: dict[int, int | None] = {p.chat_id: 0 for p in kept}  # 0: cursor only
        needing = [p for p in kept if p.kind != "instant" or p.parts]
        if needing:
            values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(needing))
            async with conn.execute(
                "INSERT INTO digests (chat_id, slot_at, kind, article_count, outcome, created_at)"
                f" VALUES {values} ON CONFLICT (chat_id, kind, slot_at) DO NOTHING"
                " RETURNING id, chat_id",
                [v for p in needing
                 for v in (p.chat_id, to_db(p.slot_at), p.kind, p.article_count, p.outcome, stamp)],
            ) as cur:  # fmt: skip
                inserted = {int(r[1]): int(r[0]) for r in await cur.fetchall()}
            for plan in needing:  # a slot already taken: the one-by-one rule (rare)
                found = inserted.get(plan.chat_id)
                digest_ids[plan.chat_id] = (
                    found if found is not None else await self._insert_digest(conn, plan, stamp)
                )
        if kept:
            cursors = [_cursor_params(p, digest_ids[p.chat_id], stamp) for p in kept]
            await conn.executemany(_CURSOR_UPDATE, cursors)
        keys: dict[str, str] = {}
        rows = [row for p in kept if digest_ids[p.chat_id]
                for row in _outbox_rows(p, digest_ids[p.chat_id], stamp, keys)]  # fmt: skip
        await _insert_messages(conn, rows, keys)
        return [digest_ids.get(p.chat_id) for p in plans]

    async def _record(
        self, conn: aiosqlite.Connection, plan: DigestPlan, now: datetime
    ) -> int | None:
        """One plan, already validated by record_digests (its guard sees earlier plans)."""
        stamp = to_db(now)
        async with conn.execute(
            "SELECT 1 FROM chats WHERE id = ? AND cursor_article_id = ? AND updated_at = ?",
            (plan.chat_id, plan.expected_cursor, to_db(plan.expected_updated_at)),
        ) as cur:
            if await cur.fetchone() is None:
                log.info("chat %s changed while planning its digest; retried later", plan.chat_id)
                return None
        digest_id: int | None = 0  # instant polls with nothing matching only move the cursor
        if plan.kind != "instant" or plan.parts:
            digest_id = await self._insert_digest(conn, plan, stamp)
        await conn.execute(_CURSOR_UPDATE, _cursor_params(plan, digest_id, stamp))
        if digest_id:
            keys: dict[str, str] = {}
            await _insert_messages(conn, _outbox_rows(plan, digest_id, stamp, keys), keys)
        return digest_id

    async def _insert_digest(
        self, conn: aiosqlite.Connection, plan: DigestPlan, stamp: str | None
    ) -> int | None:
        """The digests row; None if this scheduled slot was already recorded."""
        slot = plan.slot_at
        for _ in range(120):
            async with conn.execute(
                "INSERT INTO digests (chat_id, slot_at, kind, article_count, outcome, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, kind, slot_at) DO NOTHING"
                " RETURNING id",
                (plan.chat_id, to_db(slot), plan.kind, plan.article_count, plan.outcome, stamp),
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                return int(row[0])
            if plan.kind in _UNIQUE_KINDS:
                return None
            slot += timedelta(seconds=1)
        return None

    async def set_next_slots(self, updates: Sequence[tuple[int, datetime | None]]) -> None:
        """Cache each chat's next slot (only where nobody reset it meanwhile)."""
        await self.db.executemany(
            "UPDATE chats SET next_slot_at = ? WHERE id = ? AND next_slot_at IS NULL",
            [(to_db(at), chat_id) for chat_id, at in updates],
        )

    # -- delivery side

    async def due_heads(self, now: datetime, limit: int, *, owner: str = "") -> list[OutboxMessage]:
        """The oldest pending message of each chat, if due: parts of one chat go in order.
        Banned and blocked chats get nothing, whatever was queued before. A head another
        process holds (an unexpired claim not by `owner`) keeps its whole chat waiting."""
        stamp = to_db(now)
        rows = await self.db.fetchall(
            _WITH_TEXT
            + "o.not_before <= ?"
            + _HEADS
            + _UNCLAIMED
            + _DELIVERABLE
            + " ORDER BY o.id LIMIT ?",
            (stamp, stamp, owner, limit),
        )
        return [_message(r) for r in rows]

    async def claim_heads(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]:
        """`due_heads` for one of several processes: the heads returned are claimed by `owner`
        until `until` in the same transaction, so two processes asking at once get disjoint
        sets (PostgreSQL skips the rows another is claiming this instant: SKIP LOCKED)."""
        stamp = to_db(now)
        lock = " FOR UPDATE OF o SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        async with self.db.transaction(serial=False) as conn:
            async with conn.execute(
                # (_HEADS's o.status: a row sent meanwhile is re-checked on its new version)
                _WITH_TEXT
                + "o.not_before <= ?"
                + _HEADS
                + _UNCLAIMED
                + _DELIVERABLE
                + " ORDER BY o.id LIMIT ?"
                + lock,
                (stamp, stamp, owner, limit),
            ) as cur:
                rows = [_message(r) for r in await cur.fetchall()]
            if rows:
                await conn.execute(
                    "UPDATE outbox SET claimed_by = ?, claimed_until = ?"
                    f" WHERE status = 'pending' AND id IN ({','.join('?' * len(rows))})",
                    (owner, to_db(until), *(r.id for r in rows)),
                )
        return rows

    async def claim(
        self, message_id: int, owner: str, now: datetime, until: datetime
    ) -> Claimed | None:
        """Take a pending message to send it, leased to `owner` until `until`; None when it is
        no longer pending, its chat is banned or blocked (`undeliverable` says which), or another
        process holds an unexpired claim: then it is not ours to send. One conditional UPDATE,
        atomic on both engines whoever asks at the same time, that also reads the bot-wide
        flood wait other processes share — everything a send needs to know, in one round trip."""
        stamp = to_db(now)
        row = await self.db.write_returning(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ?"
            " WHERE id = ? AND status = 'pending'"
            + _UNCLAIMED.replace("o.", "")
            + _DELIVERABLE.replace("o.", "")
            + " RETURNING (SELECT next_at FROM delivery_pacing WHERE key = 'pause') AS paused",
            (owner, to_db(until), message_id, stamp, owner),
            serial=False,
        )
        if row is None:
            return None
        return Claimed(None if row["paused"] is None else float(row["paused"]))

    async def undeliverable(self, message_id: int) -> str | None:
        """Why this message must not be sent now — "gone" (its chat unsubscribed), "done",
        "banned" or "blocked" — or None. Asked right before each send, because a ban or /stop
        may come between fetching a message and sending it."""
        return (await self.undeliverable_among([message_id])).get(message_id)

    async def undeliverable_among(self, message_ids: Sequence[int]) -> dict[int, str]:
        """`undeliverable` for several messages in one query: the ones that must not be sent,
        each with its reason (the others are not in the result)."""
        marks = ", ".join("?" * len(message_ids))
        rows = await self.db.fetch_now(
            "SELECT o.id, o.status, c.status AS chat_status,"
            " EXISTS (SELECT 1 FROM bans WHERE subject_id = o.chat_id) AS banned"
            f" FROM outbox o JOIN chats c ON c.id = o.chat_id WHERE o.id IN ({marks})",
            tuple(message_ids),
        )
        reasons = dict.fromkeys(message_ids, "gone")
        for row in rows:
            if row["status"] != "pending":
                reasons[row["id"]] = "done"
            elif row["banned"]:
                reasons[row["id"]] = "banned"
            elif row["chat_status"] == "blocked":
                reasons[row["id"]] = "blocked"
            else:
                del reasons[row["id"]]
        return reasons

    async def cancel_chat(self, chat_id: int, reason: str) -> int:
        """Cancel every pending message of a chat (banned, blocked): never sent, not even later."""
        async with self.db.transaction() as conn:
            return await cancel_pending(conn, chat_id, reason)

    async def next_due_at(self, *, owner: str = "") -> datetime | None:
        """When the next chat's head message may go: its not_before, or, if another process
        holds it, when that claim's lease ends (whichever is later)."""
        return from_db(
            await self.db.fetchval(
                "SELECT MIN(CASE WHEN o.claimed_until > o.not_before AND o.claimed_by <> ?"
                " THEN o.claimed_until ELSE o.not_before END) FROM outbox o WHERE 1 = 1"
                + _HEADS
                + _DELIVERABLE,
                (owner,),
            )
        )

    async def mark_sent(self, message_id: int, telegram_message_id: int, now: datetime) -> None:
        await self.mark_all_sent([(message_id, telegram_message_id, now)])

    async def mark_all_sent(self, marks: Sequence[tuple[int, int, datetime]]) -> None:
        """Record sends Telegram accepted: (outbox id, Telegram message id, sent at) each. Each
        is its own statement on one row by id, claimed by this process — its row lock is
        enough (no database-wide lock) — and all go to the database in one round trip. A
        message recorded already stays as it was (a retry after a partial failure)."""
        await self.db.execute_each(
            "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?, attempts = attempts + 1,"
            " error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status <> 'sent'",
            [(telegram_message_id, to_db(at), message_id) for message_id, telegram_message_id, at in marks],
        )  # fmt: skip

    async def replace_with_fallback(self, message_id: int, error: str, now: datetime) -> int:
        """Telegram refused a rich message: it becomes 'replaced' and its compact parts are
        queued in its place, in order, in the same transaction (exactly once either way).
        Returns the number of parts queued."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT chat_id, digest_id, thread_id, fallback FROM outbox"
                " WHERE id = ? AND status = 'pending' AND format = 'rich'",
                (message_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return 0
            parts = json.loads(row["fallback"] or "[]")
            await conn.execute(
                "UPDATE outbox SET status = 'replaced', error = ? WHERE id = ?", (error, message_id)
            )
            stamp = to_db(now)
            await conn.executemany(
                "INSERT INTO outbox (chat_id, digest_id, part, thread_id, text, not_before,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (row["chat_id"], row["digest_id"], n, row["thread_id"], text, stamp, stamp)
                    for n, text in enumerate(parts, start=1)
                ],
            )
        return len(parts)

    async def defer(
        self, message_id: int, not_before: datetime, *, error: str, count_attempt: bool
    ) -> None:
        await self.db.execute(
            "UPDATE outbox SET not_before = ?, error = ?, attempts = attempts + ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (to_db(not_before), error, int(count_attempt), message_id),
        )

    async def fail(self, message_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET status = 'failed', error = ?, attempts = attempts + 1 WHERE id = ?",
            (error, message_id),
        )

    async def fail_chat(self, chat_id: int, error: str) -> int:
        """Every pending message of a chat that blocked the bot; the chat row itself stays."""
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "UPDATE outbox SET status = 'failed', error = ? WHERE chat_id = ? AND status = 'pending'",
                (error, chat_id),
            ) as cur,
        ):
            return cur.rowcount

    async def purge_finished(self, older_than: datetime) -> tuple[int, int]:
        """Delete the messages done with (sent, failed, cancelled, replaced by their fallback)
        that were queued before `older_than`, then the shared texts no message names any more;
        returns both counts. A pending message stays, however old: it is still to be sent."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "DELETE FROM outbox WHERE created_at < ?"
                " AND status IN ('sent', 'failed', 'cancelled', 'replaced')",
                (to_db(older_than),),
            ) as cur:
                messages = cur.rowcount
            async with conn.execute(  # NOT IN: one pass over the outbox's keys, not one per text
                "DELETE FROM outbox_texts WHERE key NOT IN"
                " (SELECT text_key FROM outbox WHERE text_key IS NOT NULL)"
            ) as cur:
                texts = cur.rowcount
        return messages, texts

    async def counts(self) -> dict[str, int]:
        result = {"pending": 0, "sent": 0, "failed": 0, "cancelled": 0}
        for row in await self.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            result[row[0]] = row[1]
        return result
