"""JsonSession, the Bot API session every process uses: requests without a file go as one JSON
body (nested objects as objects, numbers as numbers); an upload keeps aiogram's multipart form.
Checked on the wire, against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

from aiogram.types import BufferedInputFile, LinkPreviewOptions

from tests.support.fakebotapi import FakeBotAPI


async def test_a_message_goes_as_json_with_its_types(server: FakeBotAPI) -> None:
    bot = server.make_bot()
    try:
        text = "Совет министров иностранных дел СНГ — A &amp; B <b>жирный</b> 👍"
        await bot.send_message(
            chat_id=-1001234567890,
            text=text,
            link_preview_options=LinkPreviewOptions(url="https://e.org/1", prefer_small_media=True),
            message_thread_id=7,
        )
    finally:
        await bot.session.close()
    (request,) = server.requests
    assert request.content_type == "application/json"
    assert request.params["chat_id"] == -1001234567890
    assert request.params["text"] == text  # the exact text, not an escaped copy
    assert request.params["parse_mode"] == "HTML"  # the bot's default, resolved
    assert request.params["message_thread_id"] == 7
    assert request.params["link_preview_options"] == {
        "url": "https://e.org/1",
        "prefer_small_media": True,
    }
    assert [m["text"] for m in server.sent(-1001234567890)] == [text]


async def test_an_upload_keeps_the_multipart_form(server: FakeBotAPI) -> None:
    bot = server.make_bot()
    try:
        await bot.send_document(
            chat_id=5, document=BufferedInputFile(b"<opml/>", filename="feeds.opml")
        )
    finally:
        await bot.session.close()
    (request,) = server.requests
    assert request.content_type == "multipart/form-data"
    assert request.params["document"].startswith("attach://")
    assert any(v == "<file feeds.opml>" for v in request.params.values())


def test_the_usual_answer_types_outlive_a_garbage_collection():
    """aiogram parses each answer as Response[<result type>]; pydantic drops such a generic once
    nothing refers to it, and the next request rebuilt its validator (~0.5 ms)."""
    import gc
    import weakref

    from aiogram.client.session.base import Response
    from aiogram.types import Message, User

    refs = [weakref.ref(Response[Message]), weakref.ref(Response[User])]
    gc.collect()
    assert all(ref() is not None for ref in refs)
