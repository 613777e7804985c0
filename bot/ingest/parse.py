"""Feed bytes → ParsedFeed with feedparser, or a ParseError saying why the body is no feed.

Sync and CPU-bound: run it off the event loop (asyncio.to_thread). The body is decoded here
(bot.ingest.encoding) and handed to feedparser as UTF-8 in a BytesIO, never as a URL or raw bytes
(feedparser.parse(bytes) opens a local file when the bytes look like a path).
"""

from __future__ import annotations

import io
import logging
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import feedparser

from bot.ingest.encoding import decode_body, to_utf8_xml
from bot.ingest.textclean import one_line, plain_text
from bot.ingest.urlcanon import absolute_http_url

log = logging.getLogger(__name__)

_HTML_ROOT = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE\s+html\b|<html\b)",
    re.IGNORECASE | re.DOTALL,
)
_FIRST_ELEMENT = re.compile(r"<\w")  # as feedparser finds the end of the prolog
_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.IGNORECASE)
_ENTITY_DECL = re.compile(r"<!ENTITY\b", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# bozo exceptions that say nothing about the feed's content: keep the result as it is.
_BENIGN = (
    feedparser.CharacterEncodingOverride,
    feedparser.NonXMLContentType,
    feedparser.CharacterEncodingUnknown,
)


class ParseErrorKind(StrEnum):
    NOT_A_FEED = "not_a_feed"
    EMPTY = "empty"
    MALFORMED = "malformed"
    UNSAFE = "unsafe"


class ParseError(Exception):
    """The body cannot be used as a feed; `kind` is stable, `message` is for people."""

    def __init__(self, kind: ParseErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: list[Any]  # feedparser entry dicts, in feed order
    warnings: tuple[str, ...]
    version: str  # feedparser's: rss20, rss091u, rss10, atom10, … ("" if it could not tell)


def describe_bozo(exc: BaseException | None) -> str:
    """feedparser's complaint in one line: "not well-formed (invalid token) at line 3, column 4"."""
    if exc is None:
        return "unknown parser error"
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    return str(exc) or type(exc).__name__


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _declares_entities(text: str) -> bool:
    """A DOCTYPE before the root element, and an <!ENTITY anywhere after it."""
    first = _FIRST_ELEMENT.search(text)
    doctype = _DOCTYPE.search(text, 0, first.start() if first else len(text))
    return doctype is not None and _ENTITY_DECL.search(text, doctype.end()) is not None


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a fetched feed body; relative links resolve against `url` (and xml:base)."""
    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise ParseError(ParseErrorKind.EMPTY, "empty body")
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    media_type = _media_type(content_type)
    decoded = decode_body(body, content_type)
    head = decoded.text[:4096]
    if _HTML_ROOT.match(head):
        raise ParseError(ParseErrorKind.NOT_A_FEED, "got an HTML page, not a feed")
    # feedparser keeps "safe" entities (plain text values): 10 KB of them expanded to 7.5 MB in
    # one title under expat's amplification limit. Feeds never need entity declarations.
    if _declares_entities(decoded.text):
        raise ParseError(ParseErrorKind.UNSAFE, "feed declares XML entities; refused")

    response_headers = {
        "content-type": f"{media_type or 'application/xml'}; charset=utf-8",
        "content-location": url,
    }
    if lowered.get("content-language"):
        response_headers["content-language"] = lowered["content-language"]
    # We strip all HTML ourselves (bot.ingest.textclean) and resolve links and images against the feed
    # URL in normalize, so feedparser's own sanitizer and URI rewriting would be wasted work.
    document = to_utf8_xml(decoded, body)
    encoding_note = decoded.note
    del decoded  # the decoded text is a second copy of the body; free it while feedparser works
    result = feedparser.parse(
        io.BytesIO(document),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )

    version = result.get("version") or ""
    exc = result.get("bozo_exception") if result.get("bozo") else None
    entries = list(result.get("entries") or [])
    if exc is not None and not isinstance(exc, _BENIGN):
        # The loose parser leaves empty shells of truncated items: only real content counts.
        entries = [e for e in entries if e.get("title") or e.get("link") or e.get("summary")]
    if not entries and not version:
        if media_type in _HTML_TYPES or "<html" in head.lower():
            raise ParseError(ParseErrorKind.NOT_A_FEED, "got an HTML page, not a feed")
        if exc is not None and not isinstance(exc, _BENIGN):
            raise ParseError(ParseErrorKind.MALFORMED, describe_bozo(exc))
        raise ParseError(ParseErrorKind.NOT_A_FEED, "no RSS or Atom document found")
    if not entries and exc is not None and not isinstance(exc, _BENIGN):
        raise ParseError(
            ParseErrorKind.MALFORMED, f"{describe_bozo(exc)}; no entries could be recovered"
        )

    warnings: list[str] = []
    if encoding_note:
        warnings.append(f"encoding: {encoding_note}")
    if exc is not None:
        if isinstance(exc, _BENIGN):
            warnings.append(f"{type(exc).__name__}: {describe_bozo(exc)}")
        else:
            warnings.append(f"recovered by the loose parser: {describe_bozo(exc)}")
    for warning in warnings:
        log.debug("feed %s: %s", url, warning)

    feed = result.get("feed") or {}
    title = one_line(plain_text(feed.get("title") or "")) or None
    language = (feed.get("language") or lowered.get("content-language") or "").strip()
    return ParsedFeed(
        title=title,
        link=absolute_http_url(feed.get("link"), url),
        language=language.lower() or None,
        entries=entries,
        warnings=tuple(warnings),
        version=version,
    )
