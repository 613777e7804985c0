"""The types every stage shares and that cross the storage port (storage/port.py): frozen
dataclasses the stores take and return, and the few fixed values they are checked against.
Times are aware UTC datetimes. Stdlib only: storage/ builds these from rows, the stages use them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str | None
    custom_title: str | None
    site_url: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    active: bool
    paused: bool
    error_count: int
    last_error: str | None
    last_error_kind: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    initial_done: bool
    created_at: datetime

    @property
    def display_name(self) -> str:
        # Titles are capped when stored; a URL (the fallback) is capped here.
        return cap_title(self.custom_title or self.title or self.url) or self.url


FEED_TITLE_LIMIT = 200  # characters; a feed's name is a label on lists, never a paragraph


def cap_title(title: str | None, limit: int = FEED_TITLE_LIMIT) -> str | None:
    """A feed title as stored: at most `limit` characters, the cut marked with "…".

    Feeds are outside input: a 5,000-character <title> would otherwise make every list that
    names the feed (/sources, /feeds, /stats) too long for one Telegram message.
    """
    if title is None or len(title) <= limit:
        return title
    return title[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """A normalized feed entry, not yet stored (output of bot.ingest.normalize)."""

    key: str
    url: str | None
    title: str
    summary: str
    lead: str
    image_url: str | None
    source: str
    published_at: datetime
    dated: bool = True  # False: the feed gave no usable date; published_at is the fetch time


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    feed_id: int | None
    key: str
    url: str | None
    title: str
    summary: str
    lead: str
    image_url: str | None
    source: str
    published_at: datetime
    fetched_at: datetime
    backfill: bool
    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cluster_id: int | None = None
    language: str | None = (
        None  # "ru", "en", … (bot.understand.crosslang); None for rows stored before
    )


# -- subscribers


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    username: str | None
    language: str
    timezone: str
    status: str
    mode: str
    times: tuple[str, ...]
    weekday: int | None
    topics: tuple[str, ...]
    countries: tuple[str, ...]
    cursor_article_id: int
    last_slot_at: datetime | None
    onboarded: bool
    added_by: int | None
    created_at: datetime
    updated_at: datetime
    all_sources: bool = False  # "everything from my sources": untagged articles too
    first_digest_at: datetime | None = None  # None: no digest was ever sent (a new subscriber)
    quiet: tuple[str, str] | None = None  # local ("23:00", "08:00"): instant items wait
    digest_format: str = "compact"  # compact (HTML messages) | rich (one rich message)

    @property
    def is_group(self) -> bool:
        """Telegram limits groups to 20 messages a minute (channels have negative ids too)."""
        return self.type in ("group", "supergroup")


# -- what a poll stores


@dataclass(frozen=True, slots=True)
class NewArticle:
    """A draft plus what understanding added, ready to insert."""

    draft: ArticleDraft
    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cluster_id: int | None = None  # None: a story of its own (cluster_id becomes the row's id)
    signature: bytes | None = None
    search_terms: str = ""
    language: str | None = None
    evidence: str | None = None  # bot.understand.crosslang items, encoded


@dataclass(frozen=True, slots=True)
class ClusterRow:
    article_id: int
    cluster_id: int | None
    signature: bytes
    published_at: datetime
    source: str
    language: str | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class PollSuccess:
    """What a successful poll changes on the feed row (written in the poll's transaction)."""

    now: datetime
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    site_url: str | None = None
    language: str | None = None
    moved_to: str | None = None


# -- digests and the outbox


class Claimed(NamedTuple):
    """A message claimed for sending, and when a flood wait shared by all processes ends
    (epoch seconds; None: there is none)."""

    paused_until: float | None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    chat_id: int
    digest_id: int | None
    part: int
    thread_id: int | None
    text: str
    preview_url: str | None
    attempts: int
    not_before: datetime
    rich: bool = False  # a rich message (sendRichMessage); `fallback` holds its compact parts
    fallback: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """One digest to record atomically with its messages and the chat's new cursor/slot.

    `expected_cursor`/`expected_updated_at` are what the planner read: if the chat changed
    meanwhile (a /digest, a new schedule, /stop), the plan is dropped and re-made later.
    """

    chat_id: int
    kind: str  # scheduled | instant | manual | broadcast
    slot_at: datetime
    parts: Sequence[str]
    article_count: int
    outcome: str  # queued | empty | skipped
    expected_cursor: int
    expected_updated_at: datetime
    new_cursor: int | None  # None: keep
    last_slot_at: datetime | None = None  # None: keep
    next_slot_at: datetime | None = None
    thread_id: int | None = None
    preview_url: str | None = None
    part_threads: Sequence[int | None] = ()  # a forum thread per part; empty: thread_id for all
    preview_part: int = 0  # the part that carries preview_url
    rich: str | None = None  # the digest as one rich message; `parts` are then its fallback


# -- access, audit, broadcasts

ACCESS_MODES = ("open", "approval", "invite")


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    max_uses: int
    uses: int
    created_by: int
    created_at: datetime
    revoked: bool

    @property
    def usable(self) -> bool:
        return not self.revoked and self.uses < self.max_uses


@dataclass(frozen=True, slots=True)
class AccessRequest:
    chat_id: int
    user_id: int
    name: str | None
    language: str
    status: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class Ban:
    subject_id: int
    reason: str | None
    banned_by: int
    banned_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int
    action: str
    target: str | None
    details: str | None


@dataclass(frozen=True, slots=True)
class BroadcastTally:
    broadcast_id: int
    recipients: int
    sent: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


# -- keyword rules

MAX_RULES = 20  # per chat


@dataclass(frozen=True, slots=True)
class StoredRule:
    id: int
    chat_id: int
    text: str  # canonical form
    spec: str  # the parsed rule as JSON


@dataclass(frozen=True, slots=True)
class Candidate:
    """An archive article a rule test checks: what the rule needs and what is shown."""

    id: int
    title: str
    published_at: datetime
    countries: list[str]
    terms: str


# -- counts for /stats and monitoring


@dataclass(frozen=True, slots=True)
class FeedActivity:
    """Articles of one feed per UTC day (`YYYY-MM-DD` → count) and its newest item time."""

    feed_id: int
    per_day: dict[str, int]
    newest_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    sent: int
    failed: int
    pending: int
    retried: int  # rows that needed more than one attempt


# -- dialogs, webhook updates, forum routes


@dataclass(frozen=True, slots=True)
class DialogKey:
    """Whose dialog: aiogram's storage key, with 0 / '' for no forum thread / business connection."""

    bot_id: int
    chat_id: int
    user_id: int
    thread_id: int = 0
    business_connection_id: str = ""
    destiny: str = "default"

    def params(self) -> tuple[Any, ...]:
        return (self.bot_id, self.chat_id, self.user_id, self.thread_id,
                self.business_connection_id, self.destiny)  # fmt: skip


class Claim(enum.Enum):
    MINE = "mine"  # first delivery, or its taker died before finishing: handle it now
    DONE = "done"  # handled already: answer 200, do nothing
    BUSY = "busy"  # another process is handling it right now: let Telegram deliver it again


@dataclass(frozen=True, slots=True)
class Snapshot:
    active_feeds: int  # active and not paused: the feeds that should be polled
    pending: int  # outbox rows still to send
    oldest_pending_at: datetime | None  # when the oldest of them was queued


DEFAULT_ROUTE = "*"  # the thread for items whose topics have no route of their own
