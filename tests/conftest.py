"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.feedserver import FeedServer


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A FeedServer on 127.0.0.1 with a random port, closed after the test."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.close()
