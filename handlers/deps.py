"""The admin area's dependencies as one typed object (the composition root builds it once).

`build_dispatcher(..., admin=AdminDeps(...))` puts each field into the Dispatcher's workflow data
under its own name, where admin handlers declare it as a typed keyword argument. A Dispatcher
built without it (a subscriber-only test harness) has no admin dependencies at all, so a missing
one is a build error here, not a `None` discovered by a handler.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from bot.admin.feeds import AddFeed
from bot.delivery.broadcast import Broadcaster
from bot.ingest.poller import Ingestor
from storage.port import AccessStore, AuditStore, DraftStore, RoutingStore, StatsStore


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminDeps:
    access: AccessStore
    audit: AuditStore
    routing: RoutingStore
    stats: StatsStore
    drafts: DraftStore
    add_feed: AddFeed
    broadcaster: Broadcaster
    ingestor: Ingestor  # "poll now" on a feed's row polls it here and then

    def workflow_data(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
