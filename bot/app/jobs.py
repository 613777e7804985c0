"""APScheduler wiring: minute ticks that ask the database what is due (restart-safe by design).

No job per feed or per chat is registered: a feed's `next_poll_at` and a chat's `last_slot_at`
live in the database, so a restart (or downtime) loses nothing and `replace_existing` games are moot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[object]]


def _guarded(name: str, tick: Tick) -> Tick:
    async def run() -> None:
        try:
            await tick()
        except Exception:  # a failing tick is logged; the next minute tries again
            log.exception("scheduled job %s failed", name)
        except asyncio.CancelledError:  # the process stops mid-tick: nothing to report, as
            # every tick is resumable (what it had not committed, the next start does again)
            log.info("scheduled job %s stopped: shutting down", name)

    run.__name__ = name
    return run


def build_scheduler(
    *,
    ticks: dict[str, Tick],
    daily: dict[str, Tick] | None = None,
    now: datetime,
    tick_seconds: int = 60,
) -> AsyncIOScheduler:
    """Every tick runs each `tick_seconds` (first run now); `daily` jobs once a day."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, tick in ticks.items():
        scheduler.add_job(
            _guarded(name, tick),
            "interval",
            seconds=tick_seconds,
            id=name,
            name=name,
            next_run_time=now,
            max_instances=1,  # a long poll pass is not started twice
            coalesce=True,
            # a late tick still runs (once, coalesced): on a busy event loop a grace of one tick
            # made APScheduler skip tick after tick ("missed by") and feeds went unpolled
            misfire_grace_time=None,
        )
    for name, job in (daily or {}).items():
        scheduler.add_job(
            _guarded(name, job),
            "interval",
            days=1,
            id=name,
            name=name,
            next_run_time=now + timedelta(minutes=5),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # APScheduler's default (1 s) skips a purge a busy loop delays
        )
    return scheduler
