"""Digest planning: the minute tick (who is due → build → outbox), instant batches, /digest,
/latest and the dry-run preview. Sending is bot.delivery.sender's job; this module only enqueues.

The database is the record: a chat's `last_slot_at` and the digests row of each slot are
written in the same transaction as its outbox messages and its new cursor. A forum chat with
thread routes (storage.routing) gets one set of messages per thread (bot.digests.forum); banned chats
(storage.access bans) are never planned, whatever their status. The chats' keyword rules
(storage.chat_rules) are matched once per pool against the articles' stored search terms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TypeVar

from bot.digests.forum import item_thread, split_digest
from bot.digests.render import Labels, render_digest, render_rich_digest
from bot.digests.selection import DEFAULT_CAP, Digest, DigestFilter, DigestPool, RuleRef
from bot.digests.slots import (
    ChatSchedule,
    in_quiet_hours,
    is_catch_up_too_old,
    latest_due_slot,
    next_slot_after,
    zone_for,
)
from bot.domain import Article, Chat, DigestPlan
from bot.i18n.catalog import t
from bot.observe import NO_EVENTS, PipelineEvents
from bot.understand.chatrules import ChatRule, RuleIndex
from storage.port import Storage

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Pure functions of (schedule, last slot, now): the chats due at one minute mostly share them
# (a schedule and yesterday's slot), so a tick works each out once, not once per chat.
_latest_due_slot = lru_cache(maxsize=4096)(latest_due_slot)
_next_slot_after = lru_cache(maxsize=4096)(next_slot_after)

# A new subscriber's first digest looks back this far (first polls included): a useful first
# digest, never the whole archive.
FIRST_DIGEST_WINDOW = timedelta(hours=24)
# Digests kept for the chats of a pass that get the same one (~10 KB each).
MEMO_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class _FirstPool:
    """What a new subscriber's first digest is chosen from: the pool with first polls, and the
    start of its look-back window."""

    pool: DigestPool
    since: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TickReport:
    queued: int = 0  # digests with messages
    empty: int = 0  # slots with nothing new (recorded, nothing sent)
    skipped: int = 0  # slots older than the catch-up window (recorded, nothing sent)
    instant: int = 0  # instant-mode digests


class DigestService:
    def __init__(
        self,
        stores: Storage,
        *,
        labels_for: Callable[[str], Labels],
        topic_order: Sequence[str] = (),
        clock: Callable[[], datetime] = _utc_now,
        on_enqueued: Callable[[], None] | None = None,
        cap: int = DEFAULT_CAP,
        pool_limit: int = 20_000,
        batch: int = 100,
        preview_top_story: bool = False,
        events: PipelineEvents = NO_EVENTS,
    ) -> None:
        self.chats = stores.chats
        self.outbox = stores.outbox
        self.articles = stores.digest_articles
        self.routing = stores.routing
        self.rules = stores.rules
        self.labels_for = labels_for
        self.topic_order = tuple(topic_order)
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.cap = cap
        self.pool_limit = pool_limit  # newest articles considered for one planning pass
        self.batch = batch  # digests per write transaction
        self.preview_top_story = preview_top_story
        self.events = events
        self._lock = asyncio.Lock()  # one planner at a time (tick, instant, /digest)

    # -- scheduled jobs

    async def tick(self) -> TickReport:
        """The minute job: scheduled slots that are due, then instant chats."""
        now = self.clock()
        report = await self.run_due(now)
        instant = await self.deliver_instant(now)
        return TickReport(report.queued, report.empty, report.skipped, instant)

    async def run_due(self, now: datetime) -> TickReport:
        async with self._lock:
            due, idle = await _off_loop(self._split_due, await self.chats.due_for_slots(now), now)
            if idle:
                await self.outbox.set_next_slots(idle)
            if not due:
                return TickReport()
            rules = await self._rules_for(c.id for c, _ in due)
            index = RuleIndex(r for chat_rules in rules.values() for r in chat_rules)
            pool = await self._pool(min(c.cursor_article_id for c, _ in due), index)
            first = await self._first_pool([c for c, _ in due], pool, now, index)
            routes = await self.routing.routes_for(c.id for c, _ in due)
            muted = await self.chats.muted_feeds(c.id for c, _ in due)
            cache: dict = {}
            memo: dict = {}

            def plan_batch(batch: Sequence[tuple[Chat, datetime]]) -> list[DigestPlan]:
                return [
                    self._plan_slot(
                        chat,
                        slot,
                        pool,
                        now,
                        cache,
                        routes.get(chat.id, {}),
                        first,
                        rules.get(chat.id, ()),
                        muted.get(chat.id, frozenset()),
                        memo,
                    )
                    for chat, slot in batch
                ]

            outcomes = await self._plan_and_record(due, plan_batch, now)
        report = TickReport(
            outcomes.count("queued"), outcomes.count("empty"), outcomes.count("skipped")
        )
        log.info("digest tick: %s", report)
        return report

    async def deliver_instant(self, now: datetime | None = None) -> int:
        """One message (or a few parts) per instant-mode chat for what the last poll stored."""
        now = now or self.clock()
        async with self._lock:
            max_id = await self.articles.max_id()
            # in quiet hours items wait (the cursor stays): one message when the quiet ends
            chats = [
                c
                for c in await self.chats.due_instant(max_id)
                if not in_quiet_hours(c.quiet, self._zone(c), now)
            ]
            if not chats:
                return 0
            rules = await self._rules_for(c.id for c in chats)
            index = RuleIndex(r for chat_rules in rules.values() for r in chat_rules)
            pool = await self._pool(min(c.cursor_article_id for c in chats), index)
            routes = await self.routing.routes_for(c.id for c in chats)
            muted = await self.chats.muted_feeds(c.id for c in chats)
            cache: dict = {}
            memo: dict = {}

            def plan_batch(batch: Sequence[Chat]) -> list[DigestPlan]:
                return [
                    self._plan(
                        chat,
                        "instant",
                        now,
                        pool,
                        cache=cache,
                        routes=routes.get(chat.id),
                        rules=rules.get(chat.id, ()),
                        muted=muted.get(chat.id, frozenset()),
                        memo=memo,
                    )
                    for chat in batch
                ]

            outcomes = await self._plan_and_record(chats, plan_batch, now)
        return outcomes.count("queued")

    # -- on request

    async def digest_now(self, chat_id: int) -> int:
        """/digest: queue what is new for the chat now and mark it delivered; returns the
        number of stories queued (0: nothing new)."""
        now = self.clock()
        async with self._lock:
            chat = await self.chats.get(chat_id)
            if chat is None:
                return 0
            plan = await self._manual_plan(chat, now)
            if not plan.parts:
                plan = _without_record(plan)
            await self._record([plan], now)
        return plan.article_count

    async def latest(self, chat_id: int, topic: str | None = None, limit: int = 10) -> list[str]:
        """/latest: the newest stories for the chat's filters (or one topic); no state change."""
        chat = await self.chats.get(chat_id)
        if chat is None:
            return []
        # first polls included: /latest is "what is there", not "what is new for me"
        rules = [] if topic else await self._chat_rules(chat_id)
        articles = await self.articles.newest(max(500, limit * 50))
        pool = DigestPool(
            articles,
            self.topic_order,
            with_backfill=True,
            rule_hits=await self._rule_hits(articles, RuleIndex(rules)),
        )
        muted = await self._muted_of(chat_id)
        if topic:
            filt = DigestFilter((topic,), chat.countries, muted_feeds=muted, language=chat.language)
        else:
            filt = _filter(chat, rules, muted)
        digest = pool.latest(filt, limit=limit)
        return self._render(
            chat, digest, self.clock(), title=t(chat.language, "digest.latest_title")
        )

    async def preview(self, chat_id: int) -> list[str]:
        """What /digest would send now, without sending or moving the cursor (CLI --dry-run);
        a forum chat's messages for all its threads, in sending order."""
        chat = await self.chats.get(chat_id)
        if chat is None:
            raise LookupError(f"chat {chat_id} is not subscribed")
        plan = await self._manual_plan(chat, self.clock())
        return list(plan.parts)

    # -- internals

    async def _plan_and_record(
        self,
        items: Sequence[_T],
        plan_batch: Callable[[Sequence[_T]], list[DigestPlan]],
        now: datetime,
    ) -> list[str]:
        """Each item's outcome (queued, empty, skipped). Plans in batches off the loop and
        records each batch in its own transaction, the next batch planned while the last one
        is written (the driver writes without the GIL; in a profile most of the pass still
        runs one thread at a time, so the overlap is small). Memory stays flat however many
        chats are due. A failed write stops the pass once the batch being planned is done (it
        is not recorded); a failed plan lets the batch being written finish. Cancelled: the
        write under way rolls back."""
        outcomes: list[str] = []
        writing: asyncio.Task[None] | None = None
        try:
            for start in range(0, len(items), self.batch):
                plans = await _off_loop(plan_batch, items[start : start + self.batch])
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(self._record(plans, now))
                outcomes += [p.outcome for p in plans]
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():  # planning failed
                (failed,) = await asyncio.gather(writing, return_exceptions=True)
                if isinstance(failed, Exception):
                    log.error("a batch of digests was not recorded either: %r", failed)
        return outcomes

    async def _manual_plan(self, chat: Chat, now: datetime) -> DigestPlan:
        """What /digest plans for one chat now (its rules, first digest, threads, mutes)."""
        rules = await self._chat_rules(chat.id)
        index = RuleIndex(rules)
        pool = await self._pool(chat.cursor_article_id, index)
        first = await self._first_pool([chat], pool, now, index)
        routes = await self.routing.routes(chat.id)
        muted = await self._muted_of(chat.id)
        return self._plan(
            chat, "manual", now, pool, routes=routes, first=first, rules=rules, muted=muted
        )

    async def _muted_of(self, chat_id: int) -> frozenset[int]:
        return (await self.chats.muted_feeds([chat_id])).get(chat_id, frozenset())

    async def _pool(self, after_id: int, index: RuleIndex | None = None) -> DigestPool:
        articles = await self.articles.above(after_id, limit=self.pool_limit)
        hits = await self._rule_hits(articles, index)
        return await _off_loop(
            lambda: DigestPool(articles, self.topic_order, rule_hits=hits, after_id=after_id)
        )

    async def _rules_for(self, chat_ids: Iterable[int]) -> dict[int, list[ChatRule]]:
        stored = await self.rules.for_chats(chat_ids)
        return {c: [ChatRule.from_stored(r) for r in rules] for c, rules in stored.items()}

    async def _chat_rules(self, chat_id: int) -> list[ChatRule]:
        return [ChatRule.from_stored(r) for r in await self.rules.list(chat_id)]

    async def _rule_hits(
        self, articles: Sequence[Article], index: RuleIndex | None
    ) -> dict[int, list[int]]:
        """{rule id: matching article ids}: the pool's stored terms read once, only if some
        chat of this pass has rules."""
        if index is None or not index.count or not articles:
            return {}
        terms = await self.rules.terms(a.id for a in articles)
        return index.match_all(terms, {a.id: a.countries for a in articles})

    async def _first_pool(
        self,
        chats: Sequence[Chat],
        pool: DigestPool,
        now: datetime,
        index: RuleIndex | None = None,
    ) -> _FirstPool | None:
        """The pool for the chats that never got a digest: what is new for them plus what was
        published in the last 24 hours (first polls included); None if there are none."""
        new = [c for c in chats if c.first_digest_at is None]
        if not new:
            return None
        since = now - FIRST_DIGEST_WINDOW
        # each chat's cursor moves to max(pool.max_id, its cursor): nothing newer may show yet
        up_to = max(pool.max_id, *(c.cursor_article_id for c in new))
        recent = await self.articles.published_since(since, up_to_id=up_to, limit=self.pool_limit)
        lowest = min(c.cursor_article_id for c in new)
        if pool.after_id is not None and pool.after_id <= lowest:
            # the pool holds the newest `pool_limit` above a cursor at most this one: those
            # above `lowest` among them are the newest `pool_limit` above `lowest`
            newer = [a for a in pool.given if a.id > lowest]
        else:
            newer = await self.articles.above(lowest, limit=self.pool_limit)
        merged = {a.id: a for a in recent}
        merged.update((a.id, a) for a in newer if a.id <= up_to)
        articles = list(merged.values())
        hits = await self._rule_hits(articles, index)
        first_pool = await _off_loop(
            lambda: DigestPool(articles, self.topic_order, with_backfill=True, rule_hits=hits)
        )
        return _FirstPool(first_pool, since)

    async def _record(self, plans: list[DigestPlan], now: datetime) -> None:
        recorded = await self.outbox.record_digests(plans, now)
        for plan, digest_id in zip(plans, recorded, strict=True):
            if digest_id and plan.parts:  # None: dropped (the chat changed); 0: nothing to send
                self.events.digest_planned(plan.kind)
        if self.on_enqueued is not None and any(p.parts for p in plans):
            self.on_enqueued()  # wake the sender: the first chats start while we plan more

    def _split_due(
        self, chats: Sequence[Chat], now: datetime
    ) -> tuple[list[tuple[Chat, datetime]], list[tuple[int, datetime | None]]]:
        """The chats whose slot is due (with that slot), and the others' next slot."""
        due: list[tuple[Chat, datetime]] = []
        idle: list[tuple[int, datetime | None]] = []
        for chat in chats:
            schedule = self._schedule(chat)
            slot = _latest_due_slot(schedule, chat.last_slot_at or chat.created_at, now)
            if slot is None:
                idle.append((chat.id, _next_slot_after(schedule, now)))
            else:
                due.append((chat, slot))
        return due, idle

    def _schedule(self, chat: Chat) -> ChatSchedule:
        return ChatSchedule(chat.mode, chat.times, chat.weekday, self._zone_name(chat))

    def _zone_name(self, chat: Chat) -> str:
        try:
            zone_for(chat.timezone)
        except ValueError:
            log.warning("chat %s has an unknown time zone %r; using UTC", chat.id, chat.timezone)
            return "UTC"
        return chat.timezone

    def _zone(self, chat: Chat) -> tzinfo:
        return zone_for(self._zone_name(chat))

    def _digest(
        self,
        chat: Chat,
        pool: DigestPool,
        first: _FirstPool | None = None,
        rules: Sequence[ChatRule] = (),
        muted: frozenset[int] = frozenset(),
    ) -> Digest:
        filt = _filter(chat, rules, muted)
        if first is not None and chat.first_digest_at is None:
            return first.pool.select(
                filt, after_id=chat.cursor_article_id, cap=self.cap, since=first.since
            )
        return pool.select(filt, after_id=chat.cursor_article_id, cap=self.cap)

    def _render(
        self,
        chat: Chat,
        digest: Digest,
        now: datetime,
        title: str | None = None,
        cache: dict | None = None,
    ) -> list[str]:
        return render_digest(
            digest,
            labels=self.labels_for(chat.language),
            zone=self._zone(chat),
            now=now,
            title=title,
            cache=cache,
        )

    def _plan_slot(
        self,
        chat: Chat,
        slot: datetime,
        pool: DigestPool,
        now: datetime,
        cache: dict,
        routes: Mapping[str, int] | None,
        first: _FirstPool | None = None,
        rules: Sequence[ChatRule] = (),
        muted: frozenset[int] = frozenset(),
        memo: dict | None = None,
    ) -> DigestPlan:
        next_at = _next_slot_after(self._schedule(chat), now)
        if is_catch_up_too_old(slot, now):
            return DigestPlan(
                chat_id=chat.id,
                kind="scheduled",
                slot_at=slot,
                parts=(),
                article_count=0,
                outcome="skipped",
                expected_cursor=chat.cursor_article_id,
                expected_updated_at=chat.updated_at,
                new_cursor=None,
                last_slot_at=slot,
                next_slot_at=next_at,
            )
        plan = self._plan(
            chat,
            "scheduled",
            slot,
            pool,
            now=now,
            cache=cache,
            routes=routes,
            first=first,
            rules=rules,
            muted=muted,
            memo=memo,
        )
        return replace(plan, last_slot_at=slot, next_slot_at=next_at)

    def _plan(
        self,
        chat: Chat,
        kind: str,
        slot: datetime,
        pool: DigestPool,
        *,
        now: datetime | None = None,
        cache: dict | None = None,
        routes: Mapping[str, int] | None = None,
        first: _FirstPool | None = None,
        rules: Sequence[ChatRule] = (),
        muted: frozenset[int] = frozenset(),
        memo: dict | None = None,
    ) -> DigestPlan:
        """`memo` (a dict the caller keeps for one pass over one pool): chats that see the
        same digest — the same filters (in any order), cursor, language, zone and format, and
        no rules, mutes or threads of their own — share one selection and rendering (a tick's
        chats due at the same hour mostly got their last digest in the same tick, so they
        share a cursor)."""
        if memo is not None and not rules and not muted and not routes:
            key = (
                frozenset(chat.topics), frozenset(chat.countries), chat.all_sources, chat.language,
                chat.cursor_article_id,
                first is not None and chat.first_digest_at is None, self._zone_name(chat),
                chat.digest_format, now or slot,
            )  # fmt: skip
            content = memo.get(key)
            if content is None:
                content = self._content(chat, slot, pool, now, cache, routes, first)
                if len(memo) >= MEMO_SIZE:  # the oldest goes: memory stays flat
                    del memo[next(iter(memo))]
                memo[key] = content
        else:
            content = self._content(chat, slot, pool, now, cache, routes, first, rules, muted)
        return DigestPlan(
            chat_id=chat.id,
            kind=kind,
            slot_at=slot,
            parts=content.parts,
            article_count=content.article_count,
            outcome="queued" if content.parts else "empty",
            expected_cursor=chat.cursor_article_id,
            expected_updated_at=chat.updated_at,
            new_cursor=max(pool.max_id, chat.cursor_article_id),
            preview_url=content.preview_url,
            part_threads=content.part_threads,
            preview_part=content.preview_part,
            rich=content.rich,
        )

    def _content(
        self,
        chat: Chat,
        slot: datetime,
        pool: DigestPool,
        now: datetime | None,
        cache: dict | None,
        routes: Mapping[str, int] | None,
        first: _FirstPool | None,
        rules: Sequence[ChatRule] = (),
        muted: frozenset[int] = frozenset(),
    ) -> _Content:
        """What a chat's digest says: selected, split by thread, rendered."""
        digest = self._digest(chat, pool, first, rules, muted)
        # a forum chat: each thread gets its own messages (header + its sections), in order
        split = split_digest(digest, routes or {}, chosen=chat.topics, topic_order=self.topic_order)
        threaded = [
            (thread, text)
            for thread, part in split
            for text in self._render(chat, part, now or slot, cache=cache)
        ]
        parts = tuple(text for _, text in threaded)
        threads = tuple(thread for thread, _ in threaded)
        top = digest.top
        preview = top.article.url if (self.preview_top_story and top is not None) else None
        preview_part = 0
        if top is not None and routes:  # the link preview goes with the top story's thread
            thread = item_thread(top, routes, chosen=chat.topics, topic_order=self.topic_order)
            preview_part = threads.index(thread)
        rich = None
        if chat.digest_format == "rich" and parts and not routes:
            # one rich message; a forum chat with thread routes keeps one message per thread
            rich = render_rich_digest(
                digest, labels=self.labels_for(chat.language), zone=self._zone(chat),
                now=now or slot,
            )  # fmt: skip
        return _Content(parts, digest.shown, preview, threads, preview_part, rich)


@dataclass(frozen=True, slots=True)
class _Content:
    """The part of a digest plan that is the same for every chat with the same digest."""

    parts: tuple[str, ...]
    article_count: int
    preview_url: str | None
    part_threads: tuple[int | None, ...]
    preview_part: int
    rich: str | None


async def _off_loop(work: Callable[..., _T], *args: object) -> _T:
    """Run CPU-bound planning (decoding chats, indexing a pool, building a batch of digests) in
    a worker thread. The GIL still runs one thread at a time, but it hands over every few
    milliseconds, so the event loop keeps answering users while a tick plans 100,000 digests
    (before, a batch held the loop for hundreds of milliseconds, the pool for seconds). The
    work touches no database and nothing the loop changes meanwhile (the planner's lock)."""
    return await asyncio.to_thread(work, *args)


def _filter(
    chat: Chat, rules: Sequence[ChatRule], muted: frozenset[int] = frozenset()
) -> DigestFilter:
    refs = tuple(RuleRef(r.id, r.text) for r in rules)
    return DigestFilter(
        chat.topics,
        chat.countries,
        chat.all_sources,
        rules=refs,
        muted_feeds=muted,
        language=chat.language,
    )


def _without_record(plan: DigestPlan) -> DigestPlan:
    """A /digest with nothing new: move the cursor past non-matching items, record no digest."""
    return replace(plan, kind="instant")
