"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A FeedServer on 127.0.0.1 with a random port, closed after the test."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    """A fake Bot API server on 127.0.0.1 (answers like Telegram, scriptable failures)."""
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotAPI):
    """An aiogram Bot whose HTTP session talks to the `server` fixture."""
    bot = server.make_bot()
    yield bot
    await bot.session.close()
