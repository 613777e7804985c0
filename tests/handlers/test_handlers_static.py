"""Pure parts of the conversation: keyboards in both languages, callback_data size, texts, imports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain import Chat
from bot.understand.classify import Classifier
from handlers.common import keyboards as kb
from handlers.common.callbacks import Flow, Mode
from handlers.common.choices import COMMON_ZONES, PRESET_TIMES, mask_to_times, times_to_mask
from handlers.common.menu import menu
from handlers.common.views import country_choices, summary_text, topic_choices

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
HANDLERS = Path(__file__).parents[2] / "handlers"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def all_keyboards(lang: str, classifier: Classifier):
    topics = topic_choices(classifier, lang)
    countries = country_choices(classifier, lang)
    for flow in Flow:
        yield kb.topics_keyboard(lang, topics, [s for s, _ in topics], flow)
        for page in range(len(countries) // 18 + 1):
            yield kb.countries_keyboard(lang, countries, [c for c, _ in countries], page, flow)
        yield kb.modes_keyboard(lang, flow)
        for mode in (Mode.DAILY, Mode.WEEKLY):
            yield kb.times_keyboard(lang, mode, 6, flow)
        yield kb.multi_times_keyboard(lang, (1 << len(PRESET_TIMES)) - 1, flow)
        yield kb.weekdays_keyboard(lang, flow)
        yield kb.zones_keyboard(lang, flow)
    yield kb.language_keyboard(lang)
    for status in ("active", "paused", "blocked"):
        yield kb.settings_keyboard(lang, status)
    yield kb.stop_keyboard(lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_keyboard_builds_with_short_callback_data(lang, classifier):
    count = 0
    for markup in all_keyboards(lang, classifier):
        for row in markup.inline_keyboard:
            for button in row:
                assert button.text and 1 <= len(button.callback_data.encode()) <= 64
                count += 1
    assert count > 300


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize(
    ("mode", "times", "weekday", "zone", "shown"),
    [
        ("instant", ("09:00",), None, "Europe/Moscow", {"ru": "сразу", "en": "instantly"}),
        ("daily", ("08:30",), None, "Asia/Dushanbe", {"ru": "в 08:30", "en": "at 08:30"}),
        (
            "times",
            ("08:00", "20:00"),
            None,
            "UTC+05:00",
            {"ru": "08:00, 20:00", "en": "08:00, 20:00"},
        ),
        (
            "weekly",
            ("10:00",),
            6,
            "UTC",
            {"ru": "по воскресеньям в 10:00", "en": "on Sundays at 10:00"},
        ),
    ],
)
def test_summary_in_every_mode(lang, classifier, mode, times, weekday, zone, shown):
    chat = Chat(1, "private", None, None, lang, zone, "paused", mode, times, weekday, ("un", "gone"),
                ("tj", "xx"), 0, None, True, None, NOW, NOW)  # fmt: skip
    text = summary_text(lang, chat, classifier, NOW)
    assert shown[lang] in text and "gone" in text
    assert "Таджикистан" in text or "Tajikistan" in text
    if zone == "Asia/Dushanbe":
        assert "14:30" in text  # 09:30 UTC is 14:30 in Dushanbe
    empty = summary_text(lang, replace(chat, topics=(), countries=()), classifier, NOW)
    assert "все темы" in empty or "all topics" in empty


def test_time_masks_round_trip():
    assert mask_to_times(times_to_mask(["07:00", "21:00", "07:45"])) == ["07:00", "21:00"]
    assert times_to_mask([]) == 0


def test_zone_buttons_are_real_zones():
    from bot.digests.slots import parse_timezone

    assert [parse_timezone(z) for z in COMMON_ZONES] == list(COMMON_ZONES)


def test_menu_in_both_languages():
    assert [c.command for c in menu("ru")] == [c.command for c in menu("en")]
