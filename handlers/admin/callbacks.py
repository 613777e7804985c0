"""CallbackData factories of the admin area (prefixes start with "a"; all ≤ 64 bytes packed)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class FeedAct(StrEnum):
    PAGE = "g"
    PAUSE = "p"
    RESUME = "r"
    POLL = "n"
    RENAME = "e"
    REMOVE = "d"  # ask for confirmation
    CONFIRM = "y"  # removal confirmed
    CANCEL = "c"


class FeedCb(CallbackData, prefix="af"):
    act: FeedAct
    feed: int = 0
    page: int = 0


class OfferCb(CallbackData, prefix="ao"):
    """Add a feed that an HTML page advertised (the URL waits in admin_drafts)."""

    draft: int


class ChatAct(StrEnum):
    SHOW = "s"
    PAGE = "g"
    TOPIC = "t"  # toggle topic `value`
    ALL = "a"  # every topic
    MODE = "m"  # value: instant | daily | times
    TIME = "h"  # value: HH:MM for daily
    PAUSE = "p"
    RESUME = "r"


class ChatCb(CallbackData, prefix="ac"):
    act: ChatAct
    chat: int = 0
    value: str = ""


class DecisionCb(CallbackData, prefix="aq"):
    approve: bool
    chat: int


class BroadcastCb(CallbackData, prefix="ab"):
    send: bool
    draft: int


class AuditCb(CallbackData, prefix="au"):
    page: int


class ChatRuleCb(CallbackData, prefix="ar"):
    """Save / Cancel a draft rule, or delete a rule, of chat `chat` (handlers.admin.rules)."""

    act: str  # handlers.subscriber.rules.RuleAction value
    id: int
    chat: int


# The prefixes of every factory above, the admin router's buttons: a non-admin who presses one
# (a forged or forwarded button) gets the audited refusal, not "stale button".
ADMIN_PREFIXES = tuple(
    cls.__prefix__ for cls in CallbackData.__subclasses__() if cls.__module__ == __name__
)
