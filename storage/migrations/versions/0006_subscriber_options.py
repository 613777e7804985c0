"""Quiet hours for instant delivery, sources a chat muted, and the digest format. A rich digest is
one outbox row (format 'rich') carrying its compact parts as the fallback: if Telegram refuses the
rich message, the row becomes 'replaced' and the parts are queued.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("chats", sa.Column("quiet_from", sa.Text))  # local "HH:MM"; NULL: none
    op.add_column("chats", sa.Column("quiet_to", sa.Text))  # may be earlier: across midnight
    op.create_table(
        "chat_muted_feeds",
        sa.Column(
            "chat_id",
            ID,
            sa.ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
            nullable=False,
        ),
        sa.Column("feed_id", ID, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "feed_id"),
        sqlite_with_rowid=False,
    )
    op.add_column(
        "chats",
        sa.Column("digest_format", sa.Text, nullable=False, server_default=sa.text("'compact'")),
    )  # compact | rich
    op.add_column(
        "outbox", sa.Column("format", sa.Text, nullable=False, server_default=sa.text("'html'"))
    )  # html | rich
    op.add_column("outbox", sa.Column("fallback", sa.Text))  # JSON list of Telegram HTML parts
