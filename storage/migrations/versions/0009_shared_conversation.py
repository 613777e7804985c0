"""State that lived in one process's memory, so that any process sharing the database can answer
the next update and a restart strands nobody:

- `fsm_states`: a typed-input dialog (aiogram's FSM: "type a time", "type a zone") per aiogram
  storage key — bot, chat, user, forum thread (0: none), business connection ('': none) and
  destiny — with its data as JSON text; a row untouched for a day counts as no dialog.
- `webhook_updates`: the update ids a webhook process took, per bot: a row inserted first decides
  who handles an update Telegram delivered twice, `handled_at` says it is done; rows are kept for
  the two days a redelivery can come within (Telegram keeps an update for 24 hours).

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID, text, when

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    key = ("bot_id", "chat_id", "user_id", "thread_id", "business_connection_id", "destiny")
    op.create_table(
        "fsm_states",
        sa.Column("bot_id", ID, nullable=False, autoincrement=False),
        sa.Column("chat_id", ID, nullable=False, autoincrement=False),
        sa.Column("user_id", ID, nullable=False, autoincrement=False),
        sa.Column("thread_id", ID, nullable=False, server_default=sa.text("0")),
        text("business_connection_id"),
        text("destiny", "default"),
        sa.Column("state", sa.Text),
        text("data", "{}"),
        when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint(*key),
        sqlite_with_rowid=False,
    )
    op.create_index("fsm_states_updated", "fsm_states", ["updated_at"])
    op.create_table(
        "webhook_updates",
        sa.Column("bot_id", ID, nullable=False, autoincrement=False),
        sa.Column("update_id", ID, nullable=False, autoincrement=False),
        when("received_at", nullable=False),
        when("handled_at"),
        sa.PrimaryKeyConstraint("bot_id", "update_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("webhook_updates_received", "webhook_updates", ["bot_id", "received_at"])
