"""Telegram object shapes and request checks for the fake Bot API server (tests/support/fakebotapi.py)."""

from __future__ import annotations

import contextlib
import html
import json
from html.parser import HTMLParser
from typing import Any

BOT_ID = 7000000001
BOT_USERNAME = "diplodigest_test_bot"

# Values aiogram sends as form fields are strings; these are decoded back to their JSON types.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "rich_message",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "entities",
        "caption_entities",
        "reply_parameters",
        "media",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "cache_time",
        "reply_to_message_id",
    }
)
BOOL_VALUES = {"true": True, "false": False, "True": True, "False": False}

# Telegram's HTML parse mode: the only tags it accepts (Bot API "Formatting options").
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji", "tg-time",
    }
)  # fmt: skip

ERRORS: dict[str, tuple[int, str]] = {
    "429": (429, "Too Many Requests: retry after {retry_after}"),
    "401": (401, "Unauthorized"),
    "403": (403, "Forbidden: bot was blocked by the user"),
    "400": (400, "Bad Request: chat not found"),
    "500": (500, "Internal Server Error"),
    "migrate": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
    # getUpdates while another process polls with the same token (its request ended ours)
    "409": (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
        "is running",
    ),
    "409_webhook": (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    ),
}


def decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Form fields → JSON-typed values, as Telegram itself interprets them."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif key in INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif value in BOOL_VALUES:
                value = BOOL_VALUES[value]
        out[key] = value
    return out


def error_body(kind: str, *, retry_after: int = 1, migrate_to: int | None = None,
               description: str | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """(HTTP status, body) in Telegram's real error shape for a `fail_next` kind."""
    status, text = ERRORS[kind]
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": description or text.format(retry_after=retry_after),
    }
    if kind == "429":
        body["parameters"] = {"retry_after": retry_after}
    elif kind == "migrate":
        body["parameters"] = {"migrate_to_chat_id": migrate_to}
    return status, body


class _EntityParser(HTMLParser):
    """Checks Telegram HTML: known tags, balanced nesting; collects the visible text."""

    def __init__(self, allowed: frozenset[str] | set[str] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed = allowed if allowed is not None else ALLOWED_TAGS
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None
        self.blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.allowed and self.error is None:
            self.error = f'Unsupported start tag "{tag}"'
        if tag in RICH_BLOCK_TAGS:
            self.blocks += 1
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if (not self.stack or self.stack[-1] != tag) and self.error is None:
            self.error = f'Unmatched end tag "{tag}"'
        elif self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str, allowed: frozenset[str]) -> _EntityParser:
    """The whole text through the parser; an unclosed tag at the end is an error too."""
    parser = _EntityParser(allowed)
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    return parser


def check_text(text: Any, parse_mode: str | None, *, limit: int = 4096) -> str | None:
    """The Bot API's error description for a bad message text, or None when it would be accepted."""
    if not isinstance(text, str) or not text.strip():
        return "Bad Request: message text is empty"
    visible = text
    if parse_mode and parse_mode.upper() == "HTML":
        for i, ch in enumerate(text):
            if ch == "&" and not _is_entity(text, i):
                return f"Bad Request: can't parse entities: unsupported entity at byte offset {i}"
            if ch == "<" and not (text[i + 1 : i + 2].isalpha() or text[i + 1 : i + 2] == "/"):
                return f'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset {i}'
        parser = _parse(text, ALLOWED_TAGS)
        if parser.error:
            return f"Bad Request: can't parse entities: {parser.error}"
        visible = "".join(parser.text)
    if utf16_len(visible) > limit:
        return "Bad Request: message is too long"
    return None


def visible_text(text: str, parse_mode: str | None = "HTML") -> str:
    """What a user sees of a text the Bot API accepted: tags dropped, entities decoded."""
    assert check_text(text, parse_mode) is None, check_text(text, parse_mode)
    if not parse_mode:
        return text
    return "".join(_parse(text, ALLOWED_TAGS).text)


def rich_blocks(rich_html: str) -> int:
    """How many blocks the Bot API counts in a rich message (nested ones and list items too)."""
    return _parse(rich_html, ALLOWED_TAGS | RICH_TAGS).blocks


def utf16_len(text: str) -> int:
    """Telegram measures texts in UTF-16 code units: an emoji outside the BMP counts as two."""
    return len(text.encode("utf-16-le")) // 2


# Rich messages (sendRichMessage, HTML style): block elements on top of the message tags, and
# the documented limits of one rich message.
RICH_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "details", "ul", "ol", "li", "footer", "hr",
     "blockquote", "aside", "pre", "img", "table", "tr"}
)  # fmt: skip
RICH_TAGS = frozenset({*RICH_BLOCK_TAGS, "summary", "td", "th", "br", "sub", "sup", "mark"})
VOID_TAGS = frozenset({"hr", "img", "br"})
RICH_TEXT_LIMIT = 32_768
RICH_BLOCK_LIMIT = 500


def check_rich(rich_message: Any) -> str | None:
    """The Bot API's error for a bad InputRichMessage (HTML style), or None if accepted."""
    if not isinstance(rich_message, dict) or not isinstance(rich_message.get("html"), str):
        return "Bad Request: rich message content is empty"
    parser = _parse(rich_message["html"], ALLOWED_TAGS | RICH_TAGS)
    if parser.error:
        return f"Bad Request: can't parse rich message: {parser.error}"
    if not "".join(parser.text).strip():
        return "Bad Request: rich message content is empty"
    if utf16_len("".join(parser.text)) > RICH_TEXT_LIMIT:
        return "Bad Request: RICH_MESSAGE_TOO_LONG"
    if parser.blocks > RICH_BLOCK_LIMIT:
        return "Bad Request: RICH_MESSAGE_TOO_MANY_BLOCKS"
    return None


def _is_entity(text: str, i: int) -> bool:
    end = text.find(";", i, i + 12)
    if end == -1:
        return False
    name = text[i : end + 1]
    return name in ("&lt;", "&gt;", "&amp;", "&quot;") or (
        name.startswith("&#") and html.unescape(name) != name
    )


def check_markup(markup: Any) -> str | None:
    """Telegram rejects callback_data over 64 bytes (or empty) with BUTTON_DATA_INVALID."""
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


def user(user_id: int, *, language_code: str | None = "ru", is_bot: bool = False) -> dict:
    out: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": f"User{user_id}"}
    if is_bot:
        out.update(first_name="Diplodigest", username=BOT_USERNAME)
    else:
        out["username"] = f"user{user_id}"
    if language_code:
        out["language_code"] = language_code
    return out


def bot_user() -> dict:
    return {
        **user(BOT_ID, language_code=None, is_bot=True),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def chat(chat_id: int, chat_type: str) -> dict:
    out: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        out["first_name"] = f"User{chat_id}"
    else:
        out["title"] = f"Chat {chat_id}"
    return out


def chat_full_info(chat_id: int, chat_type: str) -> dict:
    return {
        **chat(chat_id, chat_type),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def chat_member(user_id: int, status: str) -> dict:
    out: dict[str, Any] = {"user": user(user_id), "status": status}
    if status == "creator":
        out["is_anonymous"] = False
    elif status == "administrator":
        rights = (
            "can_be_edited is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
            "can_restrict_members can_promote_members can_change_info can_invite_users "
            "can_post_stories can_edit_stories can_delete_stories can_send_welcome_messages"
        )
        out.update(dict.fromkeys(rights.split(), False))
        out["can_manage_chat"] = True
    elif status == "kicked":
        out["until_date"] = 0
    return out


def command_entities(text: str) -> list[dict]:
    if not text.startswith("/"):
        return []
    length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
    return [{"type": "bot_command", "offset": 0, "length": length}]
