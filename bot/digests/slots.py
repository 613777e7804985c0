"""Digest slot math (pure, `now` injected) and parsers for user-typed time zones and times.

A slot is one scheduled local time on one local date, turned into a UTC instant. Each
(local date, HH:MM) gives exactly one instant, so DST never yields zero or two digests a day:
a time skipped by spring-forward fires at the first valid instant after the gap; a time
repeated by fall-back fires at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

CATCH_UP_WINDOW = timedelta(hours=24)
_LOOKAROUND = timedelta(days=8)  # the longest gap between slots is a week

_OFFSET = re.compile(r"^(?:(?:UTC|GMT)\s*)?([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?$", re.IGNORECASE)
_TIME = re.compile(r"^(\d{1,2})(?:[:.\-h ]\s*(\d{2}))?$|^(\d{2})(\d{2})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ChatSchedule:
    mode: str  # instant | daily | times | weekly
    times: tuple[str, ...]
    weekday: int | None
    timezone: str


# -- time zones


@cache
def _zones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def parse_timezone(text: str) -> str:
    """User input → canonical zone: an IANA name ("asia/dushanbe" → "Asia/Dushanbe") or a
    fixed offset ("UTC+5", "GMT-3", "+05:30" → "UTC+05:00" form)."""
    value = text.strip()
    if not value:
        raise ValueError("empty time zone; send a name like Asia/Dushanbe or an offset like UTC+5")
    if value.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(value.replace(" ", ""))
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            raise ValueError(f"offset {value!r} is out of range (UTC-14:00 … UTC+14:00)")
        sign = "-" if sign in "-−" else "+"
        if hours == 0 and minutes == 0:
            return "UTC"
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    name = _zones_by_lower().get(value.replace(" ", "_").lower())
    if name is None:
        raise ValueError(
            f"unknown time zone {value!r}; send an IANA name like Europe/Moscow or an offset like UTC+5"
        )
    return name


def zone_for(tz: str) -> tzinfo:
    """The tzinfo of a stored zone string (IANA name or canonical "UTC±HH:MM")."""
    if tz == "UTC":
        return UTC
    if tz.startswith("UTC") and len(tz) == 9:
        sign = -1 if tz[3] == "-" else 1
        return timezone(sign * timedelta(hours=int(tz[4:6]), minutes=int(tz[7:9])))
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def parse_time(text: str) -> str:
    """User input → "HH:MM": accepts "8:30", "08.30", "0830", "8", "8h30"."""
    value = text.strip()
    match = _TIME.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time; send it like 08:30")
    if match.group(3) is not None:
        hours, minutes = int(match.group(3)), int(match.group(4))
    else:
        hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a valid time of day (00:00 … 23:59)")
    return f"{hours:02d}:{minutes:02d}"


# -- slots


def local_instant(day: date, hhmm: str, zone: tzinfo) -> datetime:
    """UTC instant of wall time `hhmm` on `day` in `zone`; gap times move to the gap's end."""
    hours, minutes = int(hhmm[:2]), int(hhmm[3:5])
    wall = datetime.combine(day, time(hours, minutes))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists (fold=0 is the first of two in a fall-back overlap)
    # In a spring-forward gap: the first instant whose wall time is >= `wall`.
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp())
    low, high = min(low, high), max(low, high)
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid + 1
    return datetime.fromtimestamp(low, UTC)


def slots_between(schedule: ChatSchedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Slot instants in (start, end], ascending. Instant mode has no slots."""
    if schedule.mode == "instant" or not schedule.times:
        return
    zone = zone_for(schedule.timezone)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    times = sorted(set(schedule.times))
    while day <= last_day:
        if schedule.mode != "weekly" or day.weekday() == schedule.weekday:
            for hhmm in times:
                slot = local_instant(day, hhmm, zone)
                if start < slot <= end:
                    yield slot
        day += timedelta(days=1)


def latest_due_slot(
    schedule: ChatSchedule, last_slot_at: datetime | None, now: datetime
) -> datetime | None:
    """The newest slot after `last_slot_at` and not after `now`, or None.

    The caller sends it only if `now - slot <= CATCH_UP_WINDOW` (else records it skipped):
    after downtime that is one catch-up digest, never one per missed slot.
    """
    start = now - _LOOKAROUND
    if last_slot_at is not None and last_slot_at > start:
        start = last_slot_at
    latest = None
    for slot in slots_between(schedule, start, now):
        latest = slot
    return latest


def next_slot_after(schedule: ChatSchedule, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (None for instant mode)."""
    return next(iter(slots_between(schedule, after, after + _LOOKAROUND)), None)


def is_catch_up_too_old(slot: datetime, now: datetime) -> bool:
    return now - slot > CATCH_UP_WINDOW


def parse_quiet(text: str) -> tuple[str, str]:
    """ "23:00-08:00", "23-8", "22.30 – 7" → ("23:00", "08:00"); ValueError otherwise."""
    parts = [p for p in re.split(r"\s*[-–—]\s*|\s+", text.strip()) if p]
    if len(parts) != 2:
        raise ValueError(f"quiet hours {text!r}: expected two times like 23:00-08:00")
    start, end = parse_time(parts[0]), parse_time(parts[1])
    if start == end:
        raise ValueError("quiet hours need a start and an end that differ")
    return start, end


def in_quiet_hours(quiet: tuple[str, str] | None, zone: tzinfo, now: datetime) -> bool:
    """Is `now` inside the local window [start, end)? A window may cross midnight."""
    if quiet is None:
        return False
    local = now.astimezone(zone).strftime("%H:%M")
    start, end = quiet
    if start < end:
        return start <= local < end
    return local >= start or local < end
