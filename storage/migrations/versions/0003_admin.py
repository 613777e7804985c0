"""Admin: access mode, invites, grants, requests, bans, the audit log, alerts, forum routes,
short-lived admin drafts and broadcasts.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID, when

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    settings = op.create_table(
        "access_settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.bulk_insert(settings, [{"key": "mode", "value": "open"}])
    op.create_table(
        "invites",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("max_uses", ID, nullable=False, server_default=sa.text("1")),
        sa.Column("uses", ID, nullable=False, server_default=sa.text("0")),
        sa.Column("created_by", ID, nullable=False),
        when("created_at", nullable=False),
        sa.Column("revoked", ID, nullable=False, server_default=sa.text("0")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "access_grants",
        sa.Column("chat_id", ID, primary_key=True, autoincrement=False),
        sa.Column("via", sa.Text, nullable=False),
        sa.Column("granted_by", ID),
        when("granted_at", nullable=False),
    )
    op.create_table(
        "access_requests",
        sa.Column("chat_id", ID, primary_key=True, autoincrement=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("language", sa.Text, nullable=False, server_default=sa.text("'ru'")),
        # pending | approved | rejected
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        when("requested_at", nullable=False),
        sa.Column("decided_by", ID),
        when("decided_at"),
    )
    op.create_index("access_requests_status", "access_requests", ["status", "requested_at"])
    op.create_table(
        "bans",
        sa.Column("subject_id", ID, primary_key=True, autoincrement=False),
        sa.Column("reason", sa.Text),
        sa.Column("banned_by", ID, nullable=False),
        when("banned_at", nullable=False),
        sa.Column("prev_status", sa.Text),  # the chat's status before the ban (unban restores it)
    )
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True),
        when("at", nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("details", sa.Text),
    )
    op.create_index("audit_log_at", "audit_log", ["at"])
    op.create_table(
        "alerts",
        sa.Column("key", sa.Text, primary_key=True),
        when("last_sent_at", nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "chat_routes",
        sa.Column(
            "chat_id",
            ID,
            sa.ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
            nullable=False,
        ),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("thread_id", ID, nullable=False),
        sa.Column("set_by", ID),
        when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "topic"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "admin_drafts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_by", ID, nullable=False),
        when("created_at", nullable=False),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_by", ID, nullable=False),
        when("created_at", nullable=False),
        sa.Column("recipients", ID, nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "broadcast_digests",
        sa.Column(
            "broadcast_id", ID, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("digest_id", ID, sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", "digest_id"),
        sqlite_with_rowid=False,
    )
