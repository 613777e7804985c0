"""The fixed choices offered by buttons: preset times, common CIS time zones, country order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from zoneinfo import available_timezones

from bot.i18n.catalog import LANGUAGES, t

# Times offered as buttons (daily, weekly, several a day); anything else is typed as text.
PRESET_TIMES: tuple[str, ...] = (
    "06:00", "07:00", "08:00", "09:00", "10:00", "12:00",
    "14:00", "16:00", "18:00", "19:00", "20:00", "21:00",
)  # fmt: skip

# Zones of the CIS readers first: buttons for the common CIS zones, free text for the rest.
COMMON_ZONES: tuple[str, ...] = (
    "Europe/Moscow", "Europe/Minsk", "Europe/Kyiv", "Europe/Chisinau",
    "Asia/Tbilisi", "Asia/Yerevan", "Asia/Baku", "Europe/Samara",
    "Asia/Tashkent", "Asia/Dushanbe", "Asia/Ashgabat", "Asia/Yekaterinburg",
    "Asia/Almaty", "Asia/Bishkek", "Asia/Novosibirsk", "Asia/Vladivostok",
    "UTC",
)  # fmt: skip

# CIS members and neighbours lead the country picker; the rest follow by name.
PRIORITY_COUNTRIES: tuple[str, ...] = (
    "ru", "by", "kz", "kg", "tj", "uz", "tm", "am", "az", "md", "ge", "ua",
    "cn", "af", "ir", "tr", "mn", "in", "pk", "us", "de", "fr", "gb",
)  # fmt: skip

COUNTRIES_PER_PAGE = 18

Choice = tuple[str, str]  # (code, label) of one button


def _city_key(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").replace("_", " ").split()).casefold()


@cache
def _zones_by_city() -> dict[str, str]:
    """City names → zone: the buttons' labels in every language ("Душанбе", "Алматы, Астана"
    counts as both cities) and the city part of every IANA zone ("Tashkent", "Samarkand")."""
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for zone in sorted(available_timezones()):
        city = zone.rsplit("/", 1)[-1]
        key = _city_key(city)
        if key in found and found[key] != zone:
            ambiguous.add(key)
        found.setdefault(key, zone)
    for key in ambiguous:
        del found[key]
    for lang in LANGUAGES:
        for zone in COMMON_ZONES:
            for city in t(lang, f"timezone.zones.{zone}").split(","):
                found[_city_key(city)] = zone  # our buttons win over the IANA city parts
    return found


def zone_by_city(text: str) -> str | None:
    """The zone of a typed city name shown on a button or in the IANA database, or None."""
    return _zones_by_city().get(_city_key(text))


def city_of(lang: str, zone: str) -> str:
    """How settings show a zone: the city on its button, else the IANA name readable."""
    if zone in COMMON_ZONES:
        return t(lang, f"timezone.zones.{zone}")
    return zone.replace("_", " ")


def minutes_to_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmm_to_minutes(value: str) -> int:
    hours, _, minutes = value.partition(":")
    return int(hours) * 60 + int(minutes)


def times_to_mask(times: Iterable[str]) -> int:
    """Bit i set when PRESET_TIMES[i] is among `times` (typed times outside the presets drop)."""
    return sum(1 << i for i, value in enumerate(PRESET_TIMES) if value in set(times))


def mask_to_times(mask: int) -> list[str]:
    return [value for i, value in enumerate(PRESET_TIMES) if mask >> i & 1]


def order_countries(codes: Iterable[str], name: Callable[[str], str]) -> list[str]:
    """Priority countries (those known) in their fixed order, then the others by display name."""
    known = set(codes)
    first = [c for c in PRIORITY_COUNTRIES if c in known]
    rest = sorted(known.difference(first), key=lambda c: name(c).casefold())
    return first + rest


def page_count(total: int) -> int:
    return max(1, -(-total // COUNTRIES_PER_PAGE))
