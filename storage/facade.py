"""What both database facades share: the methods built on `transaction()` alone.

`storage.db.Database` (SQLite) and `storage.postgres.PostgresDatabase` each supply `connect`,
`close`, `transaction`, the reads and the two dialect methods; the writes below work on either,
because a transaction's connection answers `execute(sql, params)` the same way on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self, TypeVar

from storage.errors import ConflictError

_T = TypeVar("_T")

# Decoding this many rows (~15 µs each) would stall the event loop: a planning pass reads tens
# of thousands of articles and every due chat, and decodes them in a worker thread instead.
OFF_LOOP_ROWS = 2000


async def decoded(rows: Sequence[Any], decode: Callable[[Any], _T]) -> list[_T]:
    """`decode` applied to each row; in a worker thread when there are many rows."""
    if len(rows) < OFF_LOOP_ROWS:
        return [decode(r) for r in rows]
    return await asyncio.to_thread(lambda: [decode(r) for r in rows])


@contextmanager
def conflicts(driver_error: type[Exception]) -> Iterator[None]:
    """A broken constraint (unique, foreign key, check) leaves storage as the project's
    ConflictError, the driver's error its cause: callers never catch a driver's exceptions."""
    try:
        yield
    except driver_error as exc:
        raise ConflictError(str(exc)) from exc


class Facade:
    """Mixed into each engine's facade, which defines `connect`, `close` and `transaction`."""

    dialect: str

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, params: Sequence[Any] = (), *, serial: bool = True) -> int:
        """One write statement in its own transaction; returns the number of rows it touched.
        `serial=False`: a statement whose own row locks suffice (a conditional UPDATE of rows by
        id), which PostgreSQL runs without the database-wide write lock, in one round trip."""
        async with self.transaction(serial=serial) as conn, conn.execute(sql, params) as cur:
            return cur.rowcount

    async def write_returning(
        self, sql: str, params: Sequence[Any] = (), *, serial: bool = True
    ) -> Any:
        """One write statement with `RETURNING`, in its own transaction; its first row or None."""
        async with self.transaction(serial=serial) as conn, conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One INSERT in its own transaction; returns the new row's id."""
        async with self.transaction() as conn, conn.execute(sql + " RETURNING id", params) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)
