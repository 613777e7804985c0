"""Digest → Telegram HTML messages (pure): escaped, ≤ 4096 per message, split only between items.

Only <b>, <i>, <a href> tags are produced; every external string goes through html.escape.
Telegram counts the limit in UTF-16 units of the visible text; we also keep the raw HTML
under the limit, which is the stricter of the two for ordinary text. The one exception is an
item whose escaping alone outgrows the raw limit (a long URL full of "&" under a title of
quotes): it goes out in a message of its own, since only its visible text counts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from bot.digests.selection import Digest, DigestItem, DigestSection
from bot.domain import Article
from bot.i18n.catalog import t

TELEGRAM_LIMIT = 4096
LEAD_LIMIT = 300
TITLE_LIMIT = 300
SOURCE_LIMIT = 60
URL_LIMIT = 1500
ALSO_LIMIT = 8
COUNTRY_LIMIT = 8  # the seed article names seven; beyond eight a "+N" keeps the line short
RULE_LIMIT = 40  # a rule's text in an item's "by rule" marker

_TAG = re.compile(r"<[^>]*>")
_TRAILING_JOINERS = "\u200d\ufe0f\ufe0e "


@dataclass(frozen=True, slots=True)
class Labels:
    """Display names in one language: topic slug → name, ISO2 → country name."""

    lang: str
    topic_names: Mapping[str, str] = field(default_factory=dict)
    country_names: Mapping[str, str] = field(default_factory=dict)


class CountryNames(Mapping[str, str]):
    """A Mapping over a `country_name(iso2, lang)` function (the classifier's)."""

    def __init__(self, name_of: Callable[[str, str], str], lang: str) -> None:
        self._name_of, self._lang = name_of, lang

    def __getitem__(self, iso2: str) -> str:
        return self._name_of(iso2, self._lang)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, iso2: str, default: str | None = None) -> str | None:  # type: ignore[override]
        try:
            return self._name_of(iso2, self._lang) or default
        except (KeyError, ValueError):
            return default


def telegram_length(text_html: str) -> int:
    """Length as Telegram counts it: visible text after entity parsing, in UTF-16 units."""
    visible = html.unescape(_TAG.sub("", text_html))
    return len(visible.encode("utf-16-le")) // 2


def fits(text_html: str, limit: int = TELEGRAM_LIMIT) -> bool:
    return len(text_html) <= limit and telegram_length(text_html) <= limit


def pack(blocks: Iterable[str], header: str, sep: str = "\n\n") -> list[str]:
    """Blocks joined into as few messages as fit Telegram's limit (a block is never split).

    Every list of stored data goes through here. A block too long even alone (it should not
    happen: titles are capped when stored) goes out as its visible text, cut, rather than
    making Telegram refuse the whole message.
    """
    parts, current = [], header
    for block in blocks:
        if not fits(block):
            block = html.escape(shorten(html.unescape(_TAG.sub("", block)), TELEGRAM_LIMIT // 2))
        candidate = f"{current}{sep}{block}"
        if not fits(candidate):
            parts.append(current)
            candidate = block
        current = candidate
    parts.append(current)
    return parts


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(_TRAILING_JOINERS + ",;:-–—") + "…"


def _when(published: datetime, zone: tzinfo, now: datetime) -> str:
    local = published.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%d.%m %H:%M")


def render_item(
    item: DigestItem, labels: Labels, zone: tzinfo, now: datetime, reason: str | None = None
) -> str:
    """One item; `reason` (plain text: what brought it, see `item_reason`) ends its meta line."""
    article = item.article
    title = html.escape(shorten(article.title, TITLE_LIMIT) or "…")
    link = _link_of(article)
    if link:
        title = f'<a href="{link}">{title}</a>'
    lines = [f"▪️ <b>{title}</b>"]
    lead = shorten(article.lead, LEAD_LIMIT)
    if lead:
        lines.append(html.escape(lead))
    meta = [shorten(article.source, SOURCE_LIMIT), _when(article.published_at, zone, now)]
    if countries := _countries(article, labels):
        meta.append(countries)
    if reason:
        meta.append(reason)
    lines.append(f"<i>{html.escape(' · '.join(meta))}</i>")
    if also := _also_text(item, labels):
        lines.append(f"<i>{also}</i>")
    if versions := _versions_text(item, labels):
        lines.append(f"<i>{versions}</i>")
    return "\n".join(lines)


def _link_of(article: Article) -> str | None:
    """The article's address, escaped for an href; None when it is not a usable web link."""
    url = article.url
    if url and len(url) <= URL_LIMIT and url.startswith(("http://", "https://")):
        return html.escape(url, quote=True)
    return None


def _countries(article: Article, labels: Labels) -> str:
    """Country names as plain text (escape it): the first few, then "+N"."""
    names = [
        labels.country_names.get(code) or code.upper() for code in article.countries[:COUNTRY_LIMIT]
    ]
    if len(article.countries) > COUNTRY_LIMIT:
        names.append(f"+{len(article.countries) - COUNTRY_LIMIT}")
    return ", ".join(names)


def _also_text(item: DigestItem, labels: Labels) -> str:
    """ "также: …" — the other agencies of the story, escaped HTML; "" when there are none."""
    if not item.also:
        return ""
    sources = ", ".join(shorten(s, SOURCE_LIMIT) for s in item.also[:ALSO_LIMIT])
    if len(item.also) > ALSO_LIMIT:
        sources += f" +{len(item.also) - ALSO_LIMIT}"
    return t(labels.lang, "digest.also", sources=html.escape(sources))


def _versions_text(item: DigestItem, labels: Labels) -> str:
    """ "also in English" linking the story's telling in each other language (escaped HTML);
    without a usable link, the phrase and that telling's source."""
    out = []
    for version in item.versions[:ALSO_LIMIT]:
        name = _language_phrase(labels.lang, version.language or "")
        link = _link_of(version)
        if link:
            out.append(f'<a href="{link}">{html.escape(name)}</a>')
        else:
            out.append(html.escape(f"{name}: {shorten(version.source, SOURCE_LIMIT)}"))
    return " · ".join(out)


def _language_phrase(lang: str, language: str) -> str:
    try:
        return t(lang, f"digest.version.{language}")
    except KeyError:
        return t(lang, "digest.version.other", language=language)


def _section_title(section: DigestSection, labels: Labels) -> str:
    if section.rule is not None:
        return t(labels.lang, "digest.rule_section", rule=shorten(section.rule.text, TITLE_LIMIT))
    if section.topic is None:
        return t(labels.lang, "digest.other")
    return labels.topic_names.get(section.topic) or section.topic


def item_reason(section: DigestSection, labels: Labels) -> str | None:
    """What brought an item to a chat with keyword rules: its rule, or its topic section."""
    if section.rule is not None:
        return t(labels.lang, "digest.by_rule", rule=shorten(section.rule.text, RULE_LIMIT))
    if section.topic is None:
        return None
    return t(
        labels.lang, "digest.by_topic", topic=labels.topic_names.get(section.topic) or section.topic
    )


class _Message:
    """A message being filled: text plus both lengths, kept incrementally (no re-scans)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self.raw = self.visible = 0

    def try_add(self, unit: str, unit_visible: int) -> bool:
        sep = 2 if self.chunks else 0
        raw, visible = self.raw + sep + len(unit), self.visible + sep + unit_visible
        if self.chunks and (raw > self.limit or visible > self.limit):
            return False
        # Alone in a message, only what Telegram counts must fit: raising here would stall the
        # digest of every chat planned in the same tick, on every tick.
        if visible > self.limit:
            raise ValueError("one digest item does not fit a message; limits are inconsistent")
        self.chunks.append(unit)
        self.raw, self.visible = raw, visible
        return True

    def text(self) -> str:
        return "\n\n".join(self.chunks)


def render_digest(
    digest: Digest,
    *,
    labels: Labels,
    zone: tzinfo,
    now: datetime,
    title: str | None = None,
    limit: int = TELEGRAM_LIMIT,
    cache: dict | None = None,
) -> list[str]:
    """The messages of one digest; [] for an empty one (no empty digests are sent).

    `cache` (a dict the caller keeps for one planning pass) reuses rendered items across
    chats with the same language, zone and day.
    """
    if digest.empty:
        return []
    lang = labels.lang
    header = t(
        lang,
        "digest.header",
        title=html.escape(title or t(lang, "digest.title")),
        date=now.astimezone(zone).strftime("%d.%m.%Y"),
    )
    continued = html.escape(t(lang, "digest.continued"))
    day = now.astimezone(zone).date()  # an item says "09:00" today, "01.06 09:00" before
    parts: list[str] = []
    message = _Message(limit)
    message.try_add(header, telegram_length(header))
    for section in digest.sections:
        heading = f"<b>{html.escape(_section_title(section, labels))}</b>"
        heading_len = telegram_length(heading)
        reason = item_reason(section, labels) if digest.marked else None
        for index, item in enumerate(section.items):
            block, block_len = _item(item, labels, zone, now, day, cache, reason)
            if index == 0:
                unit, unit_len = f"{heading}\n\n{block}", heading_len + 2 + block_len
            else:
                unit, unit_len = block, block_len
            if message.try_add(unit, unit_len):
                continue
            parts.append(message.text())
            message = _Message(limit)
            if index:  # a new message in the middle of a section repeats its heading
                unit = f"{heading} {continued}\n\n{block}"
                unit_len = telegram_length(unit)
            message.try_add(unit, unit_len)
    if digest.more:
        footer = t(lang, "digest.more", count=digest.more)
        if not message.try_add(footer, telegram_length(footer)):
            parts.append(message.text())
            message = _Message(limit)
            message.try_add(footer, telegram_length(footer))
    parts.append(message.text())
    return parts


def _item(
    item: DigestItem,
    labels: Labels,
    zone: tzinfo,
    now: datetime,
    day: date,
    cache: dict | None,
    reason: str | None = None,
) -> tuple[str, int]:
    """One item and its length; `day` is `now`'s date in `zone` (worked out once per digest)."""
    if cache is None:
        block = render_item(item, labels, zone, now, reason)
        return block, telegram_length(block)
    key = (
        item.article.id, item.also, tuple(v.id for v in item.versions), labels.lang, zone, day,
        reason,
    )  # fmt: skip
    found = cache.get(key)
    if found is None:
        block = render_item(item, labels, zone, now, reason)
        found = cache[key] = (block, telegram_length(block))
    return found


# -- rich digests (Bot API sendRichMessage): one message, a heading per topic, a collapsible
# block per story. Telegram's documented limits for one rich message:
RICH_TEXT_LIMIT = 32_768  # characters of text
RICH_BLOCK_LIMIT = 500  # blocks, nested ones and list items included
RICH_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "details", "ul", "ol", "li", "footer", "hr",
     "blockquote", "aside", "pre", "img", "table", "tr"}
)  # fmt: skip
_OPEN_TAG = re.compile(r"<([a-z0-9]+)[\s>/]")


def rich_block_count(rich_html: str) -> int:
    """Blocks as Telegram counts them: every block-level element, nested ones included."""
    return sum(1 for tag in _OPEN_TAG.findall(rich_html) if tag in RICH_BLOCK_TAGS)


def rich_item(
    item: DigestItem, labels: Labels, zone: tzinfo, now: datetime, reason: str | None = None
) -> str:
    """One story as a collapsible block: the title always shown; lead, source with the link,
    time, countries, what brought it (a rule or topic) and the other agencies inside."""
    article = item.article
    title = html.escape(shorten(article.title, TITLE_LIMIT) or "…")
    source = html.escape(shorten(article.source, SOURCE_LIMIT))
    if link := _link_of(article):
        source = f'<a href="{link}">{source or "↗"}</a>'
    meta = [source, html.escape(_when(article.published_at, zone, now))]
    if countries := _countries(article, labels):
        meta.append(html.escape(countries))
    if reason:
        meta.append(html.escape(reason))
    inner = []
    lead = shorten(article.lead, LEAD_LIMIT)
    if lead:
        inner.append(f"<p>{html.escape(lead)}</p>")
    inner.append(f"<p>{' · '.join(meta)}</p>")
    if also := _also_text(item, labels):
        inner.append(f"<p><i>{also}</i></p>")
    if versions := _versions_text(item, labels):
        inner.append(f"<p><i>{versions}</i></p>")
    return f"<details><summary><b>{title}</b></summary>{''.join(inner)}</details>"


def render_rich_digest(
    digest: Digest,
    *,
    labels: Labels,
    zone: tzinfo,
    now: datetime,
    title: str | None = None,
    text_limit: int = RICH_TEXT_LIMIT,
    block_limit: int = RICH_BLOCK_LIMIT,
) -> str | None:
    """The digest as one rich message (None for an empty digest). Stories that would pass
    Telegram's limits are cut at story boundaries and counted in "+N more — /latest"."""
    if digest.empty:
        return None
    lang = labels.lang
    heading = t(lang, "digest.header", title=html.escape(title or t(lang, "digest.title")),
                date=now.astimezone(zone).strftime("%d.%m.%Y"))  # fmt: skip
    blocks = [f"<h3>{heading}</h3>"]
    text_used, block_used = telegram_length(blocks[0]), 1
    # room kept for the "+N more" footer (one block, a short line)
    reserve_text, reserve_blocks = 64, 1
    left_out = digest.more
    for section in digest.sections:
        name = f"<h4>{html.escape(_section_title(section, labels))}</h4>"
        reason = item_reason(section, labels) if digest.marked else None
        name_len, shown_in_section = telegram_length(name), 0
        for item in section.items:
            story = rich_item(item, labels, zone, now, reason)
            cost_text = telegram_length(story) + (0 if shown_in_section else name_len)
            cost_blocks = rich_block_count(story) + (0 if shown_in_section else 1)
            if (
                text_used + cost_text > text_limit - reserve_text
                or block_used + cost_blocks > block_limit - reserve_blocks
            ):
                left_out += 1
                continue
            if not shown_in_section:
                blocks.append(name)
            blocks.append(story)
            shown_in_section += 1
            text_used += cost_text
            block_used += cost_blocks
    if left_out:
        blocks.append(f"<footer>{html.escape(t(lang, 'digest.more', count=left_out))}</footer>")
    return "".join(blocks)
