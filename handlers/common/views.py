"""Texts of the conversation built from a chat's state (pure: the clock is passed in)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.digests.slots import zone_for
from bot.domain import Chat
from bot.i18n.catalog import t
from bot.understand.classify import Classifier
from handlers.common.choices import Choice, city_of, order_countries


def topic_choices(classifier: Classifier, lang: str) -> list[Choice]:
    return [(i.slug, i.name_ru if lang == "ru" else i.name_en) for i in classifier.topics]


def country_choices(classifier: Classifier, lang: str) -> list[Choice]:
    def name(code: str) -> str:
        return classifier.country_name(code, lang)

    return [(code, name(code)) for code in order_countries(classifier.country_codes, name)]


def topics_text(lang: str, chat: Chat, classifier: Classifier) -> str:
    names = dict(topic_choices(classifier, lang))
    chosen = [names.get(slug, slug) for slug in chat.topics]
    if chosen:
        return escape(", ".join(chosen))
    return t(lang, "settings.everything" if chat.all_sources else "settings.all_topics")


def countries_text(lang: str, chat: Chat, classifier: Classifier) -> str:
    known = set(classifier.country_codes)
    chosen = [classifier.country_name(c, lang) if c in known else c for c in chat.countries]
    return escape(", ".join(chosen)) if chosen else t(lang, "settings.any_country")


def schedule_text(lang: str, chat: Chat) -> str:
    times = ", ".join(chat.times)
    if chat.mode == "weekly" and chat.weekday is not None:
        day = t(lang, f"schedule.weekday_long.d{chat.weekday}")
        return t(lang, "schedule.describe.weekly", day=day, times=times)
    return t(lang, f"schedule.describe.{chat.mode}", times=times)


def zone_text(lang: str, zone: str, now: datetime) -> str:
    local = now.astimezone(zone_for(zone))
    return t(
        lang, "timezone.describe", zone=escape(city_of(lang, zone)), time=local.strftime("%H:%M")
    )


def summary_text(lang: str, chat: Chat, classifier: Classifier, now: datetime) -> str:
    return t(
        lang,
        "settings.summary",
        topics=topics_text(lang, chat, classifier),
        countries=countries_text(lang, chat, classifier),
        schedule=schedule_text(lang, chat),
        zone=zone_text(lang, chat.timezone, now),
        language=t(lang, f"settings.language_name.{chat.language}"),
        format=t(lang, f"settings.format_name.{chat.digest_format}"),
        quiet=t(lang, "quiet.window", start=chat.quiet[0], end=chat.quiet[1])
        if chat.quiet
        else t(lang, "quiet.none"),
        status=t(lang, f"settings.status.{chat.status}"),
    )
