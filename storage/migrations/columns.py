"""Column shapes the migrations share, the same on SQLite and PostgreSQL.

Frozen with the history: a revision that needs another shape writes it out itself rather than
changing one here. Integers are 64-bit on PostgreSQL (Telegram chat ids pass 2^31) and plain
INTEGER on SQLite, where an INTEGER primary key is the rowid. Times are ISO-8601 UTC text written
by the storage layer (the same text sorts in time order on both engines); JSON lists are text.
"""

import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def flag(name: str, default: int) -> sa.Column:
    return sa.Column(name, ID, nullable=False, server_default=sa.text(str(default)))


def when(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=nullable)


def text(name: str, default: str = "") -> sa.Column:
    return sa.Column(name, sa.Text, nullable=False, server_default=sa.text(f"'{default}'"))


def json_list(name: str, default: str = "[]") -> sa.Column:
    return sa.Column(name, sa.Text, nullable=False, server_default=sa.text(f"'{default}'"))
