"""The storage seam's own exceptions: callers catch these, never a database driver's errors."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error the storage seam raises on purpose."""


class ConflictError(StorageError):
    """A write broke a rule the data keeps: a duplicate, or a row that needs one that is absent
    (e.g. a forum route or a rule for a chat that is not subscribed)."""


class UnusableDatabaseError(RuntimeError):
    """The configured database cannot be used: not SQLite, damaged, a directory, or a
    PostgreSQL server that cannot be reached. The message is one line saying what to check."""
