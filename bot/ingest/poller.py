"""Polling feeds into the archive: fetch → parse → normalize → understand → store, per feed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.domain import ArticleDraft, Feed, NewArticle, PollSuccess, cap_title
from bot.ingest.fetch import Fetcher, FetchError, FetchResult
from bot.ingest.normalize import normalize_entry, repeated_identifiers
from bot.ingest.parse import ParseError, parse_feed
from bot.observe import NO_EVENTS, PipelineEvents
from bot.understand.classify import Classifier
from bot.understand.clustering import CLUSTER_WINDOW, ClusterCandidate, ClusterIndex, make_signature
from bot.understand.crosslang import decode, detect_language, encode
from bot.understand.searchterms import index_terms
from storage.port import ArticleStore, FeedStore

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(days=1)
# A claimed feed is left alone by other processes this long; a poll ends well within it
# (fetch timeouts are seconds), so only a process killed mid-poll lets the lease run out.
POLL_LEASE = timedelta(minutes=5)
DEACTIVATE_AFTER_ERRORS = 20  # with back-off doubling to a day, about two weeks of failures
# An undated entry (no date to compare) with the title and text of one stored this recently is
# the same entry under a rotated guid/link: see storage.port.ArticleStore.same_entries.
UNDATED_REPEAT_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed: Feed
    status: str  # new | known | unchanged (same body) | not_modified (304) | error
    new: int = 0
    known: int = 0
    error: str | None = None
    error_kind: str | None = None  # a FetchErrorKind / ParseErrorKind value, or "internal"
    deactivated: bool = False
    new_ids: tuple[int, ...] = ()

    def line(self) -> str:
        name = self.feed.display_name
        if self.status == "error":
            tail = " — deactivated after repeated errors" if self.deactivated else ""
            return f"error  {name}: {self.error}{tail}"
        if self.status == "not_modified":
            return f"known  {name}: not modified (304)"
        if self.status == "unchanged":
            return f"known  {name}: unchanged since the last poll"
        return f"{self.status:<6} {name}: {self.new} new, {self.known} known"


def backoff_delay(interval: timedelta, error_count: int) -> timedelta:
    """Exponential back-off after the n-th consecutive error, capped at a day."""
    exponent = min(max(error_count - 1, 0), 16)
    return min(interval * (2**exponent), MAX_BACKOFF)


def spread_offset(url: str, interval: timedelta) -> timedelta:
    """A stable offset inside the interval so feeds don't all fire in the same minute."""
    fraction = zlib.crc32(url.encode()) / 2**32
    return timedelta(seconds=int(interval.total_seconds() * fraction))


def next_poll_time(url: str, now: datetime, interval: timedelta) -> datetime:
    """The feed's next slot in (now, now + interval]: every feed keeps its own phase (a hash of
    its URL), so feeds added together (an OPML import, the defaults) still spread out."""
    period = interval.total_seconds()
    phase = spread_offset(url, interval).total_seconds()
    elapsed = now.timestamp() - phase
    slot = (elapsed // period + 1) * period + phase
    return datetime.fromtimestamp(slot, tz=UTC)


@dataclass(frozen=True, slots=True)
class _Prepared:
    title: str | None
    link: str | None
    language: str | None
    drafts: list[ArticleDraft]


class Ingestor:
    """Polls feeds; one bad feed never delays the others (each poll is independent)."""

    def __init__(
        self,
        *,
        feeds: FeedStore,
        articles: ArticleStore,
        fetcher: Fetcher,
        classifier: Classifier,
        poll_interval: timedelta,
        clock: Callable[[], datetime],
        events: PipelineEvents = NO_EVENTS,
    ) -> None:
        self.feeds = feeds
        self.articles = articles
        self.fetcher = fetcher
        self.classifier = classifier
        self.interval = poll_interval
        self.clock = clock
        self.events = events
        self._store_lock = asyncio.Lock()

    async def poll_due(self) -> list[PollOutcome]:
        """Poll the due feeds this process claimed (several processes may share the database)."""
        return await self.poll_many(await self.feeds.claim_due(self.clock(), POLL_LEASE))

    async def poll_all(self) -> list[PollOutcome]:
        return await self.poll_many(await self.feeds.list_active())

    async def poll_many(self, feeds: Sequence[Feed]) -> list[PollOutcome]:
        # The fetcher bounds concurrency overall and per host.
        return list(await asyncio.gather(*(self.poll_feed(f) for f in feeds)))

    async def poll_feed(self, feed: Feed) -> PollOutcome:
        try:
            outcome = await self._poll(feed)
        except (FetchError, ParseError) as exc:
            return await self._fail(feed, exc.kind, exc.message)
        except Exception as exc:  # a bug must not stop the other feeds; record it on the feed
            log.exception("unexpected error polling %s", feed.url)
            return await self._fail(feed, "internal", f"{type(exc).__name__}: {exc}")
        self.events.poll_succeeded(feed.id, outcome.new)
        return outcome

    async def _poll(self, feed: Feed) -> PollOutcome:
        result = await self.fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified
        )
        now = self.clock()
        moved_to = await self._moved_to(feed, result)
        if result.not_modified:
            ok = self._success(feed, now, result, body_hash=None, moved_to=moved_to)
            await self.articles.record_unchanged(feed.id, ok, outcome="not_modified")
            return PollOutcome(feed, "not_modified")
        body_hash = hashlib.blake2b(result.body, digest_size=16).hexdigest()
        if body_hash == feed.body_hash and feed.initial_done:
            ok = self._success(feed, now, result, body_hash=body_hash, moved_to=moved_to)
            await self.articles.record_unchanged(feed.id, ok, outcome="known")
            return PollOutcome(feed, "unchanged")
        source = feed.custom_title or feed.title
        prepared = await asyncio.to_thread(self._prepare, result, source, now)
        keys = [d.key for d in prepared.drafts]
        known = await self.articles.known_keys(feed.id, keys)
        fresh = [d for d in prepared.drafts if d.key not in known]
        fresh = await self._without_repeats(feed, fresh, now)
        items = await self._understand(fresh, now, prepared.language)
        ok = self._success(
            feed,
            now,
            result,
            body_hash=body_hash,
            moved_to=moved_to,
            title=prepared.title,
            site_url=prepared.link,
            language=prepared.language,
        )
        async with self._store_lock:  # cluster choice must see the previous feed's new rows
            items = await self._cluster(items, now)
            new_ids = await self.articles.store_poll(
                feed.id,
                items,
                now=now,
                backfill=not feed.initial_done,
                success=ok,
                known_count=len(known),
            )
        status = "new" if new_ids else "known"
        return PollOutcome(feed, status, new=len(new_ids), known=len(known), new_ids=tuple(new_ids))

    def _prepare(self, result: FetchResult, source: str | None, now: datetime) -> _Prepared:
        """CPU work off the event loop: parse and normalize every entry."""
        parsed = parse_feed(result.body, url=result.url, headers=result.headers)
        name = cap_title(source or parsed.title or result.url) or result.url
        seen: set[str] = set()
        repeated = repeated_identifiers(parsed.entries)
        drafts = []
        entries = parsed.entries
        entries.reverse()
        while entries:  # popping frees each parsed entry once normalized (peak memory)
            entry = entries.pop()
            draft = normalize_entry(
                entry, feed_url=result.url, source=name, now=now, seen_keys=seen, repeated=repeated
            )
            if draft is not None:
                drafts.append(draft)
        return _Prepared(parsed.title, parsed.link, parsed.language, drafts)

    async def _without_repeats(
        self, feed: Feed, drafts: list[ArticleDraft], now: datetime
    ) -> list[ArticleDraft]:
        """Drop entries this feed already gave under other keys, and repeats within the batch
        (storage.port.ArticleStore.same_entries has the rule)."""
        if not drafts:
            return drafts
        stored = await self.articles.same_entries(
            feed.id, drafts, undated_since=now - UNDATED_REPEAT_WINDOW
        )
        kept, seen = [], set()
        for d in drafts:
            mark = (
                " ".join(d.title.casefold().split()),
                d.published_at if d.dated else " ".join(d.summary.casefold().split()),
            )
            if d.key in stored or mark in seen:
                continue
            seen.add(mark)
            kept.append(d)
        if len(kept) < len(drafts):
            log.info("%s: %d entries already stored under other guids/links",
                     feed.url, len(drafts) - len(kept))  # fmt: skip
        return kept

    async def _understand(
        self, drafts: list[ArticleDraft], now: datetime, declared: str | None = None
    ) -> list[NewArticle]:
        if not drafts:
            return []
        return await asyncio.to_thread(self._classify_all, drafts, declared)

    def _classify_all(
        self, drafts: list[ArticleDraft], declared: str | None = None
    ) -> list[NewArticle]:
        """One tokenization per article serves topics, countries, the story signature and search;
        `declared` is the feed's <language>, checked against each entry's script."""
        out = []
        for d in drafts:
            toks = self.classifier.tokenize(d.title, d.summary)
            c = self.classifier.classify_tokens(toks)
            out.append(
                NewArticle(
                    draft=d,
                    topics=c.topics,
                    countries=c.countries,
                    matches=c.matches,
                    signature=make_signature(toks.norm),
                    search_terms=index_terms(toks),
                    language=detect_language(f"{d.title} {d.summary}", declared),
                    evidence=encode(self.classifier.evidence(d.title, d.summary, c)),
                )
            )
        return out

    async def _cluster(self, items: list[NewArticle], now: datetime) -> list[NewArticle]:
        """Join each new article to a story told by another source in the window, if any."""
        recent = [i for i in items if now - i.draft.published_at <= CLUSTER_WINDOW]
        if not recent:
            return items
        oldest = min(i.draft.published_at for i in recent) - CLUSTER_WINDOW
        candidates = [
            ClusterCandidate(
                r.article_id,
                r.cluster_id,
                r.signature,
                r.published_at,
                r.source,
                r.language,
                decode(r.evidence),
            )
            for r in await self.articles.cluster_candidates(oldest)
        ]
        if not candidates:
            return items
        return await asyncio.to_thread(self._assign_clusters, items, candidates, now)

    @staticmethod
    def _assign_clusters(
        items: list[NewArticle], candidates: list[ClusterCandidate], now: datetime
    ) -> list[NewArticle]:
        index = ClusterIndex(candidates)
        out = []
        for item in items:
            if item.signature is None or now - item.draft.published_at > CLUSTER_WINDOW:
                out.append(item)
                continue
            cluster = index.choose(
                item.signature,
                item.draft.published_at,
                source=item.draft.source,
                language=item.language,
                evidence=decode(item.evidence),
            )
            out.append(_replace_cluster(item, cluster) if cluster is not None else item)
        return out

    def _success(
        self,
        feed: Feed,
        now: datetime,
        result: FetchResult,
        *,
        body_hash: str | None,
        moved_to: str | None,
        title: str | None = None,
        site_url: str | None = None,
        language: str | None = None,
    ) -> PollSuccess:
        keep = result.not_modified  # a 304 keeps the validators we sent
        return PollSuccess(
            now=now,
            next_poll_at=next_poll_time(feed.url, now, self.interval),
            etag=feed.etag if keep else result.etag,
            last_modified=feed.last_modified if keep else result.last_modified,
            body_hash=body_hash,
            title=title,
            site_url=site_url,
            language=language,
            moved_to=moved_to,
        )

    async def _moved_to(self, feed: Feed, result: FetchResult) -> str | None:
        url = result.permanent_url
        if not url or url == feed.url:
            return None
        if await self.feeds.get_by_url(url) is not None:
            log.warning("feed %s moved to %s, which is already a stored feed", feed.url, url)
            return None
        log.info("feed %s moved permanently to %s", feed.url, url)
        return url

    async def _fail(self, feed: Feed, kind: str, message: str) -> PollOutcome:
        self.events.poll_failed(feed.id, str(kind))
        now = self.clock()
        count = feed.error_count + 1
        deactivate = count >= DEACTIVATE_AFTER_ERRORS
        next_at = now + backoff_delay(self.interval, count)
        await self.feeds.record_error(
            feed.id,
            kind=str(kind),
            message=message,
            now=now,
            next_poll_at=next_at,
            deactivate=deactivate,
        )
        log.warning("feed %s failed (%s): %s", feed.url, kind, message)
        return PollOutcome(
            feed, "error", error=message, error_kind=str(kind), deactivated=deactivate
        )


def _replace_cluster(item: NewArticle, cluster_id: int) -> NewArticle:
    return replace(item, cluster_id=cluster_id)
