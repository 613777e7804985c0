"""Feed health for admins (pure): usual articles per day, silence detection, one text block per feed.

"Usual" is the average over the last 7 complete UTC days; a feed that usually publishes at
least once a day is silent when nothing new was published for four of its usual gaps, and
never sooner than 6 hours ("Khovar: nothing for 18 h, usually 40/day").
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain import Feed
from bot.i18n.catalog import t

BASELINE_DAYS = 7
MIN_USUAL_PER_DAY = 1.0
SILENCE_FLOOR = timedelta(hours=6)
SILENCE_GAPS = 4
FAILING_AFTER = 3  # consecutive errors before a feed shows as failing

_ICONS = {"ok": "🟢", "new": "🆕", "silent": "🟡", "failing": "🔴", "inactive": "⛔", "paused": "⏸"}


@dataclass(frozen=True, slots=True)
class FeedHealth:
    feed: Feed
    state: str  # ok | new | silent | failing | inactive | paused
    usual_per_day: float
    today: int
    newest_at: datetime | None
    silent_for: timedelta | None  # set when the state is silent


def usual_per_day(
    per_day: Mapping[str, int],
    now: datetime,
    days: int = BASELINE_DAYS,
    since: datetime | None = None,
) -> float:
    """Articles per complete day over the last `days` days — or over the days the feed has
    existed, if fewer: a feed added two days ago is not averaged over a week it never had.
    Its age starts at `since` (when it was added) or at its oldest item, whichever is earlier."""
    today = now.date()
    total = sum(per_day.get((today - timedelta(days=d)).isoformat(), 0) for d in range(1, days + 1))
    starts = [date.fromisoformat(day) for day in per_day]
    if since is not None:
        starts.append(since.date())
    if starts:
        days = max(1, min(days, (today - min(starts)).days))
    return total / days


def silence(usual: float, newest_at: datetime | None, now: datetime) -> timedelta | None:
    """How long a usually busy feed has been quiet, if that counts as silent; else None."""
    if usual < MIN_USUAL_PER_DAY or newest_at is None:
        return None
    quiet = now - newest_at
    threshold = max(SILENCE_FLOOR, timedelta(days=SILENCE_GAPS / usual))
    return quiet if quiet >= threshold else None


def assess(
    feed: Feed, per_day: Mapping[str, int], newest_at: datetime | None, now: datetime
) -> FeedHealth:
    usual = usual_per_day(per_day, now, since=feed.created_at)
    silent_for = silence(usual, newest_at, now)
    if feed.paused:
        state = "paused"
    elif not feed.active:
        state = "inactive"
    elif feed.error_count >= FAILING_AFTER:
        state = "failing"
    elif silent_for is not None:
        state = "silent"
    elif feed.last_success_at is None:
        state = "new"
    else:
        state = "ok"
    today = per_day.get(now.date().isoformat(), 0)
    return FeedHealth(feed, state, usual, today, newest_at, silent_for)


def format_span(span: timedelta, lang: str) -> str:
    """Coarse, readable durations: "25 min", "18 h", "3 d"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return t(lang, "admin.span_min", n=max(minutes, 0))
    if minutes < 48 * 60:
        return t(lang, "admin.span_h", n=minutes // 60)
    return t(lang, "admin.span_d", n=minutes // (24 * 60))


def format_rate(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def silence_warning(h: FeedHealth, lang: str) -> str:
    assert h.silent_for is not None
    return t(
        lang,
        "admin.health_silent",
        name=html.escape(h.feed.display_name),
        span=format_span(h.silent_for, lang),
        usual=format_rate(h.usual_per_day),
    )


def health_block(h: FeedHealth, lang: str, now: datetime) -> str:
    """A few HTML lines about one feed for /feeds."""
    f = h.feed
    success = (
        t(lang, "admin.health_ago", span=format_span(now - f.last_success_at, lang))
        if f.last_success_at is not None
        else t(lang, "admin.health_never")
    )
    lines = [
        f"{_ICONS[h.state]} <b>{html.escape(f.display_name)}</b> · #{f.id}",
        t(
            lang,
            "admin.health_stats",
            success=success,
            rate=format_rate(h.usual_per_day),
            today=h.today,
        ),
    ]
    if f.error_count:
        lines.append(
            t(
                lang,
                "admin.health_errors",
                n=f.error_count,
                error=html.escape((f.last_error or "")[:200]),
            )
        )
    if h.state == "silent":
        lines.append("⚠️ " + silence_warning(h, lang))
    elif h.state in ("paused", "inactive"):
        lines.append(t(lang, f"admin.health_{h.state}"))
    return "\n".join(lines)
