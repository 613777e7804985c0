"""Schema migrations: one Alembic history (`versions/NNNN_name.py`) for SQLite and PostgreSQL.

Revisions are numbered "0001", "0002", … and only go up. On SQLite `PRAGMA user_version` mirrors
the number (backups and older tools read it), and a database written by a release from before
Alembic — user_version N, no alembic_version table — is stamped at revision N and upgraded in
place. A database at a revision this code does not know was written by a newer diplodigest:
it is refused, untouched.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a migration actually runs: a start with nothing to do skips them
    import sqlalchemy as sa
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


class NewerDatabaseError(RuntimeError):
    """The database was written by a newer diplodigest; refuse rather than corrupt it."""


def _config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


@functools.cache
def _revisions() -> tuple[str, ...]:
    return tuple(rev.revision for rev in reversed(list(_script().walk_revisions())))


def revisions() -> list[str]:
    """Every revision, oldest first ("0001", "0002", …)."""
    return list(_revisions())


def latest_version() -> int:
    return int(_script().get_current_head() or 0)


def record_sqlite_version(*, ctx: MigrationContext, step: Any, **_: Any) -> None:
    """After each revision, inside its transaction: SQLite's user_version follows it."""
    if ctx.dialect.name == "sqlite" and step.up_revision_id:
        ctx.connection.exec_driver_sql(f"PRAGMA user_version = {int(step.up_revision_id):d}")


def current_revision(connection: sa.Connection) -> tuple[str | None, str | None]:
    """(the database's revision, what alembic_version records): for a SQLite file from before
    Alembic the first is its user_version and the second None."""
    from alembic.runtime.migration import MigrationContext

    recorded = MigrationContext.configure(connection).get_current_revision()
    current = recorded
    if connection.dialect.name == "sqlite":
        legacy = connection.exec_driver_sql("PRAGMA user_version").scalar() or 0
        # user_version runs ahead of alembic_version only in a file a newer release wrote
        if legacy and (recorded is None or (recorded.isdigit() and legacy > int(recorded))):
            current = f"{legacy:04d}"
    connection.rollback()
    return current, recorded


def upgrade(connection: sa.Connection, where: str) -> int:
    """Bring the schema behind `connection` to the newest revision; returns its number.

    `where` names the database in the refusal (a path, or a URL without its password).
    """
    from alembic import command

    known = revisions()
    current, recorded = current_revision(connection)
    if current is not None and current not in known:
        raise NewerDatabaseError(
            f"{where} has schema version {int(current) if current.isdigit() else current}, "
            f"this diplodigest knows up to {len(known)}; upgrade diplodigest instead of opening "
            "it with an older one"
        )
    config = _config(connection)
    if current is not None and recorded is None:
        command.stamp(config, current)  # a SQLite file from before Alembic: its user_version
        connection.commit()
    if current != known[-1]:
        log.info("upgrading the schema of %s from %s to %s", where, current, known[-1])
        command.upgrade(config, "head")
    connection.commit()
    return int(known[-1])


def sqlite_engine(path: Path | str) -> sa.Engine:
    """A short-lived engine for migrating one SQLite file, with real transactions around DDL.

    Python's sqlite3 module would commit before each DDL statement on its own; this is
    SQLAlchemy's documented recipe for handing transaction control to SQLAlchemy instead.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA busy_timeout=5000")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _head_number() -> int:
    """The newest revision's number, read off the file names (no Alembic import needed)."""
    return max(int(p.name[:4]) for p in (HERE / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _up_to_date(path: Path | str) -> bool:
    """True when the file is already at the newest revision, by both records."""
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            recorded = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.OperationalError:
            return False
        head = _head_number()
        return version == head and recorded == [(f"{head:04d}",)]
    finally:
        conn.close()


def upgrade_sqlite(path: Path | str) -> int:
    if _up_to_date(path):
        return _head_number()
    engine = sqlite_engine(path)
    try:
        with engine.connect() as connection:
            return upgrade(connection, str(path))
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


async def upgrade_url(url: str) -> int:
    """Migrate the PostgreSQL (or SQLite) database behind a SQLAlchemy async URL."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(upgrade, _safe(url))
    finally:
        await engine.dispose()
