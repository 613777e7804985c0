"""CallbackData factories for every inline keyboard: short prefixes, Enum fields, ≤ 64 bytes packed.

Keyboards are stateless: everything a button needs travels in its data, so a bot
restart never strands a user. `Flow.ONBOARD` marks buttons of the /start walk-through, whose
"done" leads to the next step instead of a confirmation.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Flow(StrEnum):
    ONBOARD = "o"
    ALONE = "s"


class TopicAction(StrEnum):
    TOGGLE = "t"
    ALL = "a"  # clear the selection: no topic ticked means every topic (bot.digests.selection.DigestFilter)
    EVERYTHING = "e"  # everything from the sources, untagged articles too
    DONE = "d"


class TopicCb(CallbackData, prefix="tp"):
    action: TopicAction
    slug: str = ""
    flow: Flow = Flow.ALONE


class CountryAction(StrEnum):
    TOGGLE = "t"
    PAGE = "p"
    CLEAR = "x"
    DONE = "d"


class CountryCb(CallbackData, prefix="co"):
    action: CountryAction
    code: str = ""
    page: int = 0
    flow: Flow = Flow.ALONE


class Mode(StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    TIMES = "times"
    WEEKLY = "weekly"


class ScheduleAction(StrEnum):
    MODES = "m"  # show the mode picker
    MODE = "o"  # a mode was picked
    DAY = "w"  # weekly: a weekday was picked (day)
    TIME = "t"  # daily/weekly: a preset time was picked (value = minutes after midnight)
    MASK = "k"  # several times: toggle presets (value = bit mask of PRESET_TIMES)
    SAVE = "s"  # several times: save the mask
    CUSTOM = "c"  # ask for a time typed as text
    KEEP = "p"  # onboarding: keep the current schedule


class ScheduleCb(CallbackData, prefix="sc"):
    action: ScheduleAction
    mode: Mode = Mode.DAILY
    value: int = 0
    day: int = -1
    flow: Flow = Flow.ALONE


class ZoneAction(StrEnum):
    SET = "s"  # index into COMMON_ZONES
    KEEP = "k"
    CUSTOM = "c"


class ZoneCb(CallbackData, prefix="tz"):
    action: ZoneAction
    index: int = -1
    flow: Flow = Flow.ALONE


class LanguageCb(CallbackData, prefix="lg"):
    lang: str


class Section(StrEnum):
    TOPICS = "tp"
    COUNTRIES = "co"
    SCHEDULE = "sc"
    TIMEZONE = "tz"
    LANGUAGE = "lg"
    PAUSE = "pa"
    RESUME = "re"
    STOP = "st"
    SUMMARY = "su"
    LATEST = "lt"  # the newest stored items for the chat's filters, sent as new messages
    QUIET = "qt"
    FORMAT = "fm"  # toggles compact / rich digests


class SettingsCb(CallbackData, prefix="st"):
    section: Section


class StopCb(CallbackData, prefix="sp"):
    confirm: bool


class QuietCb(CallbackData, prefix="qt"):
    index: int  # into handlers.subscriber.quiet.PRESETS; -1 turns quiet hours off


class MuteCb(CallbackData, prefix="mu"):
    feed: int  # the source to mute or unmute for this chat
    page: int = 0
