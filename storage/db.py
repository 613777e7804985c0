"""The one SQLite connection: WAL, foreign keys, busy timeout, serialized write transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import UnusableDatabaseError
from storage.facade import Facade, conflicts
from storage.migrations import upgrade_sqlite

log = logging.getLogger(__name__)


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_is_database(path: Path) -> None:
    """Refuse, before SQLite touches it, a path that is no database: a directory, or a file
    that does not start with SQLite's header. An empty file is fine: SQLite makes it one."""
    if path.is_dir():
        raise UnusableDatabaseError(f"{path} is a directory; set DATABASE_PATH to a file")
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise UnusableDatabaseError(
            f"{path} is not a SQLite database; check DATABASE_PATH (the file was left untouched)"
        )


async def _check_can_open(path: Path) -> None:
    """Make the file's folder and open it once, before aiosqlite does: a path that cannot be
    (a file where a folder should be, no write permission) is one line for the operator. (When
    aiosqlite's own connect fails, its thread outlives the closed loop and prints a traceback.)"""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(lambda: sqlite3.connect(path).close())
    except (OSError, sqlite3.OperationalError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise UnusableDatabaseError(
            f"cannot open or create {path} ({reason}); check DATABASE_PATH and that its folder"
            " exists or can be made, and is writable"
        ) from None


def count_where(condition: str) -> str:
    """SQL for "how many rows meet `condition`", the same on both engines (PostgreSQL does not
    sum booleans)."""
    return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


# A sent mark adds about 4.5 pages (18 KiB) to the WAL: a checkpoint every ~1,100 pages, about
# as often as SQLite's own (1,000).
CHECKPOINT_EVERY = 250


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Database(Facade):
    """One aiosqlite connection (one worker thread) shared by the whole process.

    aiosqlite interleaves statements of concurrent coroutines on one connection, so every write
    goes through `transaction()`, which holds an asyncio lock around `BEGIN IMMEDIATE … COMMIT`.
    Reads outside a transaction see the last committed state (WAL).

    Each aiosqlite call is a hop to its thread and back; for the two statements the sender
    runs per message (a read by id, a write by id: tens of microseconds of SQLite work) the hop
    costs more than the work, so `fetch_now` and `execute_each` run them on the event loop's own
    thread, on a second connection that never waits: when another writer holds the database
    (SQLITE_BUSY), they take the usual path through the worker thread instead.
    """

    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._now: sqlite3.Connection | None = None  # the loop thread's (see `_quick`)
        self._now_commits = 0  # since the last checkpoint

    async def connect(self) -> Database:
        if str(self.path) != ":memory:":
            _check_is_database(self.path)
            await _check_can_open(self.path)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA synchronous=NORMAL")
            # the schema through Alembic, on its own short-lived connection (WAL lets both be open)
            try:
                await asyncio.to_thread(upgrade_sqlite, self.path)
            except Exception as exc:  # SQLAlchemy wraps the driver's error in its own
                orig = getattr(exc, "orig", None)
                if isinstance(orig, sqlite3.DatabaseError):
                    raise orig from None
                raise
            self._conn = conn
        except sqlite3.DatabaseError as exc:  # damaged inside although its header is SQLite's
            self._conn = None
            await conn.close()
            raise UnusableDatabaseError(
                f"{self.path} is damaged ({exc}); restore it from a backup (python -m bot backup"
                " makes one) or point DATABASE_PATH at another file; it was left untouched"
            ) from None
        except BaseException:
            # aiosqlite's worker thread keeps the process alive until the connection is closed
            self._conn = None
            await conn.close()
            raise
        return self

    async def close(self) -> None:
        if self._now is not None:
            self._now.close()
            self._now = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("Database is not connected")
        return self._conn

    @asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; commits on success, rolls back on any exception. SQLite has one
        writer at a time whatever `serial` says (PostgreSQL's twin lets claims skip its lock)."""
        with conflicts(sqlite3.IntegrityError):
            async with self._write_lock:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                else:
                    await self.conn.execute("COMMIT")

    # One statement needs no BEGIN/COMMIT around it: in autocommit mode it is its own
    # transaction, one hop to aiosqlite's thread and back instead of three (the write lock
    # still keeps it out of another coroutine's transaction on this shared connection).

    async def execute(self, sql: str, params: Sequence[Any] = (), *, serial: bool = True) -> int:
        with conflicts(sqlite3.IntegrityError):
            async with self._write_lock:
                cursor = await self.conn.execute(sql, params)  # a DML statement runs to its end
                return cursor.rowcount

    def _quick(self) -> sqlite3.Connection | None:
        """The second connection, opened on first use: no busy wait (it never blocks the
        loop), no checkpoints (the main connection runs them, in its thread)."""
        if self._now is None and self._conn is not None and str(self.path) != ":memory:":
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            for pragma in ("busy_timeout=0", "foreign_keys=ON", "synchronous=NORMAL",
                           "wal_autocheckpoint=0"):  # fmt: skip
                conn.execute(f"PRAGMA {pragma}")
            self._now = conn
        return self._now

    async def fetch_now(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """`fetchall` for a small read by key, on the loop thread (WAL: a reader never waits
        for a writer); in the worker thread if that connection is busy all the same."""
        quick = self._quick()
        if quick is not None:
            try:
                return quick.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        return await self.fetchall(sql, params)

    async def _checkpoint_now(self, commits: int) -> None:
        """The loop thread's connection never checkpoints (that copies megabytes and syncs the
        file): every CHECKPOINT_EVERY of its commits, the worker thread checkpoints instead, so
        the WAL stays small through a long fan-out in which nothing else writes."""
        self._now_commits += commits
        if self._now_commits >= CHECKPOINT_EVERY:
            self._now_commits = 0
            try:
                await self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # the writes are committed: only the next one waits
                log.warning("WAL checkpoint skipped (%s); the next one tries again", exc)

    async def execute_each(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement per row, each its own transaction (autocommit), without the hop to the
        worker thread unless another writer holds the database: for a few independent writes by
        id, such as a batch of sent marks. Each row's statement must be harmless to run twice
        (after a busy database the whole batch runs again in the worker thread)."""
        if not rows:
            return
        with conflicts(sqlite3.IntegrityError):
            quick = None if self._write_lock.locked() else self._quick()
            if quick is not None:
                try:
                    quick.executemany(sql, rows)
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise
                else:
                    await self._checkpoint_now(len(rows))
                    return
            async with self._write_lock:
                await self.conn.executemany(sql, rows)

    async def write_returning(
        self, sql: str, params: Sequence[Any] = (), *, serial: bool = True
    ) -> aiosqlite.Row | None:
        with conflicts(sqlite3.IntegrityError):
            async with self._write_lock:
                rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version"))

    # -- the dialect's few differences, in one place (storage.postgres has the same two)

    @staticmethod
    def search_match(alias: str, phrases: Sequence[Sequence[str]]) -> tuple[str, list[str]]:
        """A condition on `article_search` (as `alias`): the row holds every phrase (words in
        this order, adjacent).
        Each phrase is quoted as an FTS5 string, so no user text becomes FTS5 syntax."""
        if not phrases:
            return "0", []
        expression = " AND ".join('"' + " ".join(p).replace('"', '""') + '"' for p in phrases)
        return "article_search MATCH ?", [expression]  # FTS5 wants the table name

    @staticmethod
    def json_values(column: str, alias: str) -> str:
        """A FROM item: the elements of a JSON list column, as rows of `alias.value`."""
        return f"json_each({column}) AS {alias}"
