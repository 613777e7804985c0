"""Property tests of schedule slot arithmetic across DST changes and time zones (hypothesis).

For zones with awkward histories — Moscow (DST until 2011, permanent +4 until 2014, then +3),
New York, Tehran (transitions at midnight, DST abolished in 2022), Lord Howe (30-minute DST),
Chisinau — any local time, and any instant near a transition: the next slot is strictly in the
future, shows that wall-clock time when it exists (its first occurrence in a fall-back overlap),
else is the first instant after the spring-forward gap; daily slots fall on consecutive local
dates, one each, none skipped or doubled; the latest due slot is never in the future. The
expected values are computed here from zoneinfo alone, independently of bot.digests.slots.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.digests.slots import (
    ChatSchedule,
    latest_due_slot,
    local_instant,
    next_slot_after,
    slots_between,
)

ZONES = (
    "Europe/Moscow",
    "America/New_York",
    "Asia/Tehran",
    "Australia/Lord_Howe",
    "Europe/Chisinau",
)
FIRST, LAST = date(1990, 1, 1), date(2035, 12, 31)


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants (to the minute) where the zone's UTC offset changes, 1990–2035."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime.combine(FIRST, time(), UTC)
    end = datetime.combine(LAST, time(), UTC)
    step = timedelta(hours=6)
    while day < end:
        nxt = day + step
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            low, high = int(day.timestamp()) // 60, int(nxt.timestamp()) // 60
            before = day.astimezone(zone).utcoffset()
            while low + 1 < high:  # last minute with the old offset
                mid = (low + high) // 2
                if datetime.fromtimestamp(mid * 60, zone).utcoffset() == before:
                    low = mid
                else:
                    high = mid
            found.append(datetime.fromtimestamp(high * 60, UTC))
        day = nxt
    return tuple(found)


def test_the_zone_set_has_transitions_of_every_kind() -> None:
    # Not a vacuous sampler: each zone changes offset in the window, Lord Howe by 30 minutes,
    # Moscow three times in 2011–2014 history (spring 2011, no autumn 2011, autumn 2014).
    for name in ZONES:
        assert len(transitions(name)) > 10, name
    zone = ZoneInfo("Australia/Lord_Howe")
    jumps = {
        abs(
            t.astimezone(zone).utcoffset() - (t - timedelta(minutes=1)).astimezone(zone).utcoffset()
        )
        for t in transitions("Australia/Lord_Howe")
    }
    assert timedelta(minutes=30) in jumps
    moscow = [t for t in transitions("Europe/Moscow") if 2010 <= t.year <= 2015]
    assert [t.year for t in moscow] == [2010, 2010, 2011, 2014]


zones = st.sampled_from(ZONES)
hhmm = st.tuples(st.integers(0, 23), st.sampled_from((0, 1, 15, 29, 30, 31, 45, 59))).map(
    lambda hm: f"{hm[0]:02d}:{hm[1]:02d}"
)


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an instant within three days of one of its offset changes (or anywhere)."""
    name = draw(zones)
    if draw(st.booleans()):
        base = draw(st.sampled_from(transitions(name)))
        shift = draw(st.integers(-3 * 24 * 60, 3 * 24 * 60))
        return name, base + timedelta(minutes=shift, seconds=draw(st.integers(0, 59)))
    stamp = draw(
        st.integers(
            int(datetime(1990, 1, 2, tzinfo=UTC).timestamp()),
            int(datetime(2035, 12, 1, tzinfo=UTC).timestamp()),
        )
    )
    return name, datetime.fromtimestamp(stamp, UTC)


def wall_instants(day: date, wall_hhmm: str, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant (to the minute) whose wall time in `zone` is `day` `wall_hhmm`, found
    by scanning the minutes around it — no fold/replace logic shared with the code under test."""
    wall = datetime.combine(day, time(int(wall_hhmm[:2]), int(wall_hhmm[3:])))
    guess = int(wall.replace(tzinfo=UTC).timestamp()) // 60
    hits = []
    for minute in range(guess - 16 * 60, guess + 16 * 60):  # offsets are within ±15 h
        at = datetime.fromtimestamp(minute * 60, UTC)
        if at.astimezone(zone).replace(tzinfo=None) == wall:
            hits.append(at)
    return hits


def expected_slot(day: date, wall_hhmm: str, zone: ZoneInfo) -> datetime:
    """As documented: the first occurrence of the wall time, or the first instant after the gap."""
    hits = wall_instants(day, wall_hhmm, zone)
    if hits:
        return hits[0]
    wall = datetime.combine(day, time(int(wall_hhmm[:2]), int(wall_hhmm[3:])))
    guess = int(wall.replace(tzinfo=UTC).timestamp()) // 60
    for minute in range(guess - 16 * 60, guess + 16 * 60):
        at = datetime.fromtimestamp(minute * 60, UTC)
        if at.astimezone(zone).replace(tzinfo=None) >= wall:
            return at
    raise AssertionError("no instant after the gap")


@given(near_transition(), hhmm)
def test_next_slot_is_in_the_future_at_the_documented_instant(
    at: tuple[str, datetime], slot: str
) -> None:
    name, after = at
    zone = ZoneInfo(name)
    schedule = ChatSchedule("daily", (slot,), None, name)
    nxt = next_slot_after(schedule, after)
    assert nxt is not None and nxt > after
    assert nxt - after <= timedelta(hours=24) + timedelta(hours=2)  # one day, plus a DST jump
    local_day = nxt.astimezone(zone).date()
    # The slot belongs to some local date (its own, or the day before if a gap pushed it past
    # midnight): it is that date's documented instant, and no earlier date's slot is still due.
    candidates = [
        d for d in (local_day - timedelta(days=1), local_day) if expected_slot(d, slot, zone) == nxt
    ]
    assert candidates, (name, slot, after, nxt)
    day = candidates[0]
    assert expected_slot(day - timedelta(days=1), slot, zone) <= after
    hits = wall_instants(day, slot, zone)
    if hits:  # the wall time exists: the slot shows it, at its first occurrence
        assert nxt.astimezone(zone).strftime("%H:%M") == slot
        assert nxt == hits[0]
    else:  # skipped by spring-forward: the first instant after the gap
        assert nxt.astimezone(zone).strftime("%H:%M") > slot
        assert (nxt - timedelta(minutes=1)).astimezone(zone).strftime("%H:%M") < slot


@given(near_transition(), hhmm, st.integers(2, 10))
def test_daily_slots_fall_on_consecutive_local_dates_one_each(
    at: tuple[str, datetime], slot: str, days: int
) -> None:
    name, start = at
    zone = ZoneInfo(name)
    schedule = ChatSchedule("daily", (slot,), None, name)
    slots = list(slots_between(schedule, start, start + timedelta(days=days)))
    assert slots == sorted(set(slots))
    assert days - 1 <= len(slots) <= days + 1
    dates = [s.astimezone(zone).date() for s in slots]
    assert dates == [dates[0] + timedelta(days=i) for i in range(len(dates))], (name, slot, slots)
    for day, instant in zip(dates, slots, strict=True):
        assert instant == local_instant(day, slot, zone) == expected_slot(day, slot, zone)


@given(near_transition(), st.lists(hhmm, min_size=1, max_size=4), st.integers(1, 6))
def test_several_times_a_day_each_fire_once_per_local_date(
    at: tuple[str, datetime], times: list[str], days: int
) -> None:
    name, start = at
    zone = ZoneInfo(name)
    schedule = ChatSchedule("times", tuple(times), None, name)
    end = start + timedelta(days=days)
    slots = list(slots_between(schedule, start, end))
    assert slots == sorted(set(slots))
    expected = sorted(
        {
            expected_slot(start.astimezone(zone).date() + timedelta(days=d), t, zone)
            for d in range(-1, days + 2)
            for t in times
        }
    )
    assert slots == [s for s in expected if start < s <= end]


@given(near_transition(), hhmm, st.integers(0, 6), st.integers(0, 20 * 24))
def test_weekly_and_latest_due_slot_never_in_the_future(
    at: tuple[str, datetime], slot: str, weekday: int, hours_later: int
) -> None:
    name, last = at
    zone = ZoneInfo(name)
    now = last + timedelta(hours=hours_later)
    weekly = ChatSchedule("weekly", (slot,), weekday, name)
    nxt = next_slot_after(weekly, last)
    assert nxt is not None and last < nxt <= last + timedelta(days=7, hours=2)
    assert nxt.astimezone(zone).date().weekday() == weekday or not wall_instants(
        nxt.astimezone(zone).date(), slot, zone
    )
    due = latest_due_slot(weekly, last, now)
    if due is None:
        assert nxt > now
    else:
        assert last < due <= now
        assert next_slot_after(weekly, due) > now
