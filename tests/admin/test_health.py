"""Feed health (pure): usual rate over full days, silence thresholds, states, the /feeds block."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.admin.health import assess, format_span, health_block, silence, usual_per_day
from bot.domain import Feed

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def feed(**changes) -> Feed:
    base = Feed(
        id=3, url="https://khovar.tj/rus/feed/", title="Khovar", custom_title=None, site_url=None,
        etag=None, last_modified=None, body_hash=None, active=True, paused=False, error_count=0,
        last_error=None, last_error_kind=None, last_error_at=None,
        last_success_at=NOW - timedelta(minutes=7), last_polled_at=None, next_poll_at=None,
        initial_done=True, created_at=NOW - timedelta(days=30),
    )  # fmt: skip
    return replace(base, **changes)


def days(rate: int) -> dict[str, int]:
    return {(NOW.date() - timedelta(days=d)).isoformat(): rate for d in range(0, 8)}


def test_usual_rate_ignores_today_and_older_days():
    per_day = days(40) | {NOW.date().isoformat(): 1000, "2025-02-01": 1000}
    assert usual_per_day(per_day, NOW) == 40


def test_usual_rate_of_a_young_feed_is_over_the_days_it_has_existed():
    two_days = {(NOW.date() - timedelta(days=d)).isoformat(): 30 for d in range(0, 3)}
    assert usual_per_day(two_days, NOW) == 30  # 2 complete days of 30, not 60 over a week
    assert usual_per_day(two_days, NOW, since=NOW - timedelta(days=30)) == 60 / 7
    assert usual_per_day({}, NOW, since=NOW - timedelta(hours=3)) == 0


@pytest.mark.parametrize(
    ("usual", "quiet_hours", "silent"),
    [
        (40, 5, False),  # busy feed: the floor of 6 h applies
        (40, 18, True),
        (2, 40, False),  # 2/day: four gaps are 48 h
        (2, 49, True),
        (0.5, 200, False),  # a feed that rarely publishes is never "silent"
    ],
)
def test_silence_threshold(usual, quiet_hours, silent):
    result = silence(usual, NOW - timedelta(hours=quiet_hours), NOW)
    assert (result is not None) == silent


def test_states_in_priority_order():
    quiet = NOW - timedelta(hours=18)
    assert assess(feed(), days(40), quiet, NOW).state == "silent"
    assert assess(feed(), days(40), NOW, NOW).state == "ok"
    assert assess(feed(error_count=3), days(40), quiet, NOW).state == "failing"
    assert assess(feed(active=False), days(40), quiet, NOW).state == "inactive"
    assert assess(feed(paused=True, active=False), {}, None, NOW).state == "paused"
    assert assess(feed(last_success_at=None), {}, None, NOW).state == "new"


def test_block_shows_khovar_silence_and_errors_escaped():
    h = assess(
        feed(error_count=2, last_error="HTTP 500 <oops>"), days(40), NOW - timedelta(hours=18), NOW
    )
    text = health_block(h, "en", NOW)
    assert "Khovar: nothing for 18 h, usually 40/day" in text
    assert "HTTP 500 &lt;oops&gt;" in text and "#3" in text
    ru = health_block(h, "ru", NOW)
    assert "Khovar: ничего 18 ч, обычно 40 в день" in ru


@pytest.mark.parametrize(
    ("minutes", "text"), [(5, "5 min"), (90, "1 h"), (47 * 60, "47 h"), (72 * 60, "3 d")]
)
def test_format_span(minutes, text):
    assert format_span(timedelta(minutes=minutes), "en") == text
