"""A useful first minute: "all topics" means topical articles; "everything from my sources" is
its own choice. A chat's first digest covers the last 24 hours (backfill included), so the first
digest actually sent is recorded.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import flag, when

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("chats", flag("all_sources", 0))  # 1: untagged articles too
    op.add_column("chats", when("first_digest_at"))  # UTC; NULL: no digest was ever sent
    # Chats that already received a digest are not new subscribers.
    op.execute(
        sa.text(
            "UPDATE chats SET first_digest_at = (SELECT MIN(created_at) FROM digests"
            " WHERE digests.chat_id = chats.id AND digests.outcome = 'queued')"
        )
    )
