"""One `run` per database: an exclusive lock on `<database>.lock`, held by the operating system.

Two bots on one database would both plan and send every digest. The lock is an `fcntl.flock`
on an open file, so the kernel drops it when the holder exits in any way (kill -9 included):
there is never a stale lock to clean up by hand. The holder's pid is written into the file only
so that the refusal can name it; the file itself is never deleted (deleting it while another
process waits on it would let two processes each lock a different inode).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AlreadyRunningError(RuntimeError):
    """Another process holds the database's run lock."""


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def single_instance(database: Path) -> Iterator[Path]:
    """Hold the run lock of `database` for the duration of the block; yields the lock file."""
    path = lock_path_for(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise AlreadyRunningError(
                f"diplodigest is already running on {database} ({who}, lock file {path}); "
                "stop that one first, or give this one its own DATABASE_PATH"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
