"""Slot math across zones and DST, catch-up after downtime, and the time/zone parsers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.digests.slots import (
    ChatSchedule,
    is_catch_up_too_old,
    latest_due_slot,
    next_slot_after,
    parse_time,
    parse_timezone,
    slots_between,
    zone_for,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(hhmm: str, tz: str) -> ChatSchedule:
    return ChatSchedule(mode="daily", times=(hhmm,), weekday=None, timezone=tz)


@pytest.mark.parametrize(
    ("schedule", "last", "now", "expected"),
    [
        # Moscow, no DST: 09:00 MSK = 06:00Z
        (
            daily("09:00", "Europe/Moscow"),
            utc(2025, 6, 1, 6),
            utc(2025, 6, 2, 6),
            utc(2025, 6, 2, 6),
        ),
        (daily("09:00", "Europe/Moscow"), utc(2025, 6, 1, 6), utc(2025, 6, 2, 5, 59), None),
        # Dushanbe and a fixed offset: 08:00 local = 03:00Z
        (daily("08:00", "Asia/Dushanbe"), utc(2025, 1, 1), utc(2025, 1, 1, 3), utc(2025, 1, 1, 3)),
        (daily("08:00", "UTC+05:00"), utc(2025, 1, 1), utc(2025, 1, 1, 3), utc(2025, 1, 1, 3)),
        (
            daily("08:00", "UTC-03:30"),
            utc(2025, 1, 1),
            utc(2025, 1, 1, 12),
            utc(2025, 1, 1, 11, 30),
        ),
        # Berlin spring-forward 2025-03-30 02:00→03:00: 02:30 fires at 03:00 CEST = 01:00Z
        (
            daily("02:30", "Europe/Berlin"),
            utc(2025, 3, 29, 2),
            utc(2025, 3, 30, 2),
            utc(2025, 3, 30, 1),
        ),
        (daily("02:30", "Europe/Berlin"), utc(2025, 3, 29, 2), utc(2025, 3, 30, 0, 59), None),
        # Berlin fall-back 2025-10-26 03:00→02:00: 02:30 fires once, at the first one (00:30Z)
        (
            daily("02:30", "Europe/Berlin"),
            utc(2025, 10, 25, 12),
            utc(2025, 10, 26, 0, 30),
            utc(2025, 10, 26, 0, 30),
        ),
        (daily("02:30", "Europe/Berlin"), utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 45), None),
        # New York spring 2025-03-09 02:00→03:00: 02:15 fires at 03:00 EDT = 07:00Z
        (
            daily("02:15", "America/New_York"),
            utc(2025, 3, 8, 12),
            utc(2025, 3, 9, 8),
            utc(2025, 3, 9, 7),
        ),
        # New York fall 2025-11-02 02:00→01:00: 01:30 fires at 01:30 EDT = 05:30Z only
        (
            daily("01:30", "America/New_York"),
            utc(2025, 11, 1, 12),
            utc(2025, 11, 2, 7),
            utc(2025, 11, 2, 5, 30),
        ),
        (daily("01:30", "America/New_York"), utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 7), None),
        # several times a day: the newest missed one only
        (
            ChatSchedule("times", ("09:00", "12:00", "15:00"), None, "Europe/Moscow"),
            utc(2025, 6, 1, 6),
            utc(2025, 6, 1, 12, 30),
            utc(2025, 6, 1, 12),
        ),
        # weekly Monday 09:00 Moscow; 2025-06-02 is a Monday
        (
            ChatSchedule("weekly", ("09:00",), 0, "Europe/Moscow"),
            utc(2025, 5, 26, 6),
            utc(2025, 6, 1, 23),
            None,
        ),
        (
            ChatSchedule("weekly", ("09:00",), 0, "Europe/Moscow"),
            utc(2025, 5, 26, 6),
            utc(2025, 6, 2, 6),
            utc(2025, 6, 2, 6),
        ),
        (
            ChatSchedule("instant", ("09:00",), None, "Europe/Moscow"),
            None,
            utc(2025, 6, 2, 6),
            None,
        ),
        # never handled: the newest slot within the look-around
        (daily("09:00", "Europe/Moscow"), None, utc(2025, 6, 2, 7), utc(2025, 6, 2, 6)),
    ],
)
def test_latest_due_slot(schedule, last, now, expected):
    assert latest_due_slot(schedule, last, now) == expected


def test_catch_up_after_three_hours_downtime_is_one_digest():
    schedule = ChatSchedule("times", ("09:00", "10:00", "11:00", "12:00"), None, "Europe/Moscow")
    last = utc(2025, 6, 1, 6)  # 09:00 MSK handled, then down until 12:05 MSK
    now = utc(2025, 6, 1, 9, 5)
    slot = latest_due_slot(schedule, last, now)
    assert slot == utc(2025, 6, 1, 9) and not is_catch_up_too_old(slot, now)
    assert latest_due_slot(schedule, slot, now) is None  # recorded → nothing more


def test_catch_up_older_than_24h_is_skipped():
    weekly = ChatSchedule("weekly", ("09:00",), 0, "Europe/Moscow")
    last = utc(2025, 5, 26, 6)
    now = utc(2025, 6, 5, 10)  # down from Monday to Thursday: the Monday slot is 3 days old
    slot = latest_due_slot(weekly, last, now)
    assert slot == utc(2025, 6, 2, 6) and is_catch_up_too_old(slot, now)
    # a daily schedule after 3 days down still has a slot within 24h: exactly one catch-up
    slot = latest_due_slot(daily("09:00", "Europe/Moscow"), last, now)
    assert slot == utc(2025, 6, 5, 6) and not is_catch_up_too_old(slot, now)


@pytest.mark.parametrize(
    ("tz", "start", "hhmm"),
    [
        ("Europe/Berlin", utc(2025, 3, 28), "02:30"),
        ("Europe/Berlin", utc(2025, 10, 24), "02:30"),
        ("America/New_York", utc(2025, 3, 7), "02:15"),
        ("America/New_York", utc(2025, 10, 31), "01:30"),
        ("Europe/Moscow", utc(2025, 3, 28), "00:00"),
    ],
)
def test_minute_ticks_across_dst_give_one_digest_per_local_day(tz, start, hhmm):
    schedule = daily(hhmm, tz)
    zone = zone_for(tz)
    last, fired = start, []
    now = start
    while now < start + timedelta(days=4):
        now += timedelta(minutes=1)
        slot = latest_due_slot(schedule, last, now)
        if slot is not None:
            fired.append(slot)
            last = slot
    per_day = Counter(s.astimezone(zone).date() for s in fired)
    assert len(fired) in (3, 4) and set(per_day.values()) == {1}
    assert len(fired) == len(list(slots_between(schedule, start, now)))


def test_next_slot_after():
    assert next_slot_after(daily("09:00", "Europe/Moscow"), utc(2025, 6, 1, 6)) == utc(
        2025, 6, 2, 6
    )
    weekly = ChatSchedule("weekly", ("09:00",), 4, "UTC+05:00")  # Friday
    assert next_slot_after(weekly, utc(2025, 6, 2)) == utc(2025, 6, 6, 4)
    assert next_slot_after(ChatSchedule("instant", (), None, "UTC"), utc(2025, 6, 2)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asia/Dushanbe", "Asia/Dushanbe"),
        ("asia/dushanbe", "Asia/Dushanbe"),
        (" europe/moscow ", "Europe/Moscow"),
        ("America/New York", "America/New_York"),
        ("UTC+5", "UTC+05:00"),
        ("utc+05:30", "UTC+05:30"),
        ("GMT-3", "UTC-03:00"),
        ("+5", "UTC+05:00"),
        ("UTC −4", "UTC-04:00"),
        ("UTC+0545", "UTC+05:45"),
        ("UTC", "UTC"),
        ("GMT+0", "UTC"),
    ],
)
def test_parse_timezone(text, expected):
    assert parse_timezone(text) == expected
    zone_for(expected)


@pytest.mark.parametrize("text", ["", "Mars/Olympus", "UTC+15", "UTC+5:75", "moscow", "5"])
def test_parse_timezone_rejects(text):
    with pytest.raises(ValueError):
        parse_timezone(text)


def test_zone_for_offsets():
    assert zone_for("UTC+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert zone_for("UTC-03:00").utcoffset(None) == timedelta(hours=-3)
    with pytest.raises(ValueError):
        zone_for("Nowhere/Land")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:30", "08:30"),
        ("08.30", "08:30"),
        ("0830", "08:30"),
        ("8", "08:00"),
        ("23:59", "23:59"),
        ("00:00", "00:00"),
        (" 7:05 ", "07:05"),
        ("8h30", "08:30"),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "24:00", "12:60", "9:5", "noon", "830", "12:30:00"])
def test_parse_time_rejects(text):
    with pytest.raises(ValueError):
        parse_time(text)
