"""Inline keyboards as pure functions of the chat's state (no I/O, no clocks)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n.catalog import t
from handlers.common.callbacks import (
    CountryAction,
    CountryCb,
    Flow,
    LanguageCb,
    Mode,
    ScheduleAction,
    ScheduleCb,
    Section,
    SettingsCb,
    StopCb,
    TopicAction,
    TopicCb,
    ZoneAction,
    ZoneCb,
)
from handlers.common.choices import (
    COMMON_ZONES,
    COUNTRIES_PER_PAGE,
    PRESET_TIMES,
    Choice,
    hhmm_to_minutes,
    page_count,
)

ON, OFF = "✅", "▫️"


def _tick(label: str, selected: bool) -> str:
    return f"{ON if selected else OFF} {label}"


def topics_keyboard(
    lang: str,
    topics: Sequence[Choice],
    selected: Sequence[str],
    flow: Flow,
    everything: bool = False,
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for slug, label in topics:
        cb = TopicCb(action=TopicAction.TOGGLE, slug=slug, flow=flow)
        kb.button(text=_tick(label, slug in selected), callback_data=cb)
    kb.button(
        text=_tick(t(lang, "topics.all"), not selected and not everything),
        callback_data=TopicCb(action=TopicAction.ALL, flow=flow),
    )
    kb.button(
        text=_tick(t(lang, "topics.everything"), everything),
        callback_data=TopicCb(action=TopicAction.EVERYTHING, flow=flow),
    )
    if flow is Flow.ONBOARD:
        cb = CountryCb(action=CountryAction.PAGE, flow=flow)
        kb.button(text=t(lang, "topics.countries_optional"), callback_data=cb)
    kb.button(
        text=t(lang, "topics.done"), callback_data=TopicCb(action=TopicAction.DONE, flow=flow)
    )
    rows = [2] * (len(topics) // 2) + [1] * (len(topics) % 2)
    kb.adjust(*rows, 1, 1, 1, 1)
    return kb.as_markup()


def countries_keyboard(
    lang: str, countries: Sequence[Choice], selected: Sequence[str], page: int, flow: Flow
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    pages = page_count(len(countries))
    page = min(max(page, 0), pages - 1)
    shown = countries[page * COUNTRIES_PER_PAGE : (page + 1) * COUNTRIES_PER_PAGE]
    for code, label in shown:
        cb = CountryCb(action=CountryAction.TOGGLE, code=code, page=page, flow=flow)
        kb.button(text=_tick(label, code in selected), callback_data=cb)
    nav = 0
    if page > 0:
        kb.button(
            text="◀️", callback_data=CountryCb(action=CountryAction.PAGE, page=page - 1, flow=flow)
        )
        nav += 1
    if page < pages - 1:
        kb.button(
            text="▶️", callback_data=CountryCb(action=CountryAction.PAGE, page=page + 1, flow=flow)
        )
        nav += 1
    clear = CountryCb(action=CountryAction.CLEAR, page=page, flow=flow)
    kb.button(text=t(lang, "countries.any"), callback_data=clear)
    kb.button(
        text=t(lang, "countries.done"),
        callback_data=CountryCb(action=CountryAction.DONE, flow=flow),
    )
    kb.adjust(*([3] * (-(-len(shown) // 3))), *([nav] if nav else []), 1, 1)
    return kb.as_markup()


def modes_keyboard(lang: str, flow: Flow) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for mode in Mode:
        cb = ScheduleCb(action=ScheduleAction.MODE, mode=mode, flow=flow)
        kb.button(text=t(lang, f"schedule.mode_button.{mode.value}"), callback_data=cb)
    kb.button(
        text=t(lang, "schedule.keep" if flow is Flow.ONBOARD else "schedule.leave"),
        callback_data=ScheduleCb(action=ScheduleAction.KEEP, flow=flow),
    )
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def times_keyboard(lang: str, mode: Mode, day: int, flow: Flow) -> InlineKeyboardMarkup:
    """One time for daily or weekly (`day` carried along for weekly)."""
    kb = InlineKeyboardBuilder()
    for value in PRESET_TIMES:
        cb = ScheduleCb(
            action=ScheduleAction.TIME, mode=mode, value=hhmm_to_minutes(value), day=day, flow=flow
        )
        kb.button(text=value, callback_data=cb)
    custom = ScheduleCb(action=ScheduleAction.CUSTOM, mode=mode, day=day, flow=flow)
    kb.button(text=t(lang, "schedule.other_time"), callback_data=custom)
    kb.button(
        text=t(lang, "schedule.back"),
        callback_data=ScheduleCb(action=ScheduleAction.MODES, flow=flow),
    )
    kb.adjust(4, 4, 4, 1, 1)
    return kb.as_markup()


def multi_times_keyboard(lang: str, mask: int, flow: Flow) -> InlineKeyboardMarkup:
    """Several times a day: the selection lives in the buttons' data as a bit mask."""
    kb = InlineKeyboardBuilder()
    for i, value in enumerate(PRESET_TIMES):
        cb = ScheduleCb(
            action=ScheduleAction.MASK, mode=Mode.TIMES, value=mask ^ (1 << i), flow=flow
        )
        kb.button(text=_tick(value, bool(mask >> i & 1)), callback_data=cb)
    custom = ScheduleCb(action=ScheduleAction.CUSTOM, mode=Mode.TIMES, flow=flow)
    kb.button(text=t(lang, "schedule.other_times"), callback_data=custom)
    save = ScheduleCb(action=ScheduleAction.SAVE, mode=Mode.TIMES, value=mask, flow=flow)
    kb.button(text=t(lang, "schedule.save"), callback_data=save)
    kb.button(
        text=t(lang, "schedule.back"),
        callback_data=ScheduleCb(action=ScheduleAction.MODES, flow=flow),
    )
    kb.adjust(3, 3, 3, 3, 1, 1, 1)
    return kb.as_markup()


def weekdays_keyboard(lang: str, flow: Flow) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for day in range(7):
        cb = ScheduleCb(action=ScheduleAction.DAY, mode=Mode.WEEKLY, day=day, flow=flow)
        kb.button(text=t(lang, f"schedule.weekday.d{day}"), callback_data=cb)
    kb.button(
        text=t(lang, "schedule.back"),
        callback_data=ScheduleCb(action=ScheduleAction.MODES, flow=flow),
    )
    kb.adjust(4, 3, 1)
    return kb.as_markup()


def zones_keyboard(lang: str, flow: Flow) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for index, zone in enumerate(COMMON_ZONES):
        kb.button(
            text=t(lang, f"timezone.zones.{zone}"),
            callback_data=ZoneCb(action=ZoneAction.SET, index=index, flow=flow),
        )
    kb.button(
        text=t(lang, "timezone.other"), callback_data=ZoneCb(action=ZoneAction.CUSTOM, flow=flow)
    )
    kb.button(
        text=t(lang, "timezone.keep" if flow is Flow.ONBOARD else "timezone.leave"),
        callback_data=ZoneCb(action=ZoneAction.KEEP, flow=flow),
    )
    kb.adjust(*([2] * (len(COMMON_ZONES) // 2)), 1, 1, 1)
    return kb.as_markup()


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, label in (("ru", "Русский"), ("en", "English")):
        kb.button(text=_tick(label, code == current), callback_data=LanguageCb(lang=code))
    return kb.as_markup()


def settings_keyboard(lang: str, status: str, latest: bool = False) -> InlineKeyboardMarkup:
    """The settings buttons; `latest` puts "show the latest now" first (end of onboarding)."""
    kb = InlineKeyboardBuilder()
    sections = [Section.LATEST] if latest else []
    sections += [
        Section.TOPICS,
        Section.COUNTRIES,
        Section.SCHEDULE,
        Section.TIMEZONE,
        Section.LANGUAGE,
        Section.QUIET,
        Section.FORMAT,
    ]
    sections.append(Section.RESUME if status != "active" else Section.PAUSE)
    sections.append(Section.STOP)
    for section in sections:
        kb.button(
            text=t(lang, f"settings.button.{section.name.lower()}"),
            callback_data=SettingsCb(section=section),
        )
    kb.adjust(*([1] if latest else []), 2, 2, 2, 2, 1)
    return kb.as_markup()


def stop_keyboard(lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t(lang, "settings.stop_yes"), callback_data=StopCb(confirm=True))
    kb.button(text=t(lang, "settings.stop_no"), callback_data=StopCb(confirm=False))
    return kb.as_markup()
