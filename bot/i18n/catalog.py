"""User-facing strings: one TOML catalog per area and language in bot/locales (`area.lang.toml`)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from babel import Locale

# A TOML table whose keys are CLDR plural categories (and include `other`) is one plural message:
# `t()` picks the form for its `count` value by the language's CLDR rules (Babel), never by hand.
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


def pick_language(language_code: str | None) -> str:
    """Telegram's `language_code` → one of ours: Russian for ru/uk/be/kk/ky/tg/uz…, else English."""
    if not language_code:
        return DEFAULT_LANGUAGE
    code = language_code.split("-")[0].lower()
    if code == "en":
        return "en"
    if code in {"ru", "uk", "be", "kk", "ky", "tg", "uz", "hy", "az", "tk", "ka", "mo", "ro"}:
        return "ru"
    return "en"


@cache
def catalog(lang: str) -> dict[str, str | dict[str, str]]:
    """All strings of a language, keys `area.name` (flattened TOML tables)."""
    merged: dict[str, str] = {}
    for entry in resources.files("bot").joinpath("locales").iterdir():
        area, _, rest = entry.name.partition(".")
        if rest != f"{lang}.toml":
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        _flatten(area, data, merged)
    return merged


def _flatten(prefix: str, data: dict, out: dict) -> None:
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict) and "other" in value and set(value) <= PLURAL_CATEGORIES:
            out[name] = {form: str(text) for form, text in value.items()}
        elif isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


def t(lang: str, key: str, /, **values: object) -> str:
    """The string `key` in `lang` (falling back to Russian), formatted with `values`."""
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise KeyError(f"no text {key!r} in locales")
    if isinstance(text, dict):
        count = values["count"]
        form = plural_form(lang, count)
        text = text.get(form) or text["other"]
    return text.format(**values) if values else text


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_form(lang: str, count: object) -> str:
    """The CLDR plural category (one/few/many/other…) of `count` in `lang`."""
    return _locale(lang).plural_form(abs(int(count)))  # type: ignore[arg-type]
