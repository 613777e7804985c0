"""Stories across languages (bot.understand.crosslang): each article's language ("ru", "en", or
the feed's declared language) and its language-independent evidence (countries, topics, numbers,
dates and transliterated names as space-separated `kind:value` items), so that a Russian and an
English telling of one story can join one cluster. Rows stored before stay NULL: they keep their
clusters and join no other language.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("articles", sa.Column("language", sa.Text))
    op.add_column("articles", sa.Column("evidence", sa.Text))
