"""Subscribers: chats and their schedules, digests planned per slot, the outbox, article search.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID, flag, json_list, when

revision = "0002"
down_revision = "0001"


def _chat_fk() -> sa.Column:
    return sa.Column(
        "chat_id",
        ID,
        sa.ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", ID, primary_key=True, autoincrement=False),  # the Telegram chat id
        sa.Column("type", sa.Text, nullable=False),  # private | group | supergroup | channel
        sa.Column("title", sa.Text),
        sa.Column("username", sa.Text),
        sa.Column("language", sa.Text, nullable=False, server_default=sa.text("'ru'")),
        sa.Column("timezone", sa.Text, nullable=False),  # IANA zone or fixed offset 'UTC+05:00'
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'active'")),
        sa.Column("mode", sa.Text, nullable=False, server_default=sa.text("'daily'")),
        json_list("times", '["09:00"]'),  # local "HH:MM" times
        sa.Column("weekday", ID),  # 0 = Monday, for weekly
        json_list("topics"),
        json_list("countries"),  # empty = any
        # articles with id > cursor are new for this chat
        sa.Column("cursor_article_id", ID, nullable=False, server_default=sa.text("0")),
        when("last_slot_at"),  # UTC start of the last digest slot handled
        when("next_slot_at"),  # UTC of the next slot (cache; NULL = recompute)
        flag("onboarded", 0),
        sa.Column("added_by", ID),  # the user who subscribed a group/channel
        when("created_at", nullable=False),
        when("updated_at", nullable=False),
    )
    op.create_index("chats_status", "chats", ["status", "mode"])
    op.create_index("chats_due", "chats", ["status", "next_slot_at"])
    op.create_table(
        "digests",
        sa.Column("id", ID, primary_key=True),
        _chat_fk(),
        when("slot_at", nullable=False),  # UTC time of the scheduled slot (or of the request)
        sa.Column("kind", sa.Text, nullable=False),  # scheduled | instant | manual | broadcast
        sa.Column("article_count", ID, nullable=False, server_default=sa.text("0")),
        # queued | empty | skipped (catch-up older than 24 h)
        sa.Column("outcome", sa.Text, nullable=False, server_default=sa.text("'queued'")),
        when("created_at", nullable=False),
        sa.UniqueConstraint("chat_id", "kind", "slot_at"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True),
        _chat_fk(),
        sa.Column("digest_id", ID, sa.ForeignKey("digests.id", ondelete="CASCADE")),
        sa.Column("part", ID, nullable=False, server_default=sa.text("0")),
        sa.Column("thread_id", ID),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("preview_url", sa.Text),  # link preview for the top story; NULL = previews off
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", ID, nullable=False, server_default=sa.text("0")),
        when("not_before", nullable=False),  # UTC; back-off and retry_after push this forward
        sa.Column("message_id", ID),
        sa.Column("error", sa.Text),
        when("created_at", nullable=False),
        when("sent_at"),
        sa.UniqueConstraint("digest_id", "part"),
    )
    op.create_index("outbox_pending", "outbox", ["status", "not_before"])
    op.create_index("outbox_chat", "outbox", ["chat_id", "status"])
    # The lemmas of each article for /search; the row id is the article's id.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "terms, tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        op.create_table(
            "article_search",
            sa.Column("rowid", ID, primary_key=True, autoincrement=False),
            sa.Column("terms", sa.Text, nullable=False),
            sa.Column(
                "document",
                sa.dialects.postgresql.TSVECTOR,
                sa.Computed("to_tsvector('simple', terms)", persisted=True),
            ),
        )
        op.create_index(
            "article_search_document", "article_search", ["document"], postgresql_using="gin"
        )
