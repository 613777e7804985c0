"""The PostgreSQL twin of `storage.db.Database`: the same facade over an asyncpg pool.

The repositories write one SQL text for both engines (`?` placeholders, `ON CONFLICT`,
`RETURNING id`); this module turns `?` into `$n` and gives transactions the shape the
repositories already use (`async with conn.execute(...) as cur`, `cur.rowcount`, `fetchone`).

Write transactions are serialized across every process sharing the database by one
transaction-scoped advisory lock: the same single-writer discipline SQLite's `BEGIN IMMEDIATE`
gives one process, so a read-then-write inside a transaction means the same on both engines.
Writes here are small (a poll, a digest, a sent mark) and reads stay concurrent. Claims that
must not wait for that lock (the outbox lease) use `transaction(serial=False)` with row locks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.errors import UnusableDatabaseError
from storage.facade import Facade, conflicts
from storage.migrations import upgrade_url

# pg_advisory_xact_lock keys: an arbitrary constant of this project, and one for migrations
WRITE_LOCK = 0x6469_706C  # "dipl"
MIGRATE_LOCK = 0x6469_706D

_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?")
_COUNTED = re.compile(r"^(?:INSERT \d+|UPDATE|DELETE|SELECT|MERGE|COPY) (\d+)$")


@functools.lru_cache(maxsize=1024)
def to_numbered(sql: str) -> str:
    """`?` placeholders → `$1, $2 …` (a `?` inside a quoted literal stays)."""
    counter = iter(range(1, 10_000))

    def number(match: re.Match[str]) -> str:
        text = match.group()
        return text if text.startswith("'") else f"${next(counter)}"

    return _QUOTED_OR_MARK.sub(number, sql)


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head.startswith(("SELECT", "WITH", "VALUES")) or " RETURNING " in sql.upper()


def _rowcount(status: str) -> int:
    match = _COUNTED.match(status)
    return int(match.group(1)) if match else -1


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes postgresql:// (or postgres://), not SQLAlchemy's postgresql+asyncpg://."""
    return re.sub(r"^postgres(?:ql)?(?:\+asyncpg)?://", "postgresql://", url)


def sqlalchemy_url(url: str) -> str:
    return re.sub(r"^postgres(?:ql)?(?:\+asyncpg)?://", "postgresql+asyncpg://", url)


class _Result:
    """One statement's outcome: awaitable and an async context manager, like aiosqlite's."""

    def __init__(self, conn: asyncpg.Connection, sql: str, params: Sequence[Any]) -> None:
        self._conn, self._sql, self._params = conn, sql, tuple(params)
        self._rows: list[asyncpg.Record] = []
        self._next = 0
        self.rowcount = -1
        self.lastrowid = None  # PostgreSQL has none: write `RETURNING id`

    async def _run(self) -> _Result:
        sql = to_numbered(self._sql)
        if _returns_rows(self._sql):
            self._rows = await self._conn.fetch(sql, *self._params)
            self.rowcount = len(self._rows)
        else:
            self.rowcount = _rowcount(await self._conn.execute(sql, *self._params))
        return self

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> _Result:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetchone(self) -> asyncpg.Record | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[asyncpg.Record]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __aiter__(self) -> _Result:
        return self

    async def __anext__(self) -> asyncpg.Record:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class Connection:
    """A pooled connection inside a transaction, shaped like the aiosqlite one the repos use."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        return _Result(self.raw, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            await self.raw.executemany(to_numbered(sql), batch)


class PostgresDatabase(Facade):
    """A small asyncpg pool behind the facade `storage.db.Database` offers for SQLite."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._pool_size = pool_size

    def __repr__(self) -> str:
        return f"PostgresDatabase({safe_url(self.url)!r})"

    async def connect(self) -> PostgresDatabase:
        dsn = asyncpg_dsn(self.url)
        try:
            lock = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise UnusableDatabaseError(
                f"cannot reach PostgreSQL at {safe_url(self.url)} ({_reason(exc)});"
                " check DATABASE_URL and that the server is running"
            ) from None
        try:
            # one process migrates at a time; the others wait, then find nothing to do
            await lock.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
            await upgrade_url(sqlalchemy_url(self.url))
        finally:
            await lock.close()
        self._pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=self._pool_size, command_timeout=60
        )
        return self

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("Database is not connected")
        return self._pool

    @asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[Connection]:
        """A write transaction; commits on success, rolls back on any exception. `serial`
        (the default) waits for the database-wide write lock first."""
        with conflicts(asyncpg.IntegrityConstraintViolationError):
            async with self.pool.acquire() as conn, conn.transaction():
                if serial:
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
                yield Connection(conn)

    async def execute(self, sql: str, params: Sequence[Any] = (), *, serial: bool = True) -> int:
        if serial:
            return await super().execute(sql, params)
        # one statement is its own transaction: no BEGIN/COMMIT round trips around it
        with conflicts(asyncpg.IntegrityConstraintViolationError):
            return _rowcount(await self.pool.execute(to_numbered(sql), *params))

    async def execute_each(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement per row, all in one round trip, without the database-wide write lock
        (independent writes by id, such as a batch of sent marks)."""
        if not rows:
            return
        with conflicts(asyncpg.IntegrityConstraintViolationError):
            await self.pool.executemany(to_numbered(sql), [tuple(r) for r in rows])

    async def write_returning(
        self, sql: str, params: Sequence[Any] = (), *, serial: bool = True
    ) -> asyncpg.Record | None:
        if serial:
            return await super().write_returning(sql, params)
        with conflicts(asyncpg.IntegrityConstraintViolationError):
            return await self.pool.fetchrow(to_numbered(sql), *params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(to_numbered(sql), *params))

    async def fetch_now(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self.fetchall(sql, params)  # (no worker thread to skip here)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        return await self.pool.fetchrow(to_numbered(sql), *params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self.pool.fetchval(to_numbered(sql), *params)

    async def schema_version(self) -> int:
        return int(await self.fetchval("SELECT version_num FROM alembic_version"))

    # -- the dialect's few differences, in one place

    @staticmethod
    def search_match(alias: str, phrases: Sequence[Sequence[str]]) -> tuple[str, list[str]]:
        """A condition on `article_search` (as `alias`): the row holds every phrase (words in
        this order, adjacent)."""
        if not phrases:
            return "FALSE", []
        marks = " && ".join("phraseto_tsquery('simple', ?)" for _ in phrases)
        return f"{alias}.document @@ ({marks})", [" ".join(p) for p in phrases]

    @staticmethod
    def json_values(column: str, alias: str) -> str:
        """A FROM item: the elements of a JSON list column, as rows of `alias.value`."""
        return f"jsonb_array_elements_text({column}::jsonb) AS {alias}(value)"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
