"""The storage port: one Protocol per store, bundled in one `Storage` — what the stages,
handlers and the composition root see of storage/.

Engine-neutral: both engines (storage/db.py on SQLite, storage/postgres.py on PostgreSQL) run
the same repositories over the same SQL text, so one implementation per store satisfies each
Protocol on either engine; storage/stores.py builds the bundle over a connected facade. Domain
values cross as bot.domain types, times as aware UTC datetimes, failures as storage.errors
(never a driver's exception). tests/storage/test_port.py holds every store to these Protocols,
tests/storage/test_contract.py to their promises, on both engines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.domain import (
    AccessRequest,
    Article,
    ArticleDraft,
    AuditEntry,
    Ban,
    BroadcastTally,
    Candidate,
    Chat,
    Claim,
    Claimed,
    ClusterRow,
    DeliveryCounts,
    DialogKey,
    DigestPlan,
    Feed,
    FeedActivity,
    Invite,
    NewArticle,
    OutboxMessage,
    PollSuccess,
    Snapshot,
    StoredRule,
)


@runtime_checkable
class FeedStore(Protocol):
    """The sources and their health. `add` raises FeedExistsError (a ConflictError) for a URL
    already stored; `claim_due` returns the feeds whose next poll passed and moves each one's next
    poll by `lease`, so two processes never poll a feed at once (a crashed poller's lease runs out)."""

    async def add(
        self,
        url: str,
        *,
        now: datetime,
        title: str | None = None,
        first_poll_at: datetime | None = None,
    ) -> Feed: ...

    async def get(self, feed_id: int) -> Feed | None: ...

    async def get_by_url(self, url: str) -> Feed | None: ...

    async def list(self) -> list[Feed]: ...

    async def list_active(self) -> list[Feed]: ...

    async def claim_due(self, now: datetime, lease: timedelta) -> list[Feed]: ...

    async def count(self) -> int: ...

    async def remove(self, feed_id: int) -> bool: ...

    async def set_paused(self, feed_id: int, paused: bool, now: datetime) -> None: ...

    async def rename(self, feed_id: int, title: str | None) -> None: ...

    async def schedule_now(self, feed_id: int, now: datetime) -> None: ...

    async def record_error(
        self,
        feed_id: int,
        *,
        kind: str,
        message: str,
        now: datetime,
        next_poll_at: datetime,
        deactivate: bool,
    ) -> None: ...


@runtime_checkable
class ArticleStore(Protocol):
    """The archive. `store_poll` writes one poll's articles and the feed's new state in one
    transaction and stores each entry key once (a repeat returns no id); `known_keys` and
    `same_entries` are what the poller compares before it parses further."""

    async def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]: ...

    async def same_entries(
        self, feed_id: int, drafts: Sequence[ArticleDraft], *, undated_since: datetime
    ) -> set[str]: ...

    async def store_poll(
        self,
        feed_id: int,
        items: Sequence[NewArticle],
        *,
        now: datetime,
        backfill: bool,
        success: PollSuccess,
        known_count: int,
    ) -> list[int]: ...

    async def record_unchanged(
        self, feed_id: int, success: PollSuccess, *, outcome: str
    ) -> None: ...

    async def get(self, article_id: int) -> Article | None: ...

    async def latest(self, limit: int = 20, *, offset: int = 0) -> list[Article]: ...

    async def count(self) -> int: ...

    async def max_id(self) -> int: ...

    async def cluster_candidates(self, since: datetime) -> list[ClusterRow]: ...

    async def search(self, words: Sequence[str], limit: int = 10) -> list[Article]: ...

    def iter_all(self, batch: int = 500) -> AsyncIterator[list[Article]]: ...

    async def update_tags(
        self, rows: Sequence[tuple[int, Sequence[str], Sequence[str], dict[str, Sequence[str]]]]
    ) -> None: ...

    async def purge_older_than(self, cutoff: datetime) -> int: ...


@runtime_checkable
class DigestArticleStore(Protocol):
    """What the digest planner reads of the archive: the newest rows and the rows above a cursor."""

    async def max_id(self) -> int: ...

    async def above(self, after_id: int, *, limit: int) -> list[Article]: ...

    async def newest(self, limit: int) -> list[Article]: ...

    async def published_since(
        self, since: datetime, *, up_to_id: int, limit: int
    ) -> list[Article]: ...


@runtime_checkable
class ChatStore(Protocol):
    """Subscribers, their filters and schedules. Every change stamps `updated_at` (the
    planner's guard) and returns the chat as stored; changing a chat that is not subscribed
    raises ChatNotFoundError."""

    async def get(self, chat_id: int) -> Chat | None: ...

    async def due_for_slots(self, now: datetime) -> list[Chat]: ...

    async def due_instant(self, below: int) -> list[Chat]: ...

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
    ) -> Chat: ...

    async def set_topics(self, chat_id: int, topics: Sequence[str], now: datetime) -> Chat: ...

    async def set_all_sources(self, chat_id: int, now: datetime) -> Chat: ...

    async def toggle_topic(self, chat_id: int, slug: str, now: datetime) -> Chat: ...

    async def set_countries(
        self, chat_id: int, countries: Sequence[str], now: datetime
    ) -> Chat: ...

    async def set_quiet(
        self, chat_id: int, quiet: tuple[str, str] | None, now: datetime
    ) -> Chat: ...

    async def set_digest_format(self, chat_id: int, digest_format: str, now: datetime) -> Chat: ...

    async def muted_feeds(self, chat_ids: Iterable[int]) -> dict[int, frozenset[int]]: ...

    async def toggle_muted_feed(self, chat_id: int, feed_id: int) -> bool: ...

    async def toggle_country(self, chat_id: int, iso2: str, now: datetime) -> Chat: ...

    async def set_schedule(
        self, chat_id: int, *, mode: str, times: Sequence[str], weekday: int | None, now: datetime
    ) -> Chat: ...

    async def set_timezone(self, chat_id: int, tz: str, now: datetime) -> Chat: ...

    async def set_language(self, chat_id: int, lang: str, now: datetime) -> Chat: ...

    async def set_status(self, chat_id: int, status: str, now: datetime) -> Chat: ...

    async def reactivate(self, chat_id: int, now: datetime) -> Chat | None: ...

    async def mark_onboarded(self, chat_id: int, now: datetime) -> Chat: ...

    async def delete(self, chat_id: int) -> bool: ...

    async def migrate(self, old_id: int, new_id: int) -> None: ...

    async def list(self, *, status: str | None = None) -> list[Chat]: ...

    async def counts(self) -> dict[str, int]: ...


@runtime_checkable
class OutboxStore(Protocol):
    """Digests and the messages still to send. `record_digests` writes a plan's digest, its
    messages and the chat's cursor in one transaction, or nothing if the chat changed since it was
    read (None in the result); a scheduled slot is recorded once. `claim_heads`/`claim` lease a
    chat's oldest pending message to one owner; `mark_sent` records a message once
    (`mark_all_sent` several, in one round trip)."""

    async def record_digests(
        self, plans: Sequence[DigestPlan], now: datetime
    ) -> list[int | None]: ...

    async def set_next_slots(self, updates: Sequence[tuple[int, datetime | None]]) -> None: ...

    async def due_heads(
        self, now: datetime, limit: int, *, owner: str = ""
    ) -> list[OutboxMessage]: ...

    async def claim_heads(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]: ...

    async def claim(
        self, message_id: int, owner: str, now: datetime, until: datetime
    ) -> Claimed | None: ...

    async def undeliverable(self, message_id: int) -> str | None: ...

    async def undeliverable_among(self, message_ids: Sequence[int]) -> dict[int, str]: ...

    async def cancel_chat(self, chat_id: int, reason: str) -> int: ...

    async def next_due_at(self, *, owner: str = "") -> datetime | None: ...

    async def mark_sent(self, message_id: int, telegram_message_id: int, now: datetime) -> None: ...

    async def mark_all_sent(self, marks: Sequence[tuple[int, int, datetime]]) -> None: ...

    async def replace_with_fallback(self, message_id: int, error: str, now: datetime) -> int: ...

    async def defer(
        self, message_id: int, not_before: datetime, *, error: str, count_attempt: bool
    ) -> None: ...

    async def fail(self, message_id: int, error: str) -> None: ...

    async def fail_chat(self, chat_id: int, error: str) -> int: ...

    async def purge_finished(self, older_than: datetime) -> tuple[int, int]: ...

    async def counts(self) -> dict[str, int]: ...


@runtime_checkable
class RuleStore(Protocol):
    """Chats' keyword rules (at most MAX_RULES each: TooManyRulesError), rule drafts, and the
    archive's article terms the rules match on."""

    async def list(self, chat_id: int) -> list[StoredRule]: ...

    async def for_chats(self, chat_ids: Iterable[int]) -> dict[int, list[StoredRule]]: ...

    async def add(
        self, chat_id: int, text: str, spec: str, *, by: int | None, now: datetime
    ) -> StoredRule: ...

    async def delete(self, chat_id: int, rule_id: int) -> bool: ...

    async def count(self, chat_id: int) -> int: ...

    async def add_draft(
        self, chat_id: int, text: str, spec: str, *, by: int | None, now: datetime
    ) -> int: ...

    async def take_draft(self, chat_id: int, draft_id: int) -> tuple[str, str] | None: ...

    async def terms(self, ids: Iterable[int]) -> dict[int, str]: ...

    async def recent_candidates(
        self, required: Iterable[Iterable[str]], since: datetime, *, limit: int = 5000
    ) -> list[Candidate]: ...


@runtime_checkable
class RoutingStore(Protocol):
    """Forum threads per topic; a route for a chat that is not subscribed is a ConflictError."""

    async def routes(self, chat_id: int) -> dict[str, int]: ...

    async def routes_for(self, chat_ids: Iterable[int]) -> dict[int, dict[str, int]]: ...

    async def set_route(
        self, chat_id: int, topic: str, thread_id: int, *, by: int | None, now: datetime
    ) -> None: ...

    async def remove_route(self, chat_id: int, topic: str) -> bool: ...


@runtime_checkable
class AccessStore(Protocol):
    """Who may subscribe: the mode, invites, approval requests and bans (a ban cancels the
    chat's pending messages)."""

    async def mode(self) -> str: ...

    async def set_mode(self, mode: str) -> None: ...

    async def is_granted(self, chat_id: int) -> bool: ...

    async def create_invite(
        self, code: str, *, max_uses: int, by: int, now: datetime
    ) -> Invite: ...

    async def redeem(self, code: str, chat_id: int, now: datetime) -> bool: ...

    async def invites(self, *, usable_only: bool = True) -> list[Invite]: ...

    async def revoke_invite(self, code: str) -> bool: ...

    async def request(
        self, chat_id: int, *, user_id: int, name: str | None, language: str, now: datetime
    ) -> bool: ...

    async def pending_requests(self) -> list[AccessRequest]: ...

    async def decide(
        self, chat_id: int, *, approve: bool, by: int, now: datetime
    ) -> AccessRequest | None: ...

    async def ban(self, subject_id: int, *, by: int, reason: str | None, now: datetime) -> bool: ...

    async def unban(self, subject_id: int, now: datetime) -> bool: ...

    async def is_banned(self, *subject_ids: int | None) -> bool: ...

    async def bans(self) -> list[Ban]: ...


@runtime_checkable
class AuditStore(Protocol):
    """Every admin action, newest first."""

    async def record(
        self,
        actor_id: int,
        action: str,
        *,
        now: datetime,
        target: object = None,
        details: str | None = None,
    ) -> int: ...

    async def recent(self, *, limit: int = 20, offset: int = 0) -> list[AuditEntry]: ...

    async def count(self) -> int: ...


@runtime_checkable
class AlertStore(Protocol):
    """Which alerts were sent when: `claim` is true once per `quiet` period per key."""

    async def claim(self, key: str, text: str, *, now: datetime, quiet: timedelta) -> bool: ...


@runtime_checkable
class DraftStore(Protocol):
    """Admin drafts (a broadcast, an OPML import) kept between two button presses."""

    async def put(self, kind: str, payload: str, *, by: int, now: datetime) -> int: ...

    async def get(self, draft_id: int, kind: str) -> str | None: ...

    async def take(self, draft_id: int, kind: str) -> str | None: ...

    async def purge(self, older_than: datetime) -> None: ...


@runtime_checkable
class BroadcastStore(Protocol):
    """An announcement queued for every active subscriber, and how far it got."""

    async def enqueue(self, text: str, *, by: int, now: datetime) -> int: ...

    async def tally(self, broadcast_id: int) -> BroadcastTally: ...


@runtime_checkable
class DialogStore(Protocol):
    """Typed-input dialog state and data (aiogram's FSM), shared by every process; a dialog
    untouched for `ttl` reads as none."""

    ttl: timedelta

    async def state(self, key: DialogKey, *, now: datetime) -> str | None: ...

    async def data(self, key: DialogKey, *, now: datetime) -> dict[str, Any]: ...

    async def set_state(self, key: DialogKey, state: str | None, *, now: datetime) -> None: ...

    async def set_data(self, key: DialogKey, data: dict[str, Any], *, now: datetime) -> None: ...

    async def purge(self, *, now: datetime) -> int: ...


@runtime_checkable
class PacingStore(Protocol):
    """The send pace shared by processes (epoch seconds, as the rate limiter counts them)."""

    async def reserve(
        self, chat_id: int, now: float, *, interval: float, chat_interval: float
    ) -> float: ...

    async def hold(self, key: str, until: float) -> None: ...

    async def get(self, key: str) -> float | None: ...


@runtime_checkable
class StatsStore(Protocol):
    """Read-only counts for /stats, feed health and alerts."""

    async def subscribers(self) -> list[tuple[str, str, str, int]]: ...

    async def feed_activity(self, since: datetime) -> dict[int, FeedActivity]: ...

    async def articles_per_day_by_topic(self, since: datetime) -> dict[str, dict[str, int]]: ...

    async def articles_per_source(self, since: datetime) -> list[tuple[str, int]]: ...

    async def articles_per_day(self, since: datetime) -> dict[str, int]: ...

    async def first_seen(self) -> datetime | None: ...

    async def broadcasts_sent(self, since: datetime) -> int: ...

    async def digests_sent(self, since: datetime) -> dict[str, int]: ...

    async def delivery(self, since: datetime) -> DeliveryCounts: ...

    async def blocked_since(self, since: datetime) -> int: ...


@runtime_checkable
class MonitoringStore(Protocol):
    """What each metrics scrape reads; DatabaseUnavailable if the database does not answer."""

    async def snapshot(self) -> Snapshot: ...


@runtime_checkable
class UpdateStore(Protocol):
    """Which webhook updates were taken: `claim` is MINE for exactly one process."""

    async def claim(self, bot_id: int, update_id: int, *, now: datetime) -> Claim: ...

    async def done(self, bot_id: int, update_id: int, *, now: datetime) -> None: ...

    async def release(self, bot_id: int, update_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Storage:
    """Every store over one database (in the style of a storage type with one attribute per
    store): the composition root builds one and hands each part its stores."""

    feeds: FeedStore
    articles: ArticleStore
    digest_articles: DigestArticleStore
    chats: ChatStore
    outbox: OutboxStore
    rules: RuleStore
    routing: RoutingStore
    access: AccessStore
    audit: AuditStore
    alerts: AlertStore
    drafts: DraftStore
    broadcasts: BroadcastStore
    dialogs: DialogStore
    pacing: PacingStore
    stats: StatsStore
    monitoring: MonitoringStore
    updates: UpdateStore
