"""The HTTP session to the Bot API: aiogram's aiohttp session, with JSON request bodies.

aiogram sends every method as an `application/x-www-form-urlencoded` form. Urlencoding runs in
pure Python, byte by byte: a digest of 4 KB of Cyrillic text is ~8,000 percent-escapes, and in
the fan-out benchmark it took a fifth of the sender's CPU — more than the database. The Bot API
takes `application/json` for every method except file uploads, and `json.dumps` is C. So a
request with no file goes as JSON (nested objects stay objects, numbers stay numbers), and one
with a file keeps aiogram's multipart form.

aiogram parses each answer as `Response[<the method's result type>]`, a pydantic generic that
pydantic keeps only while something refers to it: after every garbage collection the next
request built its validator again (~0.5 ms). The session keeps the usual ones.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import Response
from aiogram.methods import TelegramMethod
from aiogram.types import Message, Update, User
from aiohttp import FormData
from aiohttp.payload import JsonPayload

# what the sender, the alerts and long polling call all the time: sendMessage and
# sendRichMessage, getMe, getUpdates, and the many methods that answer True
PINNED_RESPONSES = (Response[Message], Response[User], Response[list[Update]], Response[bool])


class JsonSession(AiohttpSession):
    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        files: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":  # what aiogram's form leaves out
                body[key] = prepared
        if files:  # an upload: only a multipart form can carry it
            return super().build_form_data(bot, method)
        # aiohttp takes any payload as `data=`; this one sets Content-Type: application/json
        return JsonPayload(body, dumps=self.json_dumps)  # type: ignore[return-value]
