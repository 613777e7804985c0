"""Alerts to admins (or ADMIN_CHAT_ID): feeds deactivated or silent, delivery failures, mass blocks,
a database that cannot record sends.

`Alerts.check()` is a scheduler tick (every ~10 minutes); each alert has a key and is sent again
only after its quiet period (the `alerts` table), so a standing problem is not repeated each tick.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.admin.health import BASELINE_DAYS, FeedHealth, assess, silence_warning
from bot.i18n.catalog import t
from storage.port import AlertStore, FeedStore, StatsStore

log = logging.getLogger(__name__)

# Sends one text to one chat; raises Undelivered when that chat cannot get it (the composition
# root wraps the Bot API: this module knows nothing of Telegram).
SendText = Callable[[int, str], Awaitable[object]]


class Undelivered(Exception):
    """An alert could not reach one recipient (they blocked the bot, the chat is gone …)."""


FEED_QUIET = timedelta(hours=24)
DELIVERY_QUIET = timedelta(hours=3)
WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    text: str
    quiet: timedelta


def feed_alerts(healths: Iterable[FeedHealth], lang: str) -> list[Alert]:
    out = []
    for h in healths:
        if h.state == "inactive":
            text = t(
                lang,
                "admin.alert_feed_inactive",
                name=html.escape(h.feed.display_name),
                error=html.escape((h.feed.last_error or "")[:200]),
            )
            out.append(Alert(f"feed:{h.feed.id}:inactive", text, FEED_QUIET))
        elif h.state == "silent":
            out.append(
                Alert(f"feed:{h.feed.id}:silent", "⚠️ " + silence_warning(h, lang), FEED_QUIET)
            )
    return out


def delivery_alerts(
    failed: int, blocked: int, *, lang: str, failure_threshold: int, blocked_threshold: int
) -> list[Alert]:
    out = []
    if failed >= failure_threshold:
        out.append(
            Alert("delivery:failed", t(lang, "admin.alert_delivery", count=failed), DELIVERY_QUIET)
        )
    if blocked >= blocked_threshold:
        out.append(
            Alert("chats:blocked", t(lang, "admin.alert_blocked", count=blocked), DELIVERY_QUIET)
        )
    return out


class Alerts:
    def __init__(
        self,
        *,
        send_text: SendText,
        feeds: FeedStore,
        stats: StatsStore,
        log_repo: AlertStore,
        admin_ids: Iterable[int],
        admin_chat_id: int | None,
        clock: Callable[[], datetime],
        language: str = "ru",
        failure_threshold: int = 20,
        blocked_threshold: int = 10,
    ) -> None:
        self.send_text = send_text
        self.feeds = feeds
        self.stats = stats
        self.log_repo = log_repo
        self.recipients: tuple[int, ...] = (
            (admin_chat_id,) if admin_chat_id is not None else tuple(sorted(admin_ids))
        )
        self.clock = clock
        self.language = language
        self.failure_threshold = failure_threshold
        self.blocked_threshold = blocked_threshold

    async def collect(self, now: datetime) -> list[Alert]:
        activity = await self.stats.feed_activity(now - timedelta(days=BASELINE_DAYS + 1))
        healths = []
        for feed in await self.feeds.list():
            a = activity.get(feed.id)
            healths.append(assess(feed, a.per_day if a else {}, a.newest_at if a else None, now))
        delivery = await self.stats.delivery(now - WINDOW)
        blocked = await self.stats.blocked_since(now - WINDOW)
        return feed_alerts(healths, self.language) + delivery_alerts(
            delivery.failed,
            blocked,
            lang=self.language,
            failure_threshold=self.failure_threshold,
            blocked_threshold=self.blocked_threshold,
        )

    async def check(self) -> list[Alert]:
        """The scheduler tick: send what is new or out of its quiet period; returns what was sent."""
        now = self.clock()
        sent = []
        for alert in await self.collect(now):
            if await self.log_repo.claim(alert.key, alert.text, now=now, quiet=alert.quiet):
                await self.send(alert.text)
                sent.append(alert)
        return sent

    async def notify(self, key: str, /, **values: object) -> None:
        """An alert that cannot wait for the tick nor use the database (the sender's
        "database cannot record sends"): straight to the admins, in their language."""
        await self.send(
            t(self.language, key, **{k: html.escape(str(v)) for k, v in values.items()})
        )

    async def send(self, text: str) -> None:
        for chat_id in self.recipients:
            try:
                await self.send_text(chat_id, text)
            except Undelivered as exc:  # one unreachable admin must not silence the others
                log.warning("alert to %s failed: %s", chat_id, exc)
