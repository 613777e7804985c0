"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, settings

from storage.engines import open_database
from tests.support.fakebotapi import FakeBotAPI
from tests.support.feedserver import FeedServer
from tests.support.postgres import Cluster, PostgresUnavailable, required

# Property tests: "ci" (the default, used by `make test` and CI) is deterministic and quick:
# the same examples every run, no example database. HYPOTHESIS_PROFILE=explore searches
# randomly and much longer, keeping failing examples under .hypothesis/ (git-ignored).
settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL cluster for the whole run (tests/support/postgres.py).

    Skipped, with the reason, on a machine without PostgreSQL; CI sets
    DIPLODIGEST_REQUIRE_POSTGRES=1, and there a missing server fails instead.
    """
    try:
        cluster = Cluster.start()
    except PostgresUnavailable as exc:
        if required():
            pytest.fail(f"PostgreSQL is required here: {exc}")
        pytest.skip(f"no PostgreSQL on this machine: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(postgres_cluster):
    """The migrated template database (made once, outside any test's event loop)."""
    postgres_cluster.migrated_template()
    return postgres_cluster


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_location(request, tmp_path):
    """Where a test's database lives, once per engine: a SQLite file, or a new database in
    the throwaway PostgreSQL cluster with the schema already migrated."""
    if request.param == "sqlite":
        return tmp_path / "contract.sqlite3"
    return await request.getfixturevalue("pg_template").fresh_database()


@pytest.fixture
async def db(db_location):
    """A connected database on each engine: the storage contract.

    Every test taking `db` runs twice, on a SQLite file and on PostgreSQL, through the same
    facade and the same repositories.
    """
    async with open_database(db_location) as database:
        yield database
