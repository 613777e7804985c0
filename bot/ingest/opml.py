"""OPML import and export of the source list (pure: bytes in, bytes out).

Parsing uses xml.etree after a pre-check that refuses any DOCTYPE or other `<!…>` declaration:
entity expansion (billion laughs) and external entities need a DOCTYPE, so without one expat
has nothing dangerous to expand. Comments and CDATA are allowed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from bot.ingest.fetch import FetchError, check_feed_url

MAX_OPML_BYTES = 2 * 1024 * 1024
MAX_OUTLINES = 5000  # <outline> elements of any kind (categories count too), as the README says
_DECLARATION = re.compile(r"<!(?!--|\[CDATA\[)", re.IGNORECASE)


class OpmlError(ValueError):
    """The file is not a usable OPML document; the message says why, for the admin."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class OpmlImport:
    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[tuple[str, str], ...]  # (xmlUrl as written, reason)


def _as_text(data: bytes) -> str:
    """Enough of a decoding to look for declarations (expat does the real decoding later)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:200]:
        raise OpmlError("unsupported encoding (UTF-16/32 without a byte order mark)")
    return data.decode("latin-1")  # every byte maps; ASCII markup stays visible


def parse_opml(data: bytes) -> OpmlImport:
    """The feeds (xmlUrl, title) of an OPML file, nested categories flattened, duplicates dropped."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"file larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB")
    if not data.strip():
        raise OpmlError("empty file")
    if _DECLARATION.search(_as_text(data)):
        raise OpmlError("DOCTYPE and entity declarations are not allowed in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from exc
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML document (root element <{_local(root.tag)}>)")
    outlines = [element for element in root.iter() if _local(element.tag) == "outline"]
    if len(outlines) > MAX_OUTLINES:
        raise OpmlError(
            f"{len(outlines)} outlines, more than the limit of {MAX_OUTLINES}: "
            "split the file and import the parts one by one"
        )
    feeds: dict[str, OpmlFeed] = {}
    skipped: list[tuple[str, str]] = []
    for outline in outlines:
        attrs = {k.lower(): v for k, v in outline.attrib.items()}
        raw = (attrs.get("xmlurl") or "").strip()
        if not raw:
            continue  # a category
        try:
            url = check_feed_url(raw)
        except FetchError as exc:
            skipped.append((raw, exc.message))
            continue
        title = (attrs.get("title") or attrs.get("text") or "").strip() or None
        feeds.setdefault(url, OpmlFeed(url, title))
    if not feeds and not skipped:
        raise OpmlError("no feeds (outline elements with xmlUrl) in the file")
    return OpmlImport(tuple(feeds.values()), tuple(skipped))


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


@dataclass(frozen=True, slots=True)
class ExportFeed:
    url: str
    title: str  # the custom title if set, else the feed's own, else the URL
    site_url: str | None = None


def build_opml(feeds: Iterable[ExportFeed], *, title: str, now: datetime) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title, "title": feed.title, "xmlUrl": feed.url}
        if feed.site_url:
            attrs["htmlUrl"] = feed.site_url
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
