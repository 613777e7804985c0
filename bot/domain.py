"""Frozen dataclasses the repositories return; times are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
