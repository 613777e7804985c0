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


class FeedExistsError(ConflictError, ValueError):
    """A feed with this URL is already stored."""


class ChatNotFoundError(StorageError, LookupError):
    """The chat is not subscribed (never was, or said /stop)."""


class TooManyRulesError(ConflictError, RuntimeError):
    """The chat already has MAX_RULES rules."""


class DatabaseUnavailable(StorageError):
    """The database did not answer a trivial query (closed, locked for long, I/O error)."""
