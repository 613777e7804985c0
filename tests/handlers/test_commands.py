"""The command registry (handlers.common.commands) against the routers the real Dispatcher holds:
every command a router answers is in the registry and every entry is answered, admin-only ones
behind the admin gate; its menu and help texts exist in both languages and name its commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.storage.memory import MemoryStorage

from bot.i18n.catalog import LANGUAGES, catalog, t
from bot.settings import Settings
from handlers import build_dispatcher
from handlers.admin.callbacks import ADMIN_PREFIXES
from handlers.common.commands import (
    ADMIN_COMMANDS,
    COMMANDS,
    GUARDED_COMMANDS,
    admin_help_text,
    help_text,
    names,
)

# The routers whose commands are derived from the registry: they refuse, never answer.
DERIVED = {"admin-refusals": ADMIN_COMMANDS, "access": GUARDED_COMMANDS}
ADMIN_ROUTER = "admin"  # handlers.admin.routers.make_admin_router: filtered on ADMIN_IDS
# "/name" as a help text writes a command (not the "/b" of a closing tag).
MENTION = re.compile(r"(?<![<\w])/([a-z]+)\b")


@dataclass(frozen=True)
class Registration:
    command: str
    routers: tuple[str, ...]  # the path of router names from the Dispatcher down
    module: str  # where the handler is defined

    @property
    def behind_admin_gate(self) -> bool:
        return ADMIN_ROUTER in self.routers


def walk(router: Router, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object, list]]:
    """(router path, handler, its filters and its observer's) for every handler of every event."""
    path = (*path, router.name)
    for observer in router.observers.values():
        # A filter on the observer (router.message.filter(...)) applies to all of its handlers;
        # aiogram keeps those on the observer's private root handler.
        shared = observer._handler.filters or []
        for handler in observer.handlers:
            yield path, handler.callback, [*shared, *(handler.filters or [])]
    for sub in router.sub_routers:
        yield from walk(sub, path)


def registrations(dp: Dispatcher) -> list[Registration]:
    found = []
    for path, callback, filters in walk(dp):
        for command in (f.callback for f in filters if isinstance(f.callback, Command)):
            for name in command.commands:
                assert isinstance(name, str), f"{path}: {name!r} is no plain command name"
                found.append(Registration(name, path, callback.__module__))
    return found


@pytest.fixture(scope="module")
def dispatcher() -> Dispatcher:
    settings = Settings(_env_file=None, bot_token="123:x", admin_ids=frozenset({1001}))
    return build_dispatcher(storage=MemoryStorage(), chats=None, digests=None, classifier=None,  # type: ignore[arg-type]
                            feeds=None, rules=None, search=None, settings=settings,  # type: ignore[arg-type]
                            clock=lambda: datetime.now(UTC))  # fmt: skip


@pytest.fixture(scope="module")
def answering(dispatcher) -> dict[str, list[Registration]]:
    """The commands some handler answers (not only refuses), with where."""
    by_name: dict[str, list[Registration]] = {}
    for r in registrations(dispatcher):
        if r.routers[-1] not in DERIVED:
            by_name.setdefault(r.command, []).append(r)
    return by_name


def test_the_routers_answer_exactly_the_registry(answering):
    assert len(set(names(COMMANDS))) == len(COMMANDS), "a command is in the registry twice"
    assert sorted(answering) == sorted(names(COMMANDS))


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda c: c.name)
def test_admin_only_commands_answer_behind_the_admin_gate_and_only_there(answering, spec):
    where = answering[spec.name]
    assert all(r.behind_admin_gate == spec.admin_only for r in where), where
    assert any(r.module.startswith(f"handlers.{spec.area}.") for r in where), where


def test_refusals_and_group_guard_cover_the_registry_lists(dispatcher):
    refusing: dict[str, set[str]] = {name: set() for name in DERIVED}
    for r in registrations(dispatcher):
        if r.routers[-1] in DERIVED:
            refusing[r.routers[-1]].add(r.command)
    assert refusing == {router: set(commands) for router, commands in DERIVED.items()}
    assert {c.name for c in COMMANDS if c.admin_only} == set(ADMIN_COMMANDS)


def test_every_admin_button_is_refused_for_non_admins(dispatcher):
    prefixes = {
        f.callback.callback_data.__prefix__
        for path, _, filters in walk(dispatcher)
        if ADMIN_ROUTER in path
        for f in filters
        if isinstance(f.callback, CallbackQueryFilter)
    }
    assert prefixes == set(ADMIN_PREFIXES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_menu_and_help_texts_exist_and_name_their_commands(lang):
    own = catalog(lang)  # not t(): that falls back to Russian and would hide a missing text
    lines: dict[str, set[str]] = {}
    for spec in COMMANDS:
        if spec.menu is not None:
            assert own.get(spec.menu), f"{lang}: no menu text {spec.menu}"
        if spec.help is not None:
            assert own.get(spec.help), f"{lang}: no help text {spec.help}"
            lines.setdefault(spec.help, set()).add(spec.name)
    for key, commands in lines.items():
        assert set(MENTION.findall(t(lang, key))) == commands, key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_lists_every_command_with_a_help_line(lang):
    shown = set(MENTION.findall(help_text(lang)))
    admin_shown = set(MENTION.findall(admin_help_text(lang)))
    assert shown == {c.name for c in COMMANDS if c.help and not c.admin_only}
    assert admin_shown == {c.name for c in COMMANDS if c.help and c.admin_only}
    assert admin_shown == set(ADMIN_COMMANDS) - {"admin"}  # every admin command but the help
