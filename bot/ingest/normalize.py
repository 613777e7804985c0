"""One feed entry → ArticleDraft: stable key, canonical URL, plain text, lead, image, UTC time.

Pure: no I/O, `now` is injected. Entries are feedparser entry dicts (any Mapping works).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import ArticleDraft
from bot.ingest.lead import extract_lead, split_sentences, strip_dateline
from bot.ingest.textclean import one_line, plain_text, truncate_words
from bot.ingest.urlcanon import absolute_http_url, canonical_url

__all__ = ["canonical_url", "extract_lead", "normalize_entry", "plain_text"]

log = logging.getLogger(__name__)

TITLE_MAX = 300
SUMMARY_MAX = 5000
LEAD_MAX = 300
GUID_MAX = 200
# Clocks and time zones of feed servers are often wrong by hours: a date this far ahead is a lie.
FUTURE_TOLERANCE = timedelta(minutes=10)
# Anything older is a parse accident (epoch 0, year 1, "01.01.1900") rather than news.
OLDEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
_DATE_FIELDS = ("published", "updated", "created")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_PIXEL = re.compile(r"""\b(?:width|height)\s*=\s*["']?[01]["'\s/>]""", re.IGNORECASE)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


def _usable_guid(guid: Any, feed_url: str) -> str | None:
    """The entry's guid/id, unless it cannot identify anything ("0", "", the feed URL)."""
    if not isinstance(guid, str):
        return None
    guid = guid.strip()
    if len(guid) < 2 or guid == feed_url:
        return None
    return guid


def repeated_identifiers(entries: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Guids and links that several entries of one feed share: they identify none of them.

    Deciding this for the whole batch up front keeps keys stable when a new entry arrives at
    the top of such a feed (first-come-first-served would shift every key by one).
    """
    counts = Counter(
        value
        for entry in entries
        for value in {entry.get("id"), _entry_link(entry)}
        if isinstance(value, str) and value
    )
    return frozenset(value for value, n in counts.items() if n > 1)


def _entry_key(
    guid: str | None, url: str | None, title: str, raw_date: str, seen: set[str] | None
) -> str:
    """guid → link → hash; a key already used in this batch falls through to the next kind."""
    candidates: list[str] = []
    if guid is not None:
        candidates.append("g:" + (guid if len(guid) <= GUID_MAX else _hash(guid)))
    if url is not None:
        candidates.append("l:" + (url if len(url) <= 2 * GUID_MAX else _hash(url)))
    candidates.append("h:" + _hash(title, raw_date))
    candidates.append("h:" + _hash(title, url or "", raw_date, "dup"))
    if seen is None:
        return candidates[0]
    key = next((k for k in candidates if k not in seen), None)
    # A third or later entry with the same title, link and date (no guid): numbered, so that
    # it is not dropped as a copy of the second; the first two keep their keys of old.
    copy = 3
    while key is None or key in seen:
        key = "h:" + _hash(title, url or "", raw_date, "dup", str(copy))
        copy += 1
    seen.add(key)
    return key


def _published(entry: Mapping[str, Any], now: datetime) -> tuple[datetime, bool]:
    """First of published/updated/created that parses; `now` when none does, when it lies more
    than FUTURE_TOLERANCE ahead (server clock or zone wrong), or is before OLDEST_PLAUSIBLE.
    The flag says whether the date came from the feed (False: it is `now`)."""
    for name in _DATE_FIELDS:
        parsed = entry.get(name + "_parsed")
        if not parsed:
            continue
        try:
            when = datetime(*parsed[:6], tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if when > now + FUTURE_TOLERANCE:
            log.debug("entry date %s is in the future, using now", when)
            return now, False
        if when < OLDEST_PLAUSIBLE:
            log.debug("entry date %s is implausibly old, using now", when)
            return now, False
        return when, True
    return now, False


def _raw_date(entry: Mapping[str, Any]) -> str:
    for name in _DATE_FIELDS:
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _richest_html(entry: Mapping[str, Any]) -> str:
    """The longest of summary and content[*].value (RSS description vs content:encoded)."""
    best = entry.get("summary") or ""
    for content in entry.get("content") or ():
        value = content.get("value") or ""
        if len(value) > len(best):
            best = value
    return best if isinstance(best, str) else ""


def _looks_like_image(url: str, mime: str | None) -> bool:
    if mime:
        return mime.lower().startswith("image/")
    return url.lower().split("?", 1)[0].endswith(_IMAGE_EXTENSIONS)


def _first_img_src(fragments: Iterable[tuple[str, str]], base: str) -> str | None:
    """First real <img> in (html, its own xml:base or "") fragments, made absolute."""
    for fragment, own_base in fragments:
        if not fragment or "<img" not in fragment.lower():
            continue
        for tag in _IMG_TAG.finditer(fragment):
            if _PIXEL.search(tag.group()):
                continue  # 1×1 tracking pixels
            src = _IMG_SRC.search(tag.group())
            if src:
                src_value = html.unescape(next(g for g in src.groups() if g))
                url = absolute_http_url(src_value, absolute_http_url(own_base, base) or base)
                if url:
                    return url
    return None


def _image_url(entry: Mapping[str, Any], base: str) -> str | None:
    """Image enclosure → media:content → media:thumbnail → first <img> of content/summary."""
    for enclosure in entry.get("enclosures") or ():
        url = absolute_http_url(enclosure.get("href") or enclosure.get("url"), base)
        if url and _looks_like_image(url, enclosure.get("type")):
            return url
    for media in entry.get("media_content") or ():
        url = absolute_http_url(media.get("url"), base)
        mime = media.get("type") or ("image/*" if media.get("medium") == "image" else None)
        if url and (media.get("medium") == "image" or _looks_like_image(url, mime)):
            return url
    for thumb in entry.get("media_thumbnail") or ():
        url = absolute_http_url(thumb.get("url"), base)
        if url:
            return url
    # feedparser runs with resolve_relative_uris=False (bot.ingest.parse), so each fragment's own
    # xml:base (feedparser's "base") is applied here.
    contents = [(c.get("value") or "", c.get("base") or "") for c in entry.get("content") or ()]
    summary = (entry.get("summary") or "", (entry.get("summary_detail") or {}).get("base") or "")
    return _first_img_src([*contents, summary], base)


def _entry_link(entry: Mapping[str, Any]) -> str | None:
    link = entry.get("link")
    if link:
        return link
    for candidate in entry.get("links") or ():
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return candidate["href"]
    return None


def normalize_entry(
    entry: Mapping[str, Any],
    *,
    feed_url: str,
    source: str,
    now: datetime,
    seen_keys: set[str] | None = None,
    repeated: frozenset[str] = frozenset(),
) -> ArticleDraft | None:
    """The ArticleDraft for one entry, or None when it has no title, no link and no summary.

    `seen_keys` (one set per feed batch) makes keys unique within the batch: it is updated.
    `repeated` (from `repeated_identifiers` over the batch) are guids/links never used as keys.
    `now` must be aware; the result's published_at is UTC.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    link = _entry_link(entry)
    url = canonical_url(link, feed_url)
    title = one_line(plain_text(entry.get("title") or ""))
    summary = plain_text(_richest_html(entry))
    if not title and not url and not summary:
        return None
    if not title:
        first = split_sentences(strip_dateline(one_line(summary[:1000])), 1)
        title = first[0] if first else (url or "")
    guid = None if entry.get("id") in repeated else _usable_guid(entry.get("id"), feed_url)
    key_url = None if link in repeated else url
    key = _entry_key(guid, key_url, title, _raw_date(entry), seen_keys)
    published_at, dated = _published(entry, now)
    return ArticleDraft(
        key=key,
        url=url,
        title=truncate_words(title, TITLE_MAX),
        summary=truncate_words(summary, SUMMARY_MAX),
        lead=extract_lead(summary, LEAD_MAX),
        image_url=_image_url(entry, feed_url),
        source=source,
        published_at=published_at,
        dated=dated,
    )
