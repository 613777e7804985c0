"""The fake Bot API server answers like Telegram: shapes, errors, long polling through aiogram."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Dispatcher, F
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message


async def test_send_records_and_numbers_messages(server, bot):
    me = await bot.get_me()
    first = await bot.send_message(5, "<b>hello</b> &amp; more")
    second = await bot.send_message(5, "again")
    assert me.is_bot
    assert second.message_id == first.message_id + 1
    sent = await server.wait_sent(5, 2, timeout=1)
    assert [m["text"] for m in sent] == ["<b>hello</b> &amp; more", "again"]
    assert sent[0]["parse_mode"] == "HTML" and sent[0]["chat_id"] == 5


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", TelegramRetryAfter),
        ("403", TelegramForbiddenError),
        ("400", TelegramBadRequest),
        ("500", TelegramServerError),
        ("migrate", TelegramMigrateToChat),
        ("drop", TelegramNetworkError),
    ],
)
async def test_scripted_failures_raise_aiogram_errors(server, bot, kind, error):
    server.fail_next("sendMessage", kind, chat_id=-7, retry_after=3)
    await bot.send_message(8, "other chat is unaffected")
    with pytest.raises(error) as info:
        await bot.send_message(-7, "x")
    if kind == "429":
        assert info.value.retry_after == 3
    if kind == "migrate":
        assert info.value.migrate_to_chat_id < -(10**12)
    await bot.send_message(-7, "next one goes through")
    assert [m["text"] for m in server.sent(-7)] == ["next one goes through"]


async def test_failures_repeat_times(server, bot):
    server.fail_next("sendMessage", "429", times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(1, "x")
    await bot.send_message(1, "x")
    assert len(server.calls("sendMessage")) == 3 and len(server.sent(1)) == 1


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("a < b", "can't parse entities"),
        ("<div>x</div>", "Unsupported start tag"),
        ("<b>open", "Can't find end tag"),
        ("Tom & Jerry", "unsupported entity"),
        ("x" * 4097, "message is too long"),
        ("👍" * 3000, "message is too long"),  # 3,000 characters, 6,000 UTF-16 code units
        ("<b>" + "👍" * 2049 + "</b>", "message is too long"),
        ("   ", "message text is empty"),
    ],
)
async def test_bad_text_is_rejected_like_telegram(bot, text, description):
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.send_message(1, text)


async def test_long_text_counts_visible_characters(server, bot):
    await bot.send_message(1, "<b>" + "я" * 4096 + "</b>")
    await bot.send_message(1, "<i>" + "👍" * 2048 + "</i>")  # exactly 4096 UTF-16 code units
    await bot.send_message(1, "&amp;" * 4096)  # an entity is one visible character
    assert len(server.sent(1)) == 3
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "&amp;" * 4097)


async def test_caption_limit_in_utf16(server, bot):
    from aiogram.types import BufferedInputFile

    photo = BufferedInputFile(b"png", filename="chart.png")
    await bot.send_photo(1, photo, caption="👍" * 512)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(1, photo, caption="👍" * 513)
    assert len(server.sent(1)) == 1


async def test_accept_drop_delivers_but_loses_the_reply(server, bot):
    server.fail_next("sendMessage", "accept_drop", chat_id=4)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(4, "delivered, reply lost")
    assert [m["text"] for m in server.sent(4)] == ["delivered, reply lost"]
    (record,) = server.sends(4)
    assert record.reply == "accepted_dropped" and record.status is None
    assert server.last_message(4)[1]["text"] == "delivered, reply lost"


async def test_drop_does_not_deliver(server, bot):
    server.fail_next("sendMessage", "drop", chat_id=4)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(4, "lost")
    assert server.sent(4) == [] and server.sends(4)[0].reply == "dropped"


async def test_hang_holds_until_the_client_gives_up(server):
    impatient = server.make_bot(timeout=0.3)
    try:
        server.fail_next("sendMessage", "hang", chat_id=6)
        with pytest.raises(TelegramNetworkError):
            await impatient.send_message(6, "never answered")
        (record,) = server.sends(6)
        assert record.reply == "hung" and record.answered_at is None and server.sent(6) == []
        await impatient.send_message(6, "next one")
        assert [m["text"] for m in server.sent(6)] == ["next one"]
    finally:
        await impatient.session.close()


async def test_hang_is_recorded_at_once_and_released_on_demand(server, bot):
    server.fail_next("sendMessage", "hang", chat_id=6)
    send = asyncio.create_task(bot.send_message(6, "held"))
    await server.wait_calls("sendMessage", 1, chat_id=6)
    assert not send.done() and server.sends(6)[0].reply == "hung"
    server.release_hung()
    with pytest.raises(TelegramNetworkError):
        await send
    assert server.sent(6) == []


async def test_requests_carry_timestamps(server, bot):
    server.fail_next("sendMessage", "429", chat_id=1, retry_after=2)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "x")
    await bot.send_message(2, "y")
    flood, other = server.sends()
    assert flood.status == 429 and flood.retry_after == 2 and other.status == 200
    assert flood.received_at <= flood.answered_at <= other.received_at <= other.answered_at


async def test_wait_assertions_catch_early_sends(server, bot):
    server.fail_next("sendMessage", "429", chat_id=1, retry_after=5)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "x")
    assert server.assert_retries_waited() == 0  # nothing retried yet: nothing to check
    await bot.send_message(2, "another chat during a private chat's flood wait")
    with pytest.raises(AssertionError, match="flood wait of private chat 1"):
        server.assert_global_pauses()
    await bot.send_message(1, "x again, at once")
    with pytest.raises(AssertionError, match=r"retried .* after a 429 that asked for 5s"):
        server.assert_retries_waited()


async def test_wait_assertions_pass_when_the_wait_was_kept(server, bot):
    server.fail_next("sendMessage", "429", chat_id=-3, retry_after=1)  # a group: only that chat
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(-3, "x")
    await bot.send_message(2, "others may go on")
    await asyncio.sleep(1.05)
    await bot.send_message(-3, "x")
    assert server.assert_retries_waited() == 1 and server.assert_global_pauses() == 0


async def test_edits_and_callback_data_limit(server, bot):
    button = InlineKeyboardButton(text="x", callback_data="t:1")
    markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    msg = await bot.send_message(3, "pick", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(
            "pick", chat_id=3, message_id=msg.message_id, reply_markup=markup
        )
    await bot.edit_message_text("picked", chat_id=3, message_id=msg.message_id)
    assert server.message(3, msg.message_id) == {"text": "picked", "reply_markup": None}
    long = InlineKeyboardButton(text="x", callback_data="y" * 65)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(3, "x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[long]]))


async def test_chat_member_status_is_configurable(server, bot):
    server.set_member_status(-100, 9, "administrator")
    server.set_member_status(-100, 10, "creator")
    assert (await bot.get_chat_member(-100, 9)).status == ChatMemberStatus.ADMINISTRATOR
    assert (await bot.get_chat_member(-100, 10)).status == ChatMemberStatus.CREATOR
    assert (await bot.get_chat_member(-100, 11)).status == ChatMemberStatus.MEMBER
    assert (await bot.get_chat(-100)).type == "group"


async def test_blocked_chat_gets_403(server, bot):
    server.blocked.add(77)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(77, "x")


async def test_long_polling_through_real_dispatcher(server, bot):
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo {message.text}", reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="press")]]))  # fmt: skip

    @dp.callback_query(F.data == "press")
    async def pressed(query: CallbackQuery) -> None:
        await query.answer("ok")
        await query.message.edit_text("pressed")

    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    try:
        server.push_message(42, 42, "/start hi")
        (reply,) = await server.wait_sent(42, 1)
        assert reply["text"] == "echo /start hi"
        message_id = server.calls("sendMessage", 42)[0]
        server.push_callback(42, 42, 2, "press")
        await server.wait_calls("editMessageText", 1, chat_id=42)
        assert server.message(42, 2)["text"] == "pressed"
        assert server.calls("answerCallbackQuery")[0]["text"] == "ok"
        assert message_id["chat_id"] == 42
    finally:
        await dp.stop_polling()
        await polling
