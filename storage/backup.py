"""A consistent copy of the live database, taken while the bot keeps running.

SQLite's online backup API copies the database page by page inside one read transaction, so
the copy is a snapshot of one committed state even while the bot writes (WAL: readers never
block the writer). The copy is written under a temporary name next to the target, checked
with `PRAGMA integrity_check`, switched to the rollback journal (one self-contained file, no
-wal/-shm sidecars to forget) and only then linked to its final name; a failed or interrupted
backup never leaves a half-written file under the name the operator asked for, and an
existing file is never overwritten (an old backup is exactly what someone may need later).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

COUNTED = ("chats", "feeds", "articles")


class BackupError(RuntimeError):
    """The backup could not be made; the message is one line saying what to check."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    schema_version: int
    counts: dict[str, int]

    def line(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        return (
            f"backup written to {self.path}: {self.size} bytes, schema version "
            f"{self.schema_version}, integrity ok; {counts}"
        )


def backup_database(source: Path, target: Path) -> BackupReport:
    """Copy `source` to the new file `target`; raises BackupError with a one-line reason."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"no database at {source}: check DATABASE_PATH")
    if target.exists() or target.is_symlink():
        raise BackupError(
            f"{target} already exists; a backup never overwrites a file: "
            "choose a new name or move the old one away"
        )
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist: create it first")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial)
        report = _verify(partial)
        try:
            os.link(partial, target)  # fails if the name appeared meanwhile: still no overwrite
        except FileExistsError:
            raise BackupError(
                f"{target} appeared while backing up; nothing was overwritten"
            ) from None
        except OSError as exc:
            raise BackupError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupReport(target, target.stat().st_size, report[0], report[1])


def _copy(source: Path, partial: Path) -> None:
    try:
        # read-only: a backup never creates, migrates or changes the database it copies
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}; check DATABASE_PATH") from None
    try:
        try:
            dst = sqlite3.connect(partial)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write in {partial.parent}: {exc}") from None
        try:
            src.execute("PRAGMA busy_timeout=5000")
            # pages=-1: the whole database in one step, i.e. one read transaction, one snapshot
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"cannot read {source}: {exc}; is DATABASE_PATH a diplodigest database?"
            ) from None
        except OSError as exc:
            raise BackupError(f"cannot write {partial.parent}: {exc.strerror}") from None
        finally:
            dst.close()
    finally:
        src.close()


def _verify(path: Path) -> tuple[int, dict[str, int]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(
                f"the copy failed PRAGMA integrity_check ({problems[0]}); "
                "the database itself may be damaged, nothing was written"
            )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
        except sqlite3.OperationalError:
            raise BackupError(
                "the copy has no chats/feeds/articles tables; "
                "is DATABASE_PATH a diplodigest database?"
            ) from None
        return version, counts
    finally:
        conn.close()
