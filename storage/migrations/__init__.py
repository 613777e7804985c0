"""Schema migrations on `PRAGMA user_version`: numbered `NNNN_name.sql` files, one transaction each."""

from __future__ import annotations

import logging
import re
import sqlite3
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class NewerDatabaseError(RuntimeError):
    """The database was written by a newer diplodigest; refuse rather than corrupt it."""


def available_migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migration numbers must run 1..N without gaps, got {numbers}")
    return found


def latest_version() -> int:
    return len(available_migrations())


async def apply_migrations(db: Database) -> int:
    migrations = available_migrations()
    current = await db.fetchval("PRAGMA user_version")
    if current > len(migrations):
        raise NewerDatabaseError(
            f"{db.path} has schema version {current}, this diplodigest knows up to "
            f"{len(migrations)}; upgrade diplodigest instead of opening it with an older one"
        )
    for number, name, sql in migrations[current:]:
        log.info("applying migration %s", name)
        async with db.transaction() as conn:
            # executescript would COMMIT on its own; run statements one by one inside ours.
            for statement in _split_statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number:d}")
    return len(migrations)


def _split_statements(sql: str) -> list[str]:
    """Whole statements (triggers included), using SQLite's own notion of a complete statement."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buf[:80]!r}")
    return statements
