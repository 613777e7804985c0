"""Databases as releases before Alembic left them: the SQL files they applied, kept as fixtures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "schema_before_alembic"


def legacy_scripts() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of each file, numbered like the user_version it left."""
    return [
        (int(p.name[:4]), p.name, p.read_text(encoding="utf-8"))
        for p in sorted(LEGACY.glob("*.sql"))
    ]


def build_legacy(path: Path, upto: int) -> None:
    """A SQLite file at schema version `upto`, built the way those releases built it."""
    with sqlite3.connect(path) as conn:
        for number, _, sql in legacy_scripts()[:upto]:
            conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {number}")
