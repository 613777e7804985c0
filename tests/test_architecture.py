"""Import rules by package prefix: the pipeline's stages, the storage seam and the composition root.

storage ← bot.domain; bot.understand ← bot.ingest.poller ← bot.digests; bot.delivery.sender and bot.admin beside
them; handlers use the stages; only bot.app.core (the composition root) and the CLI wire everything.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted(p for top in ("bot", "handlers", "storage") for p in (ROOT / top).rglob("*.py"))


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


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


APP = ("bot.app", "bot.__main__")
# What each package may import of the project (besides itself); everything else is refused.
ALLOWED: dict[str, tuple[str, ...]] = {
    "bot": (),
    "bot.domain": (),
    "storage": ("bot.domain",),
    "bot.settings": (),
    "bot.i18n": (),
    "bot.observe": (),
    "bot.understand": ("bot.domain", "storage"),
    "bot.ingest": ("bot.domain", "bot.observe", "bot.understand", "storage"),
    "bot.digests": ("bot.domain", "bot.i18n", "bot.ingest", "bot.observe", "bot.understand",
                    "storage"),
    "bot.delivery": ("bot.domain", "bot.observe", "storage"),
    "bot.admin": ("bot.domain", "bot.i18n", "bot.ingest", "storage"),
    "handlers": ("bot.admin", "bot.delivery", "bot.digests", "bot.domain", "bot.i18n",
                 "bot.ingest", "bot.settings", "bot.understand", "handlers", "storage"),
}  # fmt: skip
# Pure modules: data in, data out; no network, database, Telegram or clock of their own.
PURE = (
    "bot.domain", "bot.understand.morph", "bot.understand.rules", "bot.understand.topics",
    "bot.understand.countries", "bot.understand.classify", "bot.understand.clustering",
    "bot.ingest.normalize", "bot.ingest.textclean", "bot.ingest.lead", "bot.ingest.urlcanon",
    "bot.understand.crosslang", "bot.ingest.encoding", "bot.ingest.parse", "bot.ingest.opml", "bot.digests.selection",
    "bot.digests.slots", "bot.digests.render", "bot.digests.forum", "bot.admin.chart",
    "bot.admin.health", "bot.observe",
)  # fmt: skip
EFFECTFUL = ("aiohttp", "aiogram", "aiosqlite", "sqlite3", "apscheduler", "handlers", "storage.db")


def _rule_for(module: str) -> tuple[str, ...] | None:
    owners = [k for k in ALLOWED if _under(module, (k,))]
    return ALLOWED[max(owners, key=len)] if owners else None


@pytest.mark.parametrize("path", CODE, ids=lambda p: module_of(p))
def test_each_package_imports_only_what_its_layer_allows(path):
    module = module_of(path)
    if _under(module, APP):
        return  # the composition root may import everything
    allowed = _rule_for(module)
    assert allowed is not None, f"{module} belongs to no package with import rules"
    own = module.split(".")[0] if module.startswith(("storage", "handlers")) else module
    project = {n for n in imports_of(path) if _under(n, ("bot", "handlers", "storage"))}
    bad = {n for n in project if not _under(n, allowed) and not _under(n, (own,))}
    # within bot/, a stage may use its own package
    stage = ".".join(module.split(".")[:2])
    bad = {n for n in bad if not (module.startswith("bot.") and _under(n, (stage,)))}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("path", CODE, ids=lambda p: module_of(p))
def test_storage_and_the_stages_never_touch_telegram(path):
    module = module_of(path)
    if _under(module, ("storage", "bot.understand", "bot.ingest", "bot.domain", "bot.admin", "bot.digests")):
        bad = {n for n in imports_of(path) if _under(n, ("aiogram",))}
        assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module):
    path = ROOT / (module.replace(".", "/") + ".py")
    bad = {n for n in imports_of(path) if _under(n, EFFECTFUL)}
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("path", CODE, ids=lambda p: module_of(p))
def test_only_the_cli_reaches_the_composition_root(path):
    module = module_of(path)
    if _under(module, APP):
        return
    bad = {n for n in imports_of(path) if _under(n, APP)}
    assert not bad, f"{module} imports {bad}"


def test_every_package_says_what_enters_and_leaves_it():
    for init in sorted((ROOT / "bot").rglob("__init__.py")):
        if init.parent == ROOT / "bot":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(ROOT)} has no docstring"


DRIVERS = ("sqlite3", "aiosqlite", "asyncpg", "sqlalchemy", "alembic")


@pytest.mark.parametrize("path", CODE, ids=lambda p: module_of(p))
def test_only_storage_speaks_to_the_database_driver(path):
    module = module_of(path)
    if _under(module, ("storage",)):
        return  # callers catch storage.errors, never a driver's (tests and benchmarks may)
    bad = {n for n in imports_of(path) if _under(n, DRIVERS)}
    assert not bad, f"{module} imports {bad}"


# What of storage/ the stages and handlers see: the port and its errors. The composition root
# builds the stores (storage.stores) and opens the engine; nothing else picks a store's class.
PORT = ("storage.port", "storage.errors")


@pytest.mark.parametrize("path", CODE, ids=lambda p: module_of(p))
def test_stages_and_handlers_see_storage_only_through_the_port(path):
    module = module_of(path)
    if _under(module, (*APP, "storage")):
        return
    bad = {n for n in imports_of(path) if _under(n, ("storage",)) and not _under(n, PORT)}
    assert not bad, f"{module} imports {sorted(bad)}: type it with storage.port's Protocols"


def test_the_port_is_engine_neutral():
    """storage/port.py names no engine, driver or concrete store: only the domain's types."""
    imports = imports_of(ROOT / "storage" / "port.py")
    project = {n for n in imports if _under(n, ("bot", "handlers", "storage"))}
    assert project == {"bot.domain"}, project
    assert not {n for n in imports if _under(n, DRIVERS)}


def test_the_domain_imports_only_the_standard_library():
    imports = imports_of(ROOT / "bot" / "domain.py")
    bad = {n for n in imports if n.split(".")[0] not in sys.stdlib_module_names | {"__future__"}}
    assert not bad, f"bot.domain imports {bad}"


def test_handlers_hold_no_sql():
    for path in (ROOT / "handlers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", ".execute("):
            assert word not in text, f"{path.name} contains {word!r}"
