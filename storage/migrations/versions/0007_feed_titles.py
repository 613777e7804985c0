"""Feed titles are capped at 200 characters when stored (bot.domain.cap_title); rows stored before
the cap get the same cut, so a feed that once sent a 5,000-character <title> no longer makes
/sources, /feeds or /stats too long for a Telegram message. Articles carry the feed's name as
`source`; theirs are cut the same way.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    for table, column in (("feeds", "title"), ("feeds", "custom_title"), ("articles", "source")):
        op.execute(
            sa.text(
                f"UPDATE {table} SET {column} = rtrim(substr({column}, 1, 199)) || :ellipsis"
                f" WHERE length({column}) > 200"
            ).bindparams(ellipsis="…")
        )
