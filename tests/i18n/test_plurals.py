"""Plural messages: CLDR forms picked by Babel for Russian and English, every catalogue plural complete."""

import pytest

from bot.i18n.catalog import LANGUAGES, catalog, t


@pytest.mark.parametrize(
    ("count", "word"),
    [
        (1, "ленту"),
        (2, "ленты"),
        (5, "лент"),
        (11, "лент"),
        (21, "ленту"),
        (22, "ленты"),
        (25, "лент"),
    ],
)
def test_russian_feed_count_agrees(count: int, word: str) -> None:
    assert t("ru", "admin.opml_reading", count=count) == f"Импортирую {count} {word} из файла OPML…"


@pytest.mark.parametrize(
    ("count", "word"), [(1, "feed"), (2, "feeds"), (0, "feeds"), (21, "feeds")]
)
def test_english_feed_count_agrees(count: int, word: str) -> None:
    assert (
        t("en", "admin.opml_reading", count=count)
        == f"Importing {count} {word} from the OPML file…"
    )


def test_every_plural_has_the_forms_its_language_needs() -> None:
    needed = {"ru": {"one", "few", "many", "other"}, "en": {"one", "other"}}
    for lang in LANGUAGES:
        plurals = {k: v for k, v in catalog(lang).items() if isinstance(v, dict)}
        assert plurals, lang
        for key, forms in plurals.items():
            missing = (
                needed[lang] - set(forms)
                if lang == "ru" and "few" in forms
                else {"other"} - set(forms)
            )
            assert not missing, (lang, key, missing)
