"""Child process for the crash test: drains an outbox through a (fake) Bot API, then exits 0.

Usage: python tests/support/outbox_child.py DB_PATH API_BASE_URL CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from bot.app.session import JsonSession
from bot.delivery.sender import Sender
from storage.db import Database
from storage.stores import stores_over

TOKEN = "123456:TEST-token"


async def main(path: str, base_url: str, concurrency: int) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(base_url))
    bot = Bot(TOKEN, session=session)
    try:
        async with Database(path) as db:
            sender = Sender(bot, stores_over(db), rate=0, concurrency=concurrency, idle_poll=0.2)
            await sender.drain(timeout=60)
    finally:
        await bot.session.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
