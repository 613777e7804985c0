"""Which database a process uses: `DATABASE_URL` (or `DATABASE_PATH`) → one connected facade.

`sqlite:///relative/file.sqlite3`, `sqlite:////absolute/file.sqlite3` or a bare path open
`storage.db.Database`; `postgresql://user:password@host:port/dbname` opens
`storage.postgres.PostgresDatabase`. Both offer the same methods, so repositories take either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from storage.db import Database

if TYPE_CHECKING:
    from storage.postgres import PostgresDatabase

AnyDatabase = Union[Database, "PostgresDatabase"]

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+asyncpg://")
URL_HINT = "sqlite:///path/file.sqlite3 or postgresql://user:password@host:port/dbname"


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed database location: exactly one of `path` (SQLite) or `url` (PostgreSQL)."""

    path: Path | None = None
    url: str | None = None

    @property
    def engine(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        from storage.postgres import safe_url

        return safe_url(self.url or "")


def parse(location: str | Path) -> Target:
    """A `DATABASE_URL` or a plain SQLite path; ValueError (one line) for anything else."""
    if isinstance(location, Path):
        return Target(path=location)
    text = location.strip()
    if text.startswith(SQLITE_PREFIX):
        rest = text[len(SQLITE_PREFIX) :]
        if not rest:
            raise ValueError(f"DATABASE_URL {text!r} names no file; use {URL_HINT}")
        return Target(path=Path(rest))
    if text.startswith(POSTGRES_PREFIXES):
        return Target(url=text)
    if "://" in text:
        raise ValueError(f"DATABASE_URL {text.split('://')[0]}:// is not supported; use {URL_HINT}")
    return Target(path=Path(text))


def open_database(location: str | Path | Target) -> AnyDatabase:
    """The facade for `location`, not yet connected (`await db.connect()` or `async with`)."""
    target = location if isinstance(location, Target) else parse(location)
    if target.path is not None:
        return Database(target.path)
    from storage.postgres import PostgresDatabase  # asyncpg only when PostgreSQL is used

    return PostgresDatabase(target.url or "")
