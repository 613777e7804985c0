"""How times are stored: ISO 8601 UTC text with a `Z`, which sorts correctly as text."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_db(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage; use aware UTC")
    return _utc_text(value)


@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    """A big tick writes the same few instants (the slot, the next one) for every chat."""
    return value.astimezone(UTC).strftime(_FORMAT)


def from_db(value: str | None) -> datetime | None:
    if value is None:
        return None
    if len(value) == 20 and value[10] == "T" and value[19] == "Z":
        # what to_db writes: fromisoformat reads it ~10× faster than strptime (a big digest
        # tick decodes a few times per chat); anything else still meets strptime's strictness
        return datetime.fromisoformat(value)
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)
