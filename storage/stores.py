"""The one implementation of the storage port (storage/port.py), for either engine.

Both facades (storage/db.py, storage/postgres.py) answer the same SQL text, so each repository
here serves both; `stores_over` is where a connected facade becomes a `Storage`.
"""

from __future__ import annotations

from typing import Any

from storage.access import AccessRepo
from storage.alertlog import AlertLog, DraftRepo
from storage.articles import ArticleRepo
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepo
from storage.chat_rules import RuleRepo
from storage.chats import ChatRepo
from storage.conversations import DialogRepo
from storage.digest_articles import DigestArticles
from storage.engines import AnyDatabase
from storage.feeds import FeedRepo
from storage.monitoring import MonitoringRepo
from storage.outbox import OutboxRepo
from storage.pacing import PacingRepo
from storage.port import Storage
from storage.routing import ChatRouting
from storage.stats import StatsRepo
from storage.webhook_updates import UpdateLedger

# The Protocol each store satisfies, by the bundle's attribute (tests/storage/test_port.py).
IMPLEMENTATIONS: dict[str, type[Any]] = {
    "feeds": FeedRepo,
    "articles": ArticleRepo,
    "digest_articles": DigestArticles,
    "chats": ChatRepo,
    "outbox": OutboxRepo,
    "rules": RuleRepo,
    "routing": ChatRouting,
    "access": AccessRepo,
    "audit": AuditLog,
    "alerts": AlertLog,
    "drafts": DraftRepo,
    "broadcasts": BroadcastRepo,
    "dialogs": DialogRepo,
    "pacing": PacingRepo,
    "stats": StatsRepo,
    "monitoring": MonitoringRepo,
    "updates": UpdateLedger,
}


def stores_over(db: AnyDatabase) -> Storage:
    """Every store on one connected facade (storage.engines.open_database's, either engine)."""
    return Storage(**{name: cls(db) for name, cls in IMPLEMENTATIONS.items()})
