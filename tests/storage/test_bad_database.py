"""A file at DATABASE_PATH that is no database: one line saying what to check, exit 1, and
the file left byte for byte as it was (real `python -m bot` processes)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli_env import cli, make_env


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def truncated_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 2000)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header is SQLite's; the pages are gone


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("random bytes", "is not a SQLite database"),
        ("text file", "is not a SQLite database"),
        ("truncated database", "is damaged"),
    ],
)
async def test_a_file_that_is_no_database_gets_one_line_and_stays_untouched(
    tmp_path, kind, expected
):
    env = make_env(tmp_path)
    path = env.db_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "random bytes":
        path.write_bytes(os.urandom(8192))
    elif kind == "text file":
        path.write_text("DATABASE_PATH=/var/lib/diplodigest/bot.sqlite3\n", encoding="utf-8")
    else:
        truncated_database(path)
    before = digest(path)
    result = await cli(env, "feeds", "list")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("database error:"), result.err
    assert expected in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.err + result.out
    assert digest(path) == before


async def test_a_directory_at_database_path_gets_one_line(tmp_path):
    env = make_env(tmp_path)
    env.db_path.mkdir(parents=True)
    result = await cli(env, "feeds", "list")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        f"database error: {env.db_path} is a directory; set DATABASE_PATH to a file"
    ]


async def test_an_empty_file_becomes_a_database(tmp_path):
    env = make_env(tmp_path)
    env.db_path.parent.mkdir(parents=True)
    env.db_path.touch()  # e.g. made by a deploy script: SQLite turns it into a database
    result = await cli(env, "feeds", "list")
    assert result.code == 0, result.err


@pytest.mark.parametrize("where", ["under a file", "through a dangling link"])
async def test_a_path_that_cannot_be_created_gets_one_line(tmp_path, where):
    """A DATABASE_PATH whose folder cannot be made (a file stands where a folder should), or
    that SQLite cannot open (a link to a folder that is not there): one line, exit 1."""
    if where == "under a file":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("x", encoding="utf-8")
        path = blocker / "bot.sqlite3"
    else:
        path = tmp_path / "link.sqlite3"
        path.symlink_to(tmp_path / "missing" / "bot.sqlite3")
    env = make_env(tmp_path, DATABASE_PATH=str(path))
    result = await cli(env, "feeds", "list")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("database error: cannot open or create"), result.err
    assert str(env.db_path) in lines[0] and "DATABASE_PATH" in lines[0]
    assert "Traceback" not in result.err + result.out
