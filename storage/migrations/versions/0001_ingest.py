"""Ingest: feeds, articles stored once, the entry keys each feed has shown, the poll log.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID, flag, json_list, text, when

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", ID, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text),
        sa.Column("custom_title", sa.Text),
        sa.Column("site_url", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.Text),
        flag("active", 1),
        flag("paused", 0),
        sa.Column("error_count", ID, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_kind", sa.Text),
        when("last_error_at"),
        when("last_success_at"),
        when("last_polled_at"),
        when("next_poll_at"),
        flag("initial_done", 0),
        when("created_at", nullable=False),
    )
    op.create_table(
        "articles",
        sa.Column("id", ID, primary_key=True),
        sa.Column("feed_id", ID, sa.ForeignKey("feeds.id", ondelete="SET NULL")),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        text("summary"),
        text("lead"),
        sa.Column("image_url", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        when("published_at", nullable=False),
        when("fetched_at", nullable=False),
        flag("backfill", 0),
        json_list("topics"),
        json_list("countries"),
        sa.Column("matches", sa.Text, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("cluster_id", ID),
        sa.Column("signature", sa.LargeBinary),
    )
    op.create_index(
        "articles_url",
        "articles",
        ["url"],
        unique=True,
        sqlite_where=sa.text("url IS NOT NULL"),
        postgresql_where=sa.text("url IS NOT NULL"),
    )
    op.create_index("articles_published", "articles", ["published_at"])
    op.create_index("articles_fetched", "articles", ["fetched_at"])
    op.create_index("articles_cluster", "articles", ["cluster_id"])
    op.create_index("articles_feed", "articles", ["feed_id", "published_at"])
    op.create_table(
        "feed_entries",
        sa.Column("feed_id", ID, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("article_id", ID, sa.ForeignKey("articles.id", ondelete="SET NULL")),
        when("first_seen_at", nullable=False),
        sa.PrimaryKeyConstraint("feed_id", "key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "poll_log",
        sa.Column("id", ID, primary_key=True),
        sa.Column("feed_id", ID, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        when("polled_at", nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("new_count", ID, nullable=False, server_default=sa.text("0")),
        sa.Column("known_count", ID, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text),
    )
    op.create_index("poll_log_feed", "poll_log", ["feed_id", "polled_at"])
