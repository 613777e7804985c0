"""Every setting the bot reads is documented for operators: in README's table and .env.example."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(name.upper() for name in Settings.model_fields)


@pytest.mark.parametrize("name", NAMES)
def test_each_setting_is_in_the_readme_table_and_the_env_example(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert f"| `{name}` |" in readme, f"{name} is missing from README's settings table"
    assert f"\n{name}=" in example or f"\n# {name}=" in example, f"{name} is not in .env.example"
