"""Import direction: storage ← pure bot modules ← effectful bot modules / handlers ← app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pure modules: data in, data out; no network, database, Telegram or clock of their own.
PURE = [
    "normalize", "textclean", "lead", "urlcanon", "feedencoding", "parse", "classify", "morph",
    "rules", "topics", "countries", "clustering", "crosslang", "schedule", "digest", "render",
    "chart",
    "health",
]  # fmt: skip
EFFECTFUL_PACKAGES = ("aiohttp", "aiogram", "aiosqlite", "apscheduler", "handlers", "storage.db")
COMPOSITION = ("bot.app", "bot.runner", "bot.cli_commands", "bot.__main__")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: p.name)
def test_storage_imports_nothing_of_the_app_or_telegram(path):
    bad = {n for n in imports_of(path) if _under(n, ("bot", "handlers", "aiogram", "aiohttp"))}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module):
    bad = {n for n in imports_of(ROOT / "bot" / f"{module}.py") if _under(n, EFFECTFUL_PACKAGES)}
    assert not bad, f"bot/{module}.py imports {bad}"


@pytest.mark.parametrize(
    "path",
    sorted([*(ROOT / "handlers").glob("*.py"), *(ROOT / "bot").glob("*.py")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_only_the_cli_reaches_the_composition_root(path):
    if f"bot.{path.stem}" in COMPOSITION:
        return
    bad = {n for n in imports_of(path) if _under(n, COMPOSITION)}
    assert not bad, f"{path.parent.name}/{path.name} imports {bad}"


def test_handlers_hold_no_sql():
    for path in (ROOT / "handlers").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", ".execute("):
            assert word not in text, f"{path.name} contains {word!r}"
