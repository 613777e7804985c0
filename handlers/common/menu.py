"""The command menu, per language: Russian for `language_code` "ru", English as the default.

Its commands, order and descriptions come from the registry (handlers.common.commands).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n.catalog import t
from handlers.common.commands import MENU_COMMANDS


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(command=c.name, description=t(lang, c.menu)) for c in MENU_COMMANDS]


async def set_commands(bot: Bot) -> None:
    """Called once at startup by the composition root."""
    await bot.set_my_commands(menu("ru"), language_code="ru")
    await bot.set_my_commands(menu("en"))
