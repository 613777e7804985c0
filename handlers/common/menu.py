"""The command menu, per language: Russian for `language_code` "ru", English as the default."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n.catalog import t

MENU_COMMANDS = (
    "start", "digest", "latest", "search", "rules", "topics", "countries", "schedule",
    "timezone", "quiet", "settings", "sources", "language", "pause", "resume", "stop", "help",
)  # fmt: skip


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=t(lang, f"help.menu.{c}")) for c in MENU_COMMANDS]


async def set_commands(bot: Bot) -> None:
    """Called once at startup by the composition root."""
    await bot.set_my_commands(menu("ru"), language_code="ru")
    await bot.set_my_commands(menu("en"))
