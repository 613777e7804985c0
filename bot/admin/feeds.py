"""Adding a feed: the one use case behind /addfeed, the OPML import and `python -m bot feeds add`.

Whoever asks, a URL goes through the same steps with the same refusals: its shape
(`check_feed_url`), the address policy (FEEDS_ALLOW_PRIVATE; refused before anything is fetched,
in the words the fetcher uses), "already there", the probe (one fetch and parse, unless the
caller stores it unchecked), then the row and — when someone is named as the actor — the audit
entry. Callers only word the result for their medium.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.domain import Feed
from bot.ingest.fetch import FetchError, FetchErrorKind, check_feed_url
from bot.ingest.netguard import AddressRefused, check_host
from bot.ingest.parse import ParseErrorKind
from bot.ingest.probe import FeedCheck, FeedChecker, FeedCheckError, FeedLink
from storage.errors import FeedExistsError
from storage.port import AuditStore, FeedStore

log = logging.getLogger(__name__)

# The audit log's actor for the command line. Telegram ids are never 0 (users are positive,
# groups and channels negative), so /audit cannot mistake the operator for anyone.
OPERATOR = 0

# A body the parser could not use: the poller logs its own words, an admin adding the URL is told
# first of all that it is not a feed ("not well-formed (invalid token)" alone says too little).
_NOT_FEED_KINDS = frozenset(
    {str(ParseErrorKind.NOT_A_FEED), str(ParseErrorKind.EMPTY), str(ParseErrorKind.MALFORMED)}
)
# Refusals about the URL itself, known before any fetch: fixing them means another URL or setting.
INPUT_KINDS = frozenset({str(FetchErrorKind.INVALID_URL), str(FetchErrorKind.NOT_ALLOWED)})


@dataclass(frozen=True, slots=True)
class Added:
    feed: Feed
    check: FeedCheck | None  # None: stored without fetching it

    @property
    def title(self) -> str:
        """What to call it now: the custom title, else the feed's own, else its URL."""
        own = self.check.title if self.check is not None else None
        return self.feed.custom_title or own or self.feed.url

    @property
    def entries(self) -> int | None:
        return None if self.check is None else self.check.entries


@dataclass(frozen=True, slots=True)
class AlreadyThere:
    feed: Feed


@dataclass(frozen=True, slots=True)
class Refused:
    """`kind`: a FetchErrorKind or ParseErrorKind value, or "html" (a web page; see `offers`).
    `reason`: one line for people, the same whichever way the feed was being added."""

    url: str
    kind: str
    reason: str
    offers: tuple[FeedLink, ...] = ()

    @property
    def bad_input(self) -> bool:
        return self.kind in INPUT_KINDS


AddResult = Added | AlreadyThere | Refused


class AddFeed:
    """`await add_feed(url, title=…, actor=…, check=…)` → Added | AlreadyThere | Refused."""

    def __init__(
        self, feeds: FeedStore, checker: FeedChecker, audit: AuditStore, clock: Callable[[], datetime]
    ) -> None:
        self.feeds, self.checker, self.audit, self.clock = feeds, checker, audit, clock

    async def __call__(
        self, url: str, *, title: str | None = None, actor: int | None = None, check: bool = True
    ) -> AddResult:
        """`actor`: who to write in the audit log (None: the caller audits in its own way, as the
        OPML import does once per file). `check=False` stores the URL without fetching it; the
        address policy still applies, the first poll reports whatever else is wrong."""
        try:
            clean = check_feed_url(url)
        except FetchError as exc:
            return Refused(url, str(exc.kind), exc.message)
        refused = await self._policy_refusal(clean)
        if refused is not None:
            return refused
        existing = await self.feeds.get_by_url(clean)
        if existing is not None:
            return AlreadyThere(existing)
        probe: FeedCheck | None = None
        if check:
            try:
                probe = await self.checker.check(clean)
            except FeedCheckError as exc:
                return Refused(clean, exc.kind, _reason(exc), exc.offers)
            if probe.url != clean:  # redirected: store the address the poller will end up at
                clean = probe.url
                if (existing := await self.feeds.get_by_url(clean)) is not None:
                    return AlreadyThere(existing)
        now = self.clock()
        try:
            feed = await self.feeds.add(clean, now=now, title=title)
        except FeedExistsError:  # another admin (or an OPML line) added it meanwhile
            existing = await self.feeds.get_by_url(clean)
            if existing is None:  # ... and it was removed again
                return Refused(clean, "conflict", "the feed was changed meanwhile; try again")
            return AlreadyThere(existing)
        if actor is not None:
            await self.audit.record(actor, "feed.add", now=now, target=feed.url, details=title)
        log.info("feed #%d added: %s (checked: %s)", feed.id, feed.url, probe is not None)
        return Added(feed, probe)

    async def _policy_refusal(self, url: str) -> Refused | None:
        # The fetcher refuses these addresses when it connects; asking first gives the unchecked
        # path the same rule and spares the checked one a fetch that cannot succeed.
        parts = urlsplit(url)
        try:
            await check_host(self.checker.fetcher.policy, parts.hostname or "", parts.port or 0)
        except AddressRefused as exc:
            return Refused(url, str(FetchErrorKind.NOT_ALLOWED), str(exc))
        return None


def _reason(exc: FeedCheckError) -> str:
    if exc.kind in _NOT_FEED_KINDS and "not a feed" not in exc.message:
        return f"not a feed: {exc.message}"
    return exc.message
