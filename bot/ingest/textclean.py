"""HTML fragment → plain text, and word-boundary truncation (pure, regex-based for speed)."""

from __future__ import annotations

import html
import re

# Elements whose content is never text a reader should see.
_HIDDEN_BLOCK = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg|math|head|title)\b[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
# An unclosed <script> (truncated summaries) hides everything after it.
_HIDDEN_OPEN = re.compile(r"<(script|style)\b[^>]*>.*\Z", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[|\]\]>|<![^>]*>|<\?[^>]*>", re.DOTALL)
# Tags that end a line of text when rendered.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|blockquote|pre|section"
    r"|article|header|footer|figure|figcaption|aside|nav|address|center)\b[^>]*>",
    re.IGNORECASE,
)
_CELL_TAG = re.compile(r"</?(?:td|th)\b[^>]*>", re.IGNORECASE)
# Only things that look like real tags: "a < b" or "x<5" in text survive.
_ANY_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_ENTITY_LEFT = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# C0/C1 controls (but \t \n \r), zero-width and BOM characters, soft hyphen.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ufffe]")
_HSPACE = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def _strip_tags(text: str) -> str:
    if "<" not in text:
        return text
    text = _COMMENT.sub(" ", text)
    text = _HIDDEN_BLOCK.sub(" ", text)
    text = _HIDDEN_OPEN.sub(" ", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _CELL_TAG.sub(" ", text)
    return _ANY_TAG.sub("", text)


def plain_text(html_or_text: str) -> str:
    """Text a reader sees: no tags (script/style content dropped), entities decoded, block
    elements as single newlines, other whitespace collapsed, control characters removed."""
    if not html_or_text:
        return ""
    text = _strip_tags(html_or_text)
    if "&" in text:
        text = html.unescape(text)
        # Feeds often escape twice ("&amp;nbsp;", "&lt;p&gt;"): one more round, tags included.
        if _ENTITY_LEFT.search(text) or _ANY_TAG.search(text):
            text = html.unescape(_strip_tags(text))
    text = _CONTROL.sub("", text)
    text = text.replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _HSPACE.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES.sub("\n", text)
    return text.strip()


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included, to single spaces."""
    return " ".join(text.split())


def truncate_words(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-–—(«\"'") + "…"
