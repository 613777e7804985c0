"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests: records requests, serves updates.

Usage::

    async with FakeBotAPI() as server:
        bot = server.make_bot()                    # aiogram Bot talking to this server
        server.push_message(42, 42, "/start")      # the next getUpdates returns it
        sent = await server.wait_sent(42, 1)       # sendMessage params sent to chat 42

`fail_next(method, kind, chat_id=None, times=1, retry_after=1)` makes the next matching calls
fail with Telegram's real error shapes (kinds: 429, 401, 403, 400, 500, migrate; for getUpdates
also 409 — another process polls with the token — and 409_webhook), or fail on the wire: `drop`
closes the connection without sending, `accept_drop` sends (the message is delivered to the chat) and then loses the reply, `hang` never answers (held until the client
gives up, the server closes, or `release_hung()`). Every request records `received_at` and
`answered_at` (time.monotonic()), so tests can check waits: `assert_retries_waited()` (no
retry before `retry_after`) and `assert_global_pauses()` (nothing sent to anyone during a
private chat's flood wait). Texts are checked like Telegram: HTML entities must parse, and the
visible text is at most 4096 UTF-16 code units (captions 1024).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.app.session import JsonSession
from tests.support import fakebotapi_objects as obj

log = logging.getLogger(__name__)

TOKEN = "123456:TEST-token"
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "sendRichMessage",
    }
)


WIRE_KINDS = frozenset({"drop", "accept_drop", "hang"})  # failures of the connection, not the API


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    ok: bool | None = None  # True: performed (even if the reply was lost); None: scripted/pending
    received_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None  # when the reply left (or was lost); None: never answered
    status: int | None = None  # HTTP status sent; None: no reply reached the client
    retry_after: int | None = None  # a 429's retry_after
    reply: str = "pending"  # answered | dropped | accepted_dropped | hung | pending
    content_type: str = ""  # how the body came: application/json, multipart/form-data, …

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass
class Failure:
    method: str
    kind: str
    chat_id: int | None
    times: int
    retry_after: int
    migrate_to: int | None
    description: str | None


@dataclass
class FakeBotAPI:
    """The server; `requests` holds every call except getUpdates, in order."""

    requests: list[Request] = field(default_factory=list)
    member_status: dict[tuple[int, int], str] = field(default_factory=dict)
    chat_types: dict[int, str] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    rich_messages: bool = True  # False: answer sendRichMessage like a server without it (404)
    # setWebhook's url, secret_token and allowed_updates; while set, getUpdates answers 409
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._callback_ids = itertools.count(1)
        self._failures: list[Failure] = []
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = False
        self._released = 0  # bumped by release_hung(): hung requests end without an answer
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    def add_routes(self, app: web.Application) -> None:
        """The Bot API methods; subclasses add more (e.g. file downloads) and call this."""
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)

    async def close(self) -> None:
        # End pending long polls now: the runner's cleanup waits for running handlers.
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def make_bot(self, token: str = TOKEN, *, timeout: float | None = None, **defaults: Any) -> Bot:
        """An aiogram Bot whose session talks to this server (HTML parse mode by default);
        `timeout`: seconds before a request gives up (for `hang`; aiogram's default is 60)."""
        api = TelegramAPIServer.from_base(self.base_url)
        session = (
            JsonSession(api=api) if timeout is None else JsonSession(api=api, timeout=timeout)
        )
        props = DefaultBotProperties(**({"parse_mode": "HTML"} | defaults))
        return Bot(token, session=session, default=props)

    # -- scripting -------------------------------------------------------------------------------

    def fail_next(self, method: str, kind: str, chat_id: int | None = None, times: int = 1,
                  retry_after: int = 1, migrate_to: int | None = None,
                  description: str | None = None) -> None:  # fmt: skip
        """The next `times` calls of `method` (to `chat_id`, if given) fail as `kind`."""
        if kind not in {*obj.ERRORS, *WIRE_KINDS}:
            raise ValueError(f"unknown failure kind {kind!r}")
        if method == "getUpdates" and kind in WIRE_KINDS:
            raise ValueError("getUpdates fails with API errors only (e.g. 409), not on the wire")
        if kind == "migrate" and migrate_to is None:
            migrate_to = -(10**12) - abs(chat_id or 1)
        self._failures.append(
            Failure(method, kind, chat_id, times, retry_after, migrate_to, description)
        )

    def clear_failures(self) -> None:
        """Forget every scripted failure not used yet (e.g. before restarting a killed sender)."""
        self._failures.clear()

    def release_hung(self) -> None:
        """End every request held by a `hang` failure now: the connection closes, no answer."""
        self._released += 1
        self._notify()

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """getChatMember(chat_id, user_id) answers this status (default "member")."""
        self.member_status[(chat_id, user_id)] = status

    # -- updates ---------------------------------------------------------------------------------

    def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (without update_id); returns it with its update_id."""
        update = {"update_id": next(self._update_ids), **payload}
        self._updates.append(update)
        self._notify()
        return update

    def push_message(self, chat_id: int, user_id: int, text: str, chat_type: str = "private",
                     language_code: str | None = "ru") -> dict[str, Any]:  # fmt: skip
        return self.push_update(self._message_payload(chat_id, user_id, text, chat_type,
                                                      language_code))  # fmt: skip

    def message_update(self, chat_id: int, user_id: int, text: str, chat_type: str = "private",
                       language_code: str | None = "ru") -> tuple[int, dict[str, Any]]:  # fmt: skip
        """A message update not queued for getUpdates (to POST to a webhook): its next free
        update_id and its payload; `{"update_id": id, **payload}` is the JSON Telegram posts."""
        payload = self._message_payload(chat_id, user_id, text, chat_type, language_code)
        return next(self._update_ids), payload

    def _message_payload(self, chat_id: int, user_id: int, text: str, chat_type: str,
                         language_code: str | None) -> dict[str, Any]:  # fmt: skip
        self.chat_types[chat_id] = chat_type
        message = self._message(chat_id, chat_type, text)
        message["from"] = obj.user(user_id, language_code=language_code)
        return {"message": message}

    def push_channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        self.chat_types[chat_id] = "channel"
        return self.push_update({"channel_post": self._message(chat_id, "channel", text)})

    def push_callback(self, chat_id: int, user_id: int, message_id: int, data: str,
                      language_code: str | None = "ru") -> dict[str, Any]:  # fmt: skip
        """A button press on message `message_id` (as the bot sent or edited it last)."""
        chat_type = self._chat_type(chat_id)
        stored = self.messages.get((chat_id, message_id), {})
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": obj.chat(chat_id, chat_type),
            "from": obj.bot_user(),
            "text": stored.get("text", "…"),
        }
        if isinstance(stored.get("reply_markup"), dict):
            message["reply_markup"] = stored["reply_markup"]
        query = {
            "id": str(next(self._callback_ids)),
            "from": obj.user(user_id, language_code=language_code),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def _message(self, chat_id: int, chat_type: str, text: str) -> dict[str, Any]:
        message_id = next(self._ids(chat_id))
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": obj.chat(chat_id, chat_type),
            "text": text,
        }
        if entities := obj.command_entities(text):
            message["entities"] = entities
        return message

    # -- inspection ------------------------------------------------------------------------------

    def calls(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            r.params
            for r in self.requests
            if r.method == method and (chat_id is None or r.params.get("chat_id") == chat_id)
        ]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Params of every successful send* call to `chat_id`, in order."""
        return [
            r.params
            for r in self.requests
            if r.method in SEND_METHODS and r.params.get("chat_id") == chat_id and r.ok
        ]

    def sends(self, chat_id: int | None = None) -> list[Request]:
        """Every send* request (to `chat_id`, if given) however it ended, in arrival order."""
        return [
            r
            for r in self.requests
            if r.method in SEND_METHODS and (chat_id is None or r.chat_id == chat_id)
        ]

    def assert_retries_waited(self, tolerance: float = 0.0) -> int:
        """No request to a chat arrived earlier than `retry_after` after a 429 for that chat was
        answered. Returns how many 429s were followed by a retry (so a test can require some)."""
        checked = 0
        for n, flood in enumerate(self.requests):
            if flood.status != 429 or flood.answered_at is None:
                continue
            allowed = flood.answered_at + (flood.retry_after or 0) - tolerance
            later = [r for r in self.requests[n + 1 :]
                     if r.method in SEND_METHODS and r.chat_id == flood.chat_id]  # fmt: skip
            early = [r for r in later if r.received_at < allowed]
            if early:
                gap = early[0].received_at - flood.answered_at
                raise AssertionError(
                    f"chat {flood.chat_id} was retried {gap:.3f}s after a 429 that asked for "
                    f"{flood.retry_after}s"
                )
            checked += bool(later)
        return checked

    def assert_global_pauses(self, tolerance: float = 0.0) -> int:
        """After a 429 in a private chat (the bot-wide limit), no send to ANY chat arrived until
        `retry_after` had passed. Exact when the sender runs one send at a time; with more, a
        send already on its way when the 429 was answered cannot be told apart. Returns how many
        such pauses were checked."""
        checked = 0
        for flood in self.requests:
            if flood.status != 429 or flood.answered_at is None or not _private(flood.chat_id):
                continue
            start = flood.answered_at
            end = start + (flood.retry_after or 0) - tolerance
            inside = [r for r in self.sends() if start < r.received_at < end]
            if inside:
                raise AssertionError(
                    f"chat {inside[0].chat_id} was sent to "
                    f"{inside[0].received_at - start:.3f}s into a {flood.retry_after}s flood "
                    f"wait of private chat {flood.chat_id}"
                )
            checked += 1
        return checked

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The bot's message as it stands after edits: {"text", "reply_markup", ...}."""
        return self.messages[(chat_id, message_id)]

    def last_message(self, chat_id: int) -> tuple[int, dict[str, Any]]:
        """(message_id, content) of the newest message the bot sent to `chat_id`."""
        message_id = max(mid for cid, mid in self.messages if cid == chat_id)
        return message_id, self.messages[(chat_id, message_id)]

    def buttons(self, chat_id: int, message_id: int) -> list[tuple[str, str]]:
        """(text, callback_data) of the inline buttons on a message, row by row."""
        markup = self.messages[(chat_id, message_id)].get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    async def wait_sent(self, chat_id: int, n: int, timeout: float = 5) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until at least `n` messages went to `chat_id`; returns them all."""
        await self._wait(lambda: len(self.sent(chat_id)) >= n, timeout,
                         lambda: f"{n} messages to {chat_id}, got {len(self.sent(chat_id))}")  # fmt: skip
        return self.sent(chat_id)

    async def wait_calls(self, method: str, n: int = 1, chat_id: int | None = None,
                         timeout: float = 5) -> list[dict[str, Any]]:  # fmt: skip  # noqa: ASYNC109
        """Wait until `method` was called at least `n` times (to `chat_id`, if given)."""
        await self._wait(lambda: len(self.calls(method, chat_id)) >= n, timeout,
                         lambda: f"{n} {method} calls, got {len(self.calls(method, chat_id))}")  # fmt: skip
        return self.calls(method, chat_id)

    async def wait_until(self, done: Any, timeout: float = 5, what: str = "a condition") -> None:  # noqa: ASYNC109
        """Wait until `done()` holds, re-checked on every request and update."""
        await self._wait(done, timeout, lambda: what)

    async def _wait(self, done: Any, seconds: float, what: Any) -> None:
        try:
            await self._until(done, seconds)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what()}") from None

    async def _until(self, done: Any, seconds: float) -> None:
        """Wake on every recorded request or pushed update until `done()`; TimeoutError after."""
        async with asyncio.timeout(seconds):
            while not done():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        record = Request(method, params, content_type=request.content_type)
        self.requests.append(record)
        try:
            failure = self._take_failure(method, params.get("chat_id"))
            if failure is not None and failure.kind in WIRE_KINDS:
                return await self._wire_failure(request, record, failure.kind)
            if failure is not None:
                status, body = obj.error_body(
                    failure.kind,
                    retry_after=failure.retry_after,
                    migrate_to=failure.migrate_to,
                    description=failure.description,
                )
                if failure.kind == "429":
                    record.retry_after = failure.retry_after
            else:
                status, body = self._answer(method, params)
                record.ok = status == 200
            record.status, record.reply = status, "answered"
            record.answered_at = time.monotonic()
            return web.json_response(body, status=status)
        finally:
            self._notify()

    async def _wire_failure(self, request: web.Request, record: Request, kind: str) -> web.Response:
        """drop: no send, connection closed; accept_drop: sent, then the reply is lost;
        hang: no answer until the client hangs up, the server closes or release_hung()."""
        if kind == "accept_drop":
            status, _ = self._answer(record.method, record.params)
            record.ok = status == 200
        elif kind == "hang":
            record.reply = "hung"
            self._notify()
            released = self._released
            while not (self._closing or self._released != released or _gone(request)):
                with contextlib.suppress(TimeoutError):
                    await self._until(lambda: self._closing or self._released != released, 0.05)
            return _abort(request)
        record.reply = "accepted_dropped" if kind == "accept_drop" else "dropped"
        record.answered_at = time.monotonic()
        return _abort(request)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                for key, value in (await request.post()).items():
                    params[key] = value if isinstance(value, str) else f"<file {value.filename}>"
        return obj.decode_params(params)

    def _take_failure(self, method: str, chat_id: Any) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook is not None:  # as Telegram: a webhook and getUpdates exclude each other
            status, body = obj.error_body("409_webhook")
            return web.json_response(body, status=status)
        failure = self._take_failure("getUpdates", None)
        if failure is not None:
            status, body = obj.error_body(failure.kind, retry_after=failure.retry_after,
                                          description=failure.description)  # fmt: skip
            return web.json_response(body, status=status)
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if not self._updates and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self._until(lambda: bool(self._updates) or self._closing, timeout)
        limit = int(params.get("limit") or 100)
        return web.json_response({"ok": True, "result": self._updates[:limit]})

    def _answer(self, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        def ok(result: Any) -> tuple[int, dict[str, Any]]:
            return 200, {"ok": True, "result": result}

        def bad(description: str, status: int = 400) -> tuple[int, dict[str, Any]]:
            return status, {"ok": False, "error_code": status, "description": description}

        chat_id = p.get("chat_id")
        if method in SEND_METHODS and chat_id in self.blocked:
            return bad("Forbidden: bot was blocked by the user", 403)
        if (error := obj.check_markup(p.get("reply_markup"))) is not None:
            return bad(error)
        if method == "getMe":
            return ok(obj.bot_user())
        if method == "setWebhook":
            if not str(p.get("url", "")).startswith("https://"):
                return bad("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self.webhook = {k: p.get(k) for k in ("url", "secret_token", "allowed_updates")}
            return ok(True)
        if method == "deleteWebhook":
            self.webhook = None
            return ok(True)
        if method == "getWebhookInfo":
            hook = self.webhook or {}
            info = {"url": hook.get("url") or "", "has_custom_certificate": False,
                    "pending_update_count": 0}  # fmt: skip
            if hook.get("allowed_updates") is not None:
                info["allowed_updates"] = hook["allowed_updates"]
            return ok(info)
        if method == "sendMessage":
            if error := obj.check_text(p.get("text"), p.get("parse_mode")):
                return bad(error)
            return ok(self._store(chat_id, text=p["text"], reply_markup=p.get("reply_markup")))
        if method == "sendRichMessage":
            if not self.rich_messages:  # a Bot API server older than 10.1
                return bad("Not Found", 404)
            if error := obj.check_rich(p.get("rich_message")):
                return bad(error)
            rich = p["rich_message"]["html"]
            return ok(self._store(chat_id, text=rich, rich=True))
        if method in ("sendPhoto", "sendDocument"):
            caption = p.get("caption")
            if caption and (error := obj.check_text(caption, p.get("parse_mode"), limit=1024)):
                return bad(error.replace("message is too long", "message caption is too long"))
            return ok(self._store(chat_id, caption=caption, reply_markup=p.get("reply_markup")))
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(method, p, ok, bad)
        if method == "getChatMember":
            status = self.member_status.get((chat_id, p.get("user_id")), "member")
            return ok(obj.chat_member(int(p["user_id"]), status))
        if method == "getChat":
            return ok(obj.chat_full_info(chat_id, self._chat_type(chat_id)))
        if (
            method == "deleteMessage"
            and self.messages.pop((chat_id, p.get("message_id")), None) is None
        ):
            return bad("Bad Request: message to delete not found")
        return ok(True)

    def _edit(self, method: str, p: dict[str, Any], ok: Any, bad: Any) -> tuple[int, dict]:
        key = (p.get("chat_id"), p.get("message_id"))
        stored = self.messages.get(key)
        if stored is None:
            return bad("Bad Request: message to edit not found")
        new = dict(stored)
        if method == "editMessageText":
            if error := obj.check_text(p.get("text"), p.get("parse_mode")):
                return bad(error)
            new["text"] = p["text"]
        new["reply_markup"] = p.get("reply_markup")
        if new == stored:
            return bad(
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message"
            )
        self.messages[key] = new
        return ok(self._message_object(key[0], key[1], new))

    def _store(self, chat_id: int, **content: Any) -> dict[str, Any]:
        message_id = next(self._ids(chat_id))
        self.messages[(chat_id, message_id)] = content
        return self._message_object(chat_id, message_id, content)

    def _message_object(self, chat_id: int, message_id: int, content: dict) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": obj.chat(chat_id, self._chat_type(chat_id)),
            "from": obj.bot_user(),
        }
        if content.get("text") is not None:
            message["text"] = content["text"]
        if content.get("caption") is not None:
            message["caption"] = content["caption"]
        if isinstance(content.get("reply_markup"), dict):
            message["reply_markup"] = content["reply_markup"]
        return message

    def _ids(self, chat_id: int) -> itertools.count:
        # One message_id sequence per chat, shared by incoming and outgoing messages, like Telegram.
        return self._message_ids.setdefault(chat_id, itertools.count(1))

    def _chat_type(self, chat_id: Any) -> str:
        if chat_id in self.chat_types:
            return self.chat_types[chat_id]
        if not isinstance(chat_id, int) or chat_id > 0:
            return "private"
        return "supergroup" if chat_id < -(10**12) else "group"


def _private(chat_id: Any) -> bool:
    return isinstance(chat_id, int) and chat_id > 0


def _gone(request: web.Request) -> bool:
    """The client closed the connection (gave up, or its process died)."""
    return request.transport is None or request.transport.is_closing()


def _abort(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response()
