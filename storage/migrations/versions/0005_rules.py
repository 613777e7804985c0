"""Personal keyword rules (/rule): each adds its matches to the chat's digests in a section of its
own. `spec` is the parsed rule (lemma sequences, exclusions, countries) as JSON, so planning never
re-runs the morphology; `text` is its canonical form. A rule shown with Save / Cancel buttons is a
draft: the button carries only the draft's id (a restart strands nobody; drafts older than a day
are dropped when new ones are written).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import ID, when

revision = "0005"
down_revision = "0004"


def _rule_table(name: str, *extra: sa.Constraint) -> None:
    op.create_table(
        name,
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "chat_id",
            ID,
            sa.ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_by", ID),
        when("created_at", nullable=False),
        *extra,
    )


def upgrade() -> None:
    _rule_table("chat_rules", sa.UniqueConstraint("chat_id", "text"))
    op.create_index("chat_rules_chat", "chat_rules", ["chat_id", "id"])
    _rule_table("rule_drafts")
