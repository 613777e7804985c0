"""`copy-db`: move a SQLite deployment to PostgreSQL, every row with its id, in one transaction.

The target gets the current schema first (the same Alembic history), must hold no rows yet,
and receives the tables in foreign-key order through COPY; the search index is rebuilt from the
same normalized terms (PostgreSQL derives its `tsvector` from them), and each id sequence is
moved past the highest id copied. One transaction: a failure or a kill leaves the target as
empty as it was. The source is only read (its own schema is brought up to date first, as
`run` would), so the bot should be stopped while copying, and started on DATABASE_URL after.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from storage.migrations import sqlite_engine, upgrade_sqlite
from storage.postgres import PostgresDatabase, asyncpg_dsn, safe_url

_SKIP = ("alembic_version", "article_search")  # the version is the target's; search is rebuilt
_BATCH = 5000
# A target holding any of these is someone's deployment, never overwritten.
_MUST_BE_EMPTY = ("feeds", "articles", "chats", "outbox", "audit_log")


class CopyError(RuntimeError):
    """The copy cannot be made; the message is one line saying what to check."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    target: str
    counts: dict[str, int]

    def line(self) -> str:
        rows = sum(self.counts.values())
        shown = ", ".join(f"{self.counts[t]} {t}" for t in ("feeds", "articles", "chats", "outbox"))
        return f"copied {rows} rows in {len(self.counts)} tables to {self.target}: {shown}"


def _prepare(source: Path) -> list[tuple[str, list[str]]]:
    if not source.is_file():
        raise CopyError(
            f"{source} does not exist; set DATABASE_PATH (or DATABASE_URL) to the SQLite file"
        )
    upgrade_sqlite(source)
    return _tables(source)


def _tables(path: Path) -> list[tuple[str, list[str]]]:
    """The application's tables in foreign-key order (parents first), with their columns."""
    engine = sqlite_engine(path)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
    finally:
        engine.dispose()
    return [
        (t.name, [c.name for c in t.columns])
        for t in meta.sorted_tables
        if t.name not in _SKIP and not t.name.startswith(("article_search_", "sqlite_"))
    ]


async def copy_sqlite_to_postgres(
    source: Path, url: str, *, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    tables = await asyncio.to_thread(_prepare, source)
    async with PostgresDatabase(url):  # reachable, and the schema brought up to date
        pass
    conn = await asyncpg.connect(asyncpg_dsn(url))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    counts: dict[str, int] = {}
    try:
        for name in _MUST_BE_EMPTY:
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{name}")'):
                raise CopyError(
                    f"{safe_url(url)} already holds data (table {name}); copy-db only fills an"
                    " empty database — give it a new one"
                )
        async with conn.transaction():
            # rows a fresh schema starts with (the default access settings) give way to the source's
            names = ", ".join(f'"{t}"' for t, _ in [*tables, ("article_search", [])])
            await conn.execute(f"TRUNCATE {names}")
            for name, columns in [*tables, ("article_search", ["rowid", "terms"])]:
                cols = ", ".join(f'"{c}"' for c in columns)
                cursor = src.execute(f"SELECT {cols} FROM {name}")
                counts[name] = 0
                while batch := cursor.fetchmany(_BATCH):
                    await conn.copy_records_to_table(name, records=batch, columns=columns)
                    counts[name] += len(batch)
                if progress is not None:
                    progress(name, counts[name])
                if "id" in columns:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                        f' COALESCE((SELECT MAX(id) FROM "{name}"), 0) + 1, false)'
                    )
    except (asyncpg.PostgresError, sqlite3.DatabaseError) as exc:
        raise CopyError(
            f"copying to {safe_url(url)} failed, nothing was kept there: {exc}"
        ) from None
    finally:
        src.close()
        await conn.close()
    counts.pop("article_search", None)
    return CopyReport(safe_url(url), counts)
