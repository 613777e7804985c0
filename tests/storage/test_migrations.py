"""One migration history for both engines: Alembic builds the schema the SQL files of earlier
releases built, a file from such a release upgrades in place with nothing lost, a newer schema is
refused untouched, and the same history runs on a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import migrations
from storage.db import Database
from storage.errors import ConflictError
from storage.migrations import NewerDatabaseError, latest_version, revisions, upgrade_url
from storage.outbox import OutboxRepo
from tests.support.legacy_schema import build_legacy, legacy_scripts

# Tables of the revisions after the SQL files (state once kept in one process's memory),
# and the columns they add to tables from before (0010: who holds an outbox message).
ADDED_SINCE_THE_SQL_FILES = {
    "0009": {"fsm_states", "webhook_updates"},
    "0010": {"delivery_pacing"},
    "0011": {"outbox_texts"},
}
COLUMNS_ADDED_SINCE = {"outbox": {"claimed_by", "claimed_until", "text_key"}}
# 0011: a planned message's text may be shared (outbox.text_key) instead of its own
NULLABLE_SINCE = {"outbox": {"text"}}
FKS_ADDED_SINCE = {"outbox": [("outbox_texts", "text_key", "key", "NO ACTION", "NO ACTION")]}


def _default(value: str | None) -> str | None:
    return None if value is None else value.strip("()").replace('"', "'")


def sqlite_schema(path: Path) -> dict:
    """What the application depends on: columns (type, NOT NULL off the key, default, key),
    indexes (unique, columns, partial), foreign keys with their actions, WITHOUT ROWID."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE 'article_search_%' AND name != 'alembic_version' ORDER BY name"
            )
        ]
        schema = {}
        for table in tables:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[
                0
            ]
            columns = {
                name: (ctype.upper(), bool(notnull) and not pk, _default(dflt), pk)
                for _, name, ctype, notnull, dflt, pk in conn.execute(f"PRAGMA table_info({table})")
            }
            indexes = {}
            for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
                cols = [r[2] for r in conn.execute(f"PRAGMA index_info({name})")]
                key = name if origin == "c" else (origin, tuple(cols))
                indexes[key] = (bool(unique), tuple(cols), bool(partial))
            fks = sorted(
                (r[2], r[3], r[4], r[5], r[6])
                for r in conn.execute(f"PRAGMA foreign_key_list({table})")
            )
            schema[table] = {
                "columns": columns,
                "indexes": indexes,
                "fks": fks,
                "rowid": "WITHOUT ROWID" not in sql.upper(),
                "virtual": sql.upper().startswith("CREATE VIRTUAL"),
            }
        return schema
    finally:
        conn.close()


def alembic_upto(path: Path, target: str) -> None:
    """Alembic's history on a new SQLite file up to revision `target` only."""
    from alembic import command
    from alembic.config import Config

    engine = migrations.sqlite_engine(path)
    try:
        with engine.connect() as connection:
            config = Config()
            config.set_main_option("script_location", str(migrations.HERE))
            config.attributes["connection"] = connection
            command.upgrade(config, target)
            connection.commit()
    finally:
        engine.dispose()


async def test_alembic_builds_the_schema_the_sql_files_built(tmp_path):
    build_legacy(tmp_path / "legacy.sqlite3", upto=len(legacy_scripts()))
    alembic_upto(tmp_path / "alembic.sqlite3", f"{len(legacy_scripts()):04d}")
    legacy = sqlite_schema(tmp_path / "legacy.sqlite3")
    built = sqlite_schema(tmp_path / "alembic.sqlite3")
    assert built.keys() == legacy.keys()
    for table in legacy:
        assert built[table] == legacy[table], table


async def test_the_revisions_after_the_sql_files_only_add_their_tables(tmp_path):
    assert sorted(ADDED_SINCE_THE_SQL_FILES) == revisions()[len(legacy_scripts()) :]
    build_legacy(tmp_path / "legacy.sqlite3", upto=len(legacy_scripts()))
    async with Database(tmp_path / "head.sqlite3"):
        pass
    legacy = sqlite_schema(tmp_path / "legacy.sqlite3")
    head = sqlite_schema(tmp_path / "head.sqlite3")
    added = set().union(*ADDED_SINCE_THE_SQL_FILES.values())
    assert head.keys() - legacy.keys() == added
    for table in legacy:  # the tables from before are exactly as the SQL files left them
        new = COLUMNS_ADDED_SINCE.get(table, set())
        columns = head[table]["columns"]
        assert {c: columns[c] for c in new} == {c: ("TEXT", False, None, 0) for c in new}
        kept = {c: v for c, v in columns.items() if c not in new}
        for c in NULLABLE_SINCE.get(table, ()):
            assert kept[c][1] is False and legacy[table]["columns"][c][1] is True
            kept[c] = legacy[table]["columns"][c]
        added_fks = FKS_ADDED_SINCE.get(table, [])
        assert all(fk in head[table]["fks"] for fk in added_fks)
        fks = [fk for fk in head[table]["fks"] if fk not in added_fks]
        assert {**head[table], "columns": kept, "fks": fks} == legacy[table], table
    assert head["delivery_pacing"]["columns"] == {
        "key": ("TEXT", False, None, 1),
        "next_at": ("FLOAT", True, None, 0),
    }
    # 0009: aiogram's whole storage key is the primary key; rows that expire are found by time
    dialogs, updates = head["fsm_states"], head["webhook_updates"]
    assert [c for c, spec in dialogs["columns"].items() if spec[3]] == [
        "bot_id",
        "chat_id",
        "user_id",
        "thread_id",
        "business_connection_id",
        "destiny",
    ]
    assert dialogs["columns"]["state"][1:3] == (False, None)  # NULL: no state, data kept
    assert dialogs["columns"]["data"][1:3] == (True, "'{}'")
    assert [c for c, spec in updates["columns"].items() if spec[3]] == ["bot_id", "update_id"]
    assert updates["columns"]["handled_at"][1] is False
    assert (False, ("updated_at",), False) in dialogs["indexes"].values()
    assert (False, ("bot_id", "received_at"), False) in updates["indexes"].values()


def test_the_history_is_numbered_without_gaps():
    assert revisions() == [f"{n:04d}" for n in range(1, len(revisions()) + 1)]
    assert latest_version() == len(revisions())
    assert latest_version() >= len(legacy_scripts())  # every step of the SQL files is in it


@pytest.mark.parametrize("upto", range(1, len(legacy_scripts()) + 1))
async def test_a_database_from_before_alembic_upgrades_in_place(tmp_path, upto):
    path = tmp_path / "old.sqlite3"
    build_legacy(path, upto)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO feeds (url, title, created_at) VALUES ('https://a.example/', ?,"
            " '2025-01-01T00:00:00+00:00')",
            ("T" * 300,),
        )
        conn.execute(
            "INSERT INTO articles (feed_id, key, url, title, source, published_at,"
            " fetched_at) VALUES (1, 'k', 'https://a.example/1', 'Заголовок', 'A',"
            " '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00')"
        )
        if upto >= 2:
            conn.execute(
                "INSERT INTO chats (id, type, timezone, created_at, updated_at) VALUES"
                " (-1001234567890, 'supergroup', 'Asia/Dushanbe', 'x', 'x')"
            )
    async with Database(path) as db:
        assert await db.fetchval("PRAGMA user_version") == latest_version()
        assert await db.fetchval("SELECT version_num FROM alembic_version") == revisions()[-1]
        assert await db.fetchval("SELECT title FROM articles WHERE key = 'k'") == "Заголовок"
        title = await db.fetchval("SELECT title FROM feeds")
        if upto < 7:  # 0007 ran on the rows stored before it
            assert len(title) == 200 and title.endswith("…")
        else:
            assert title == "T" * 300
        if upto >= 2:
            chat = await db.fetchone("SELECT * FROM chats")
            assert chat["id"] == -1001234567890 and chat["digest_format"] == "compact"
    async with Database(path) as db:  # a second start changes nothing
        assert await db.fetchval("SELECT count(*) FROM articles") == 1


async def test_messages_queued_before_0011_keep_their_text_and_go_out(tmp_path):
    """0011 copies the outbox (SQLite's ALTER by copy): pending and sent rows stay as they were,
    their own text included, and the pending ones are still due in order."""
    path = tmp_path / "at-0010.sqlite3"
    alembic_upto(path, "0010")
    stamp = "2025-06-01T06:00:00Z"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
            " VALUES (7, 'private', 'UTC', ?, ?)",
            (stamp, stamp),
        )
        conn.execute(
            "INSERT INTO digests (id, chat_id, slot_at, kind, outcome, created_at)"
            " VALUES (1, 7, ?, 'scheduled', 'queued', ?)",
            (stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO outbox (id, chat_id, digest_id, part, text, status, message_id,"
            " not_before, created_at) VALUES (?, 7, 1, ?, ?, ?, ?, ?, ?)",
            [(5, 0, "part one", "sent", 900, stamp, stamp),
             (6, 1, "part two", "pending", None, stamp, stamp),
             (9, 2, "part three", "pending", None, stamp, stamp)],
        )  # fmt: skip
    async with Database(path) as db:
        assert await db.fetchval("SELECT version_num FROM alembic_version") == revisions()[-1]
        rows = await db.fetchall("SELECT id, part, text, text_key, status FROM outbox ORDER BY id")
        assert [tuple(r) for r in rows] == [
            (5, 0, "part one", None, "sent"),
            (6, 1, "part two", None, "pending"),
            (9, 2, "part three", None, "pending"),
        ]
        now = datetime(2025, 6, 1, 7, tzinfo=UTC)
        [head] = await OutboxRepo(db).due_heads(now, 10)
        assert (head.id, head.text) == (6, "part two")
        with pytest.raises(ConflictError):  # a row has its own text or a shared one, not none
            await db.execute("UPDATE outbox SET text = NULL WHERE id = 9")


@pytest.mark.parametrize("how", ["user_version", "alembic_version"])
async def test_a_newer_schema_is_refused_untouched(tmp_path, how):
    path = tmp_path / "new.sqlite3"
    async with Database(path):
        pass
    with sqlite3.connect(path) as conn:
        if how == "user_version":
            conn.execute("PRAGMA user_version = 999")
        else:
            conn.execute("UPDATE alembic_version SET version_num = '0999'")
    before = path.read_bytes()
    with pytest.raises(NewerDatabaseError, match=r"999.*upgrade diplodigest"):
        async with Database(path):
            pass
    assert path.read_bytes() == before


async def test_the_same_history_runs_on_postgresql(postgres_cluster, tmp_path):
    url = postgres_cluster.create_database("migrations").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    assert await upgrade_url(url) == latest_version()
    assert await upgrade_url(url) == latest_version()  # again: nothing to do
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            chat_id = await conn.run_sync(
                lambda c: {col["name"]: col for col in sa.inspect(c).get_columns("chats")}["id"]
            )
            mode = await conn.scalar(sa.text("SELECT value FROM access_settings"))
            await conn.execute(
                sa.text(
                    "INSERT INTO chats (id, type, timezone, created_at, updated_at)"
                    " VALUES (-1001234567890, 'channel', 'UTC', 'x', 'x')"
                )
            )
            await conn.execute(
                sa.text("INSERT INTO article_search (rowid, terms) VALUES (1, 'права человек снг')")
            )
            found = await conn.scalar(
                sa.text(
                    "SELECT rowid FROM article_search WHERE document @@ to_tsquery('simple', 'снг')"
                )
            )
    finally:
        await engine.dispose()
    build_legacy(tmp_path / "s.sqlite3", upto=len(legacy_scripts()))
    added = set().union(*ADDED_SINCE_THE_SQL_FILES.values())
    assert names - {"alembic_version"} == set(sqlite_schema(tmp_path / "s.sqlite3")) | added
    assert isinstance(chat_id["type"], sa.BigInteger)  # Telegram ids pass 2^31
    assert mode == "open" and found == 1
