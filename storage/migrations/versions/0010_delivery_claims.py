"""Several processes on one database (PostgreSQL): who is sending a message, and the shared pace.

- `outbox.claimed_by` / `outbox.claimed_until`: the process that took a pending message to send
  it, and until when its lease runs. Another process leaves a claimed message alone; when the
  lease expires (its taker was killed) the message is due again, so at most the message in
  flight at the kill repeats. NULL: nobody holds it.
- `delivery_pacing`: the send limits every process shares — `global` (the next free slot of
  DELIVERY_RATE), `pause` (a bot-wide flood wait) and `chat:<id>` (when that chat may get its
  next message) — as epoch seconds. Rows of chats whose time is long past are pruned.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_by", sa.Text))
    op.add_column("outbox", sa.Column("claimed_until", sa.Text))
    op.create_table(
        "delivery_pacing",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
