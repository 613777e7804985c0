"""`python -m bot backup PATH` as an operator runs it: a child process copying a real SQLite file
while another process keeps writing to it; the copy is one committed state, verified, counted,
restorable, and an existing file is never overwritten.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.support.cli_env import CliEnv, cli, make_env

pytestmark = pytest.mark.timeout(180)

BATCH = 200  # articles per writer transaction: a consistent copy holds whole batches only

# Another process writing as the bot does (WAL, one transaction per batch), until stdin closes.
WRITER = f"""
import sqlite3, sys, threading
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA busy_timeout=5000")
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
n = 0
while not stop.is_set():
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO articles (key, url, title, summary, source, published_at, fetched_at)"
        " VALUES (?, ?, ?, ?, 'w', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [(f"k{{n + i}}", f"https://w.example/{{n + i}}", f"t{{n + i}}", "x" * 1500)
         for i in range({BATCH})],
    )
    conn.execute("COMMIT")
    n += {BATCH}
"""


def count(db: Path, table: str = "articles") -> int:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def eventually(predicate, what: str, timeout: float = 60) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def env(tmp_path) -> CliEnv:
    env = make_env(tmp_path)
    created = await cli(env, "feeds", "add", "http://127.0.0.1:9/a.xml", "--title", "A", "--no-check")
    assert created.code == 0, created.err  # the schema now exists, with one feed
    return env


async def test_backup_while_another_process_writes_is_one_consistent_verified_copy(env, tmp_path):
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(env.db_path), stdin=asyncio.subprocess.PIPE
    )
    target = tmp_path / "backups" / "copy.sqlite3"
    target.parent.mkdir()
    try:
        await eventually(lambda: count(env.db_path) >= 20 * BATCH, "the writer to get going")
        before = count(env.db_path)
        result = await cli(env, "backup", str(target), timeout=120)
        after_backup = count(env.db_path)
        # the writer was not held up by the backup: it keeps committing afterwards
        await eventually(lambda: count(env.db_path) > after_backup, "the writer to go on")
        assert writer.returncode is None, "the writer died"
    finally:
        writer.stdin.close()
        await writer.wait()
    assert result.code == 0, result.err
    assert result.err == ""
    copied = count(target)
    assert before <= copied <= after_backup
    assert copied % BATCH == 0, "the copy holds half of a transaction"
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert not list(target.parent.glob(".*partial*")), "the temporary copy was left behind"
    [line] = result.lines
    size = target.stat().st_size
    assert line == (
        f"backup written to {target}: {size} bytes, schema version {_version(env.db_path)}, "
        f"integrity ok; 0 chats, 1 feeds, {copied} articles"
    )


def _version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


async def test_restore_is_copying_the_file_back(env, tmp_path):
    target = tmp_path / "copy.sqlite3"
    assert (await cli(env, "backup", str(target))).code == 0
    assert (await cli(env, "feeds", "add", "http://127.0.0.1:9/b.xml", "--no-check")).code == 0
    assert len((await cli(env, "feeds", "list")).lines) == 2

    # restore as the README says: the bot stopped, the file copied back, the sidecars gone
    for sidecar in (Path(f"{env.db_path}-wal"), Path(f"{env.db_path}-shm")):
        sidecar.unlink(missing_ok=True)
    shutil.copyfile(target, env.db_path)
    listed = await cli(env, "feeds", "list")
    assert listed.code == 0, listed.err
    assert len(listed.lines) == 1 and "127.0.0.1:9/a.xml" in listed.lines[0]


async def test_an_existing_file_is_never_overwritten(env, tmp_path):
    target = tmp_path / "old-backup.sqlite3"
    target.write_bytes(b"an older backup someone may still need")
    digest = sha(target)
    result = await cli(env, "backup", str(target))
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        f"backup error: {target} already exists; a backup never overwrites a file: "
        "choose a new name or move the old one away"
    ]
    assert sha(target) == digest


async def test_the_database_itself_is_refused_as_a_target(env):
    digest = sha(env.db_path)
    result = await cli(env, "backup", str(env.db_path))
    assert result.code == 1
    assert len(result.err.splitlines()) == 1 and "already exists" in result.err
    assert sha(env.db_path) == digest


async def test_no_database_yet_is_one_line_and_creates_nothing(tmp_path):
    env = make_env(tmp_path)
    result = await cli(env, "backup", str(tmp_path / "copy.sqlite3"))
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        f"backup error: no database at {env.db_path}: check DATABASE_PATH"
    ]
    assert not env.db_path.exists()
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_a_missing_target_directory_is_one_line(env, tmp_path):
    target = tmp_path / "nowhere" / "copy.sqlite3"
    result = await cli(env, "backup", str(target))
    assert result.code == 1
    assert result.err.splitlines() == [
        f"backup error: directory {target.parent} does not exist: create it first"
    ]


async def test_a_file_that_is_not_a_database_is_one_line_and_left_untouched(tmp_path):
    env = make_env(tmp_path)
    env.db_path.parent.mkdir(parents=True)
    env.db_path.write_bytes(b"these are not the pages you are looking for\n" * 200)
    digest = sha(env.db_path)
    result = await cli(env, "backup", str(tmp_path / "copy.sqlite3"))
    assert result.code == 1
    [line] = result.err.splitlines()
    assert re.fullmatch(
        rf"backup error: cannot read {re.escape(str(env.db_path))}: .+; "
        r"is DATABASE_PATH a diplodigest database\?",
        line,
    ), line
    assert sha(env.db_path) == digest
    assert not (tmp_path / "copy.sqlite3").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
