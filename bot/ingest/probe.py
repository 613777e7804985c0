"""The /addfeed check: validate the URL, fetch it once, parse it, and summarise — or say why not.

Uses the poller's own fetcher (same SSRF policy, size cap and timeouts) and parser. An HTML page
is searched for `<link rel="alternate" type="application/rss+xml" …>` so the admin can be offered
the feed the page advertises.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from bot.ingest.fetch import Fetcher, FetchError, FetchResult, check_feed_url
from bot.ingest.parse import ParseError, ParseErrorKind, parse_feed

log = logging.getLogger(__name__)

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml"}
)
MAX_OFFERS = 5


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class FeedCheck:
    url: str  # what to store: where permanent redirects (301/308) lead, else the URL as given
    title: str | None
    site_url: str | None
    entries: int
    newest_title: str | None
    newest_at: datetime | None
    version: str


class FeedCheckError(Exception):
    """`kind`: a FetchErrorKind or ParseErrorKind value, or "html" (a page, see `offers`)."""

    def __init__(self, kind: str, message: str, offers: tuple[FeedLink, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.offers = offers


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        media = a.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and media in FEED_TYPES and a.get("href"):
            self.found.append((a["href"].strip(), a.get("title", "").strip() or None))


def discover_feed_links(html_text: str, base_url: str) -> list[FeedLink]:
    """Feeds a page advertises, absolute, valid http(s), in page order, without duplicates."""
    parser = _AlternateLinks()
    try:
        parser.feed(html_text[:2_000_000])
        parser.close()
    except AssertionError:  # html.parser gives up on some broken markup; keep what was found
        pass
    out: dict[str, FeedLink] = {}
    for href, title in parser.found:
        try:
            url = check_feed_url(urljoin(base_url, href))
        except FetchError:
            continue
        out.setdefault(url, FeedLink(url, title))
    return list(out.values())[:MAX_OFFERS]


def _when(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def summarise(result: FetchResult) -> FeedCheck:
    """Parse the fetched body (CPU: call off the event loop) into the /addfeed answer."""
    try:
        parsed = parse_feed(result.body, url=result.url, headers=result.headers)
    except ParseError as exc:
        if exc.kind == ParseErrorKind.NOT_A_FEED and _looks_html(result):
            text = result.body.decode(_charset(result), errors="replace")
            offers = tuple(discover_feed_links(text, result.url))
            raise FeedCheckError("html", exc.message, offers) from exc
        raise FeedCheckError(str(exc.kind), exc.message) from exc
    dated = [(w, e) for e in parsed.entries if (w := _when(e)) is not None]
    if dated:
        newest_at, newest = max(dated, key=lambda pair: pair[0])
    else:
        newest_at, newest = None, parsed.entries[0] if parsed.entries else None
    title = (newest.get("title") or "").strip() or None if newest is not None else None
    return FeedCheck(
        url=result.url,
        title=parsed.title,
        site_url=parsed.link,
        entries=len(parsed.entries),
        newest_title=title,
        newest_at=newest_at,
        version=parsed.version,
    )


def _looks_html(result: FetchResult) -> bool:
    content_type = result.headers.get("Content-Type", "").lower()
    return "html" in content_type or b"<html" in result.body[:4096].lower()


def _charset(result: FetchResult) -> str:
    content_type = result.headers.get("Content-Type", "")
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                break
    return "utf-8"


class FeedChecker:
    """`await checker.check(url)` → FeedCheck, or FeedCheckError with a reason for people."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    async def check(self, url: str) -> FeedCheck:
        try:
            clean = check_feed_url(url)
            result = await self.fetcher.fetch(clean)
        except FetchError as exc:
            raise FeedCheckError(str(exc.kind), exc.message) from exc
        if result.not_modified:  # we sent no validators; a 304 here is a broken server
            raise FeedCheckError("bad_response", "HTTP 304 without a conditional request")
        check = await asyncio.to_thread(summarise, result)
        # a temporary redirect (302/307: a tracking hop, a mirror for today) is not the feed's
        # address; the poller follows it again each time and moves on a permanent one itself
        check = replace(check, url=result.permanent_url or clean)
        log.info("feed check %s: %s entries", check.url, check.entries)
        return check
