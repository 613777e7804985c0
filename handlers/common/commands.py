"""Every Telegram command of the bot in one table; the lists that name commands are derived from it.

A command that is listed by hand in several places gets forgotten in one of them, and an admin
command missing from the refusals turns the audited refusal into "unknown command". So the table
below is the only list: the menu (handlers.common.menu), /help and the admin help, the admin
refusals (handlers.admin.routers), the group guard (handlers.common.guard) and the "/start first"
hint (handlers.common.fallback) read it. A new command is one entry here plus its handler on its
area's router; tests/handlers/test_commands.py walks the Dispatcher's routers and fails when the
registered commands and this table disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.i18n.catalog import t

Area = Literal["subscriber", "admin", "common"]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command. Text keys are looked up with bot.i18n.catalog.t in bot/locales."""

    name: str  # as Telegram shows it, without the slash (README documents it: never renamed)
    area: Area  # the handlers/ package whose router answers it
    # The bot's admins (ADMIN_IDS) in a private chat; anyone else gets the audited refusal.
    admin_only: bool = False
    # Changes what a group or channel receives: there only members who can configure it may.
    guarded: bool = False
    # Meaningless without a subscription: it then lands in the fallback, which says "/start first".
    needs_subscription: bool = False
    menu: str | None = None  # its description in the Telegram menu; None: not in the menu
    # Its line in /help (the admin help for admin commands); commands on one line share the key.
    help: str | None = None


def _settings(name: str, help_line: str) -> CommandSpec:
    """A subscriber command that changes a subscription: guarded, needs one, in the menu."""
    return CommandSpec(name, "subscriber", guarded=True, needs_subscription=True,
                       menu=f"help.menu.{name}", help=f"help.line.{help_line}")  # fmt: skip


def _admin(name: str, help_line: str | None) -> CommandSpec:
    return CommandSpec(name, "admin", admin_only=True,
                       help=f"admin.help.{help_line}" if help_line else None)  # fmt: skip


# The order is the menu's and the help's (a help line comes where its first command is).
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "subscriber", guarded=True, menu="help.menu.start", help="help.line.start"),
    _settings("digest", "digest"),
    CommandSpec("latest", "subscriber", needs_subscription=True, menu="help.menu.latest",
                help="help.line.latest"),
    CommandSpec("search", "subscriber", menu="help.menu.search", help="help.line.search"),
    CommandSpec("rule", "subscriber", guarded=True, help="help.line.rule"),
    # /rules' delete buttons are refused in groups like every button (handlers.common.guard).
    CommandSpec("testrule", "subscriber", help="help.line.rules"),
    CommandSpec("rules", "subscriber", menu="help.menu.rules", help="help.line.rules"),
    _settings("topics", "topics"),
    _settings("countries", "topics"),
    _settings("schedule", "schedule"),
    _settings("timezone", "schedule"),
    CommandSpec("quiet", "subscriber", guarded=True, menu="help.menu.quiet", help="help.line.quiet"),
    _settings("settings", "settings"),
    CommandSpec("sources", "subscriber", menu="help.menu.sources", help="help.line.sources"),
    _settings("language", "settings"),
    _settings("pause", "pause"),
    _settings("resume", "pause"),
    _settings("stop", "stop"),
    CommandSpec("help", "subscriber", menu="help.menu.help"),
    CommandSpec("cancel", "common"),
    # A forum group's own admins (not ADMIN_IDS); its router refuses everyone else itself, with a
    # text about forums, ahead of the group guard.
    CommandSpec("route", "admin"),
    _admin("admin", None),
    _admin("addfeed", "sources"),
    _admin("feeds", "sources"),
    _admin("delfeed", "sources"),
    _admin("exportopml", "sources"),
    _admin("chats", "chats"),
    _admin("subscribe", "chats"),
    _admin("chat", "chats"),
    _admin("chatcountries", "chats"),
    _admin("chatrule", "chatrules"),
    _admin("chatrules", "chatrules"),
    _admin("access", "access"),
    _admin("invite", "access"),
    _admin("invites", "access"),
    _admin("revokeinvite", "access"),
    _admin("requests", "access"),
    _admin("ban", "access"),
    _admin("unban", "access"),
    _admin("bans", "access"),
    _admin("stats", "reports"),
    _admin("audit", "reports"),
    _admin("broadcast", "reports"),
)  # fmt: skip


def names(commands: Iterable[CommandSpec]) -> tuple[str, ...]:
    return tuple(c.name for c in commands)


ADMIN_COMMANDS = names(c for c in COMMANDS if c.admin_only)
GUARDED_COMMANDS = names(c for c in COMMANDS if c.guarded)
SUBSCRIPTION_COMMANDS = frozenset(names(c for c in COMMANDS if c.needs_subscription))
MENU_COMMANDS = tuple(c for c in COMMANDS if c.menu is not None)


def help_lines(commands: Iterable[CommandSpec]) -> tuple[str, ...]:
    """The help text keys of `commands`, each once, in the table's order."""
    return tuple(dict.fromkeys(c.help for c in commands if c.help is not None))


def help_text(lang: str) -> str:
    """/help: every command for everyone, a line each (or shared), then how groups work."""
    lines = (t(lang, key) for key in help_lines(c for c in COMMANDS if not c.admin_only))
    return "\n".join((t(lang, "help.header"), *lines, "", t(lang, "help.footer")))


def admin_help_text(lang: str) -> str:
    """/admin: the admin commands by topic."""
    lines = (t(lang, key) for key in help_lines(c for c in COMMANDS if c.admin_only))
    return "\n".join((t(lang, "admin.help.header"), *lines))
