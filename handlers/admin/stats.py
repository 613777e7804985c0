"""Admin: /stats — subscribers, articles, digests and delivery as text, articles per day as a chart."""

from __future__ import annotations

import asyncio
import html
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.admin.chart import Series, legend, stacked_bar_chart
from bot.admin.health import format_rate
from bot.digests.render import SOURCE_LIMIT, shorten
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.views import topic_choices
from storage.port import StatsStore

DAYS = 14
MAX_SERIES = 8
MAX_SOURCES = 15


def _days(now: datetime) -> list[str]:
    today = now.date()
    return [(today - timedelta(days=d)).isoformat() for d in range(DAYS - 1, -1, -1)]


async def cmd_stats(
    message: Message,
    lang: str,
    stats: StatsStore,
    classifier: Classifier,
    clock: Callable[[], datetime],
) -> None:
    now = clock()
    days = _days(now)
    since = datetime.fromisoformat(days[0]).replace(tzinfo=now.tzinfo)
    by_status: dict[str, int] = defaultdict(int)
    breakdown: dict[str, list[str]] = defaultdict(list)
    for status, language, mode, count in await stats.subscribers():
        by_status[status] += count
        if status == "active":
            breakdown[language].append(f"{mode} {count}")
    per_day = await stats.articles_per_day(since)
    digests = await stats.digests_sent(since)
    delivery = await stats.delivery(since)
    total = sum(per_day.values())
    # per day over the days the archive has existed (a 3-day-old bot is not averaged over 14)
    first = await stats.first_seen()
    age = (now.date() - first.date()).days + 1 if first is not None else DAYS
    text = t(lang, "admin.stats_text", active=by_status["active"], paused=by_status["paused"],
             blocked=by_status["blocked"],
             breakdown=" · ".join(f"{k}: {', '.join(v)}" for k, v in sorted(breakdown.items())),
             days=DAYS, articles=total, per_day=format_rate(total / max(1, min(DAYS, age))),
             digests=sum(v for k, v in digests.items() if k != "broadcast"),
             broadcasts=await stats.broadcasts_sent(since), sent=delivery.sent,
             failed=delivery.failed, pending=delivery.pending, retried=delivery.retried)  # fmt: skip
    text = "\n".join(line for line in text.split("\n") if line.strip())  # no empty figures
    sources = await stats.articles_per_source(since)
    if sources:
        text += "\n\n" + t(lang, "admin.stats_sources", days=DAYS) + "\n"
        text += "\n".join(
            f"{html.escape(shorten(name, SOURCE_LIMIT))}: {count}"
            for name, count in sources[:MAX_SOURCES]
        )
    await message.answer(text)
    series = _topic_series(await stats.articles_per_day_by_topic(since), days, classifier, lang)
    if series:
        png = await asyncio.to_thread(stacked_bar_chart, [d[5:] for d in days], series)
        caption = t(lang, "admin.stats_chart_days", days=DAYS) + "\n" + html.escape(legend(series))
        await message.answer_photo(
            BufferedInputFile(png, filename="stats.png"), caption=caption[:1024]
        )


def _topic_series(
    by_topic: dict[str, dict[str, int]], days: list[str], classifier: Classifier, lang: str
) -> list[Series]:
    """One series per topic with articles, in catalog order; the tail folded into "other"."""
    names = dict(topic_choices(classifier, lang))
    present = [slug for slug in names if sum(by_topic.get(slug, {}).values())]
    series = [Series(names[s], [by_topic[s].get(d, 0) for d in days]) for s in present]
    if len(series) > MAX_SERIES:
        rest = series[MAX_SERIES - 1 :]
        other = [sum(s.values[i] for s in rest) for i in range(len(days))]
        series = [*series[: MAX_SERIES - 1], Series(t(lang, "admin.stats_other_topic"), other)]
    return series


def make_router() -> Router:
    router = Router(name="admin-stats")
    router.message.register(cmd_stats, Command("stats"))
    return router
